//! Listing and searching (RFC 7644 §3.4.2, §3.4.3; cursor paging per RFC 9865).
//!
//! * Query parameters are percent-decoded (`+` is a space); parameter names match exactly
//!   or, failing that, case-insensitively.
//! * `count` defaults to and is capped at [`EngineConfig::max_results`]; a negative `count`
//!   is 0 and `count=0` returns only `totalResults`; `startIndex` below 1 is 1
//!   (RFC 7644 §3.4.2.4). Values that are not integers are `invalidValue`.
//! * `cursor` (RFC 9865) selects cursor paging: an empty value asks for the first page;
//!   the response carries `nextCursor` (absent on the last page), `itemsPerPage` and
//!   `totalResults`, and no `startIndex`. Giving both `cursor` and `startIndex` is
//!   `invalidValue`; a cursor the store does not recognise is 400 `invalidCursor`.
//! * Searches at the root (`GET /` with a filter, `POST /.search`) query every resource
//!   type in registry order; `startIndex`/`count` page over the concatenation of the
//!   per-type results (each sorted on its own when `sortBy` is given). Cursor paging is not
//!   available at the root.
//! * Protected accounts ([`EngineConfig::protected`]) are excluded by AND-ing a
//!   `not (userName eq … or id eq …)` clause into the filter the store receives, so
//!   `totalResults` and paging stay consistent.
//!
//! [`EngineConfig::max_results`]: super::EngineConfig::max_results
//! [`EngineConfig::protected`]: super::EngineConfig::protected

use super::render::{Derived, Renderer};
use super::{Body, Outcome, ScimEngine};
use crate::context::RequestContext;
use crate::error::ScimError;
use crate::projection::Projection;
use crate::schema::{ResourceTypeView, USER_SCHEMA};
use crate::store::query::select;
use crate::store::{
    CursorScope, Membership, Page, Position, Query, QueryPage, ResolvedFilter, ResolvedSort,
    SortOrder, StoredResource,
};
use crate::text::split_once_byte;
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// The ListResponse message schema (RFC 7644 §3.4.2).
pub(crate) const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The SearchRequest message schema (RFC 7644 §3.4.3).
pub(crate) const SEARCH_REQUEST_SCHEMA: &str =
    "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Decoded query parameters (RFC 3986 §3.4; `application/x-www-form-urlencoded` rules).
/// Names and values that need no decoding are borrowed from the raw query.
#[derive(Debug, Default)]
pub(crate) struct QueryParams<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> QueryParams<'a> {
    /// Parses a raw query string.
    pub(crate) fn parse(raw: Option<&'a str>) -> Result<Self, ScimError> {
        let raw = raw.unwrap_or("");
        let mut pairs = Vec::new();
        if !raw.is_empty() {
            pairs.reserve_exact(raw.bytes().filter(|&b| b == b'&').count() + 1);
        }
        let mut rest = Some(raw);
        while let Some(remaining) = rest {
            let part;
            (part, rest) = match split_once_byte(remaining, b'&') {
                Some((part, after)) => (part, Some(after)),
                None => (remaining, None),
            };
            if part.is_empty() {
                continue;
            }
            let (name, value) = split_once_byte(part, b'=').unwrap_or((part, ""));
            let name = percent_decode(name)?;
            let value = percent_decode(value).map_err(|err| {
                if name.eq_ignore_ascii_case("filter") {
                    ScimError::InvalidFilter(
                        "the filter is not valid UTF-8 after percent-decoding; encode it as \
                         UTF-8 (RFC 7644 §3.4.2.2, RFC 3986 §2.5)"
                            .into(),
                    )
                } else {
                    err
                }
            })?;
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The first value of `name`: exact match first, then case-insensitive.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| {
                self.pairs
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.as_ref())
    }

    /// Whether `attributes` or `excludedAttributes` was given (non-empty).
    pub(crate) fn has_projection(&self) -> bool {
        ["attributes", "excludedAttributes"]
            .iter()
            .any(|n| self.get(n).is_some_and(|v| !v.trim().is_empty()))
    }
}

/// Decodes `%XX` escapes and `+` (a space in query strings); borrows `input` when it has
/// neither.
fn percent_decode(input: &str) -> Result<Cow<'_, str>, ScimError> {
    let bytes = input.as_bytes();
    let special = |b: &u8| *b == b'%' || *b == b'+';
    let Some(first) = bytes.iter().position(special) else {
        return Ok(Cow::Borrowed(input));
    };
    // Decoded in place over a copy, one byte at a time from the first escape on: query
    // values are short and escapes dense (a filter's spaces and quotes), so copying run by
    // run would cost more than it saves. The text only shrinks, so `write <= read`.
    let mut out = bytes.to_vec();
    let (mut read, mut write) = (first, first);
    while let Some(&byte) = bytes.get(read) {
        let (decoded, used) = match byte {
            b'+' => (b' ', 1),
            b'%' => match (hex_at(bytes, read + 1), hex_at(bytes, read + 2)) {
                (Some(high), Some(low)) => (high * 16 + low, 3),
                // A `%` without two hex digits stands for itself.
                _ => (b'%', 1),
            },
            other => (other, 1),
        };
        if let Some(slot) = out.get_mut(write) {
            *slot = decoded;
        }
        write += 1;
        read += used;
    }
    out.truncate(write);
    String::from_utf8(out).map(Cow::Owned).map_err(|_| {
        ScimError::InvalidValue("a query parameter is not valid percent-encoded UTF-8".into())
    })
}

/// The value of the hexadecimal digit at `bytes[at]` (RFC 3986 §2.1 `HEXDIG`, either
/// case); `None` past the end or for anything else.
fn hex_at(bytes: &[u8], at: usize) -> Option<u8> {
    let b = *bytes.get(at)?;
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The list/search parameters of one request (RFC 7644 §3.4.2, §3.4.3; RFC 9865).
#[derive(Debug, Default, Clone)]
pub(crate) struct ListParams {
    pub(crate) filter: Option<String>,
    pub(crate) sort_by: Option<String>,
    pub(crate) sort_order: Option<String>,
    pub(crate) start_index: Option<i64>,
    pub(crate) count: Option<i64>,
    /// `Some("")` asks for the first page.
    pub(crate) cursor: Option<String>,
    pub(crate) attributes: Option<String>,
    pub(crate) excluded: Option<String>,
}

fn parse_int(name: &str, value: &str) -> Result<i64, ScimError> {
    value.trim().parse::<i64>().map_err(|_| {
        ScimError::InvalidValue(format!(
            "`{name}` must be an integer (RFC 7644 §3.4.2.4), got \"{value}\""
        ))
    })
}

fn json_int(name: &str, value: &Value) -> Result<Option<i64>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(ScimError::InvalidValue(format!(
                    "`{name}` must be an integer (RFC 7644 §3.4.2.4), got {n}"
                ))),
            },
        },
        Value::String(s) => parse_int(name, s).map(Some),
        other => Err(ScimError::InvalidValue(format!(
            "`{name}` must be an integer (RFC 7644 §3.4.2.4), got {other}"
        ))),
    }
}

fn json_string(name: &str, value: &Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(ScimError::InvalidValue(format!(
            "`{name}` must be a string, got {other}"
        ))),
    }
}

/// `attributes` in a SearchRequest: an array of names (RFC 7644 §3.4.3), or, leniently, one
/// comma-separated string.
fn json_names(name: &str, value: &Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Array(items) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(s) => names.push(s),
                    None => {
                        return Err(ScimError::InvalidValue(format!(
                            "`{name}` must be an array of attribute names, got {item}"
                        )));
                    }
                }
            }
            Ok(Some(names.join(",")))
        }
        other => Err(ScimError::InvalidValue(format!(
            "`{name}` must be an array of attribute names, got {other}"
        ))),
    }
}

impl ListParams {
    /// Reads the query parameters of `GET /{endpoint}` (RFC 7644 §3.4.2).
    /// Each name takes the value [`QueryParams::get`] would give, in one pass over the
    /// parameters, and decoded values are moved rather than copied.
    pub(crate) fn from_query(params: QueryParams<'_>) -> Result<Self, ScimError> {
        const NAMES: [&str; 8] = [
            "filter",
            "sortBy",
            "sortOrder",
            "startIndex",
            "count",
            "cursor",
            "attributes",
            "excludedAttributes",
        ];
        // Each name's value and whether it was named exactly: the first exact match wins,
        // else the first case-insensitive one.
        let mut found: [Option<(Cow<'_, str>, bool)>; 8] = Default::default();
        for (name, value) in params.pairs {
            let mut slots = NAMES.iter().zip(found.iter_mut());
            if let Some((known, slot)) = slots.find(|(k, _)| k.eq_ignore_ascii_case(&name)) {
                let exact = *known == name;
                if slot
                    .as_ref()
                    .is_none_or(|(_, was_exact)| exact && !was_exact)
                {
                    *slot = Some((value, exact));
                }
            }
        }
        let [
            filter,
            sort_by,
            sort_order,
            start_index,
            count,
            cursor,
            attributes,
            excluded,
        ] = found.map(|slot| slot.map(|(value, _)| value.into_owned()));
        let int =
            |name: &str, value: Option<String>| value.map(|v| parse_int(name, &v)).transpose();
        Ok(Self {
            filter,
            sort_by,
            sort_order,
            start_index: int("startIndex", start_index)?,
            count: int("count", count)?,
            cursor,
            attributes,
            excluded,
        })
    }

    /// Reads a SearchRequest body (RFC 7644 §3.4.3). Member names match
    /// case-insensitively; `schemas`, when present, must list the SearchRequest URN.
    pub(crate) fn from_search_body(body: Option<&Value>) -> Result<Self, ScimError> {
        let Some(body) = body else {
            return Ok(Self::default());
        };
        let Some(obj) = body.as_object() else {
            return Err(ScimError::InvalidSyntax(
                "a search request body must be a JSON object (RFC 7644 §3.4.3)".into(),
            ));
        };
        let mut params = Self::default();
        for (key, value) in obj {
            let k = key.to_ascii_lowercase();
            match k.as_str() {
                "schemas" => {
                    let ok = match value {
                        Value::Array(items) => items.iter().any(|s| {
                            s.as_str()
                                .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
                        }),
                        Value::String(s) => s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA),
                        _ => false,
                    };
                    if !ok {
                        return Err(ScimError::InvalidSyntax(format!(
                            "a search request's \"schemas\" must contain \"{SEARCH_REQUEST_SCHEMA}\" (RFC 7644 §3.4.3)"
                        )));
                    }
                }
                "attributes" => params.attributes = json_names("attributes", value)?,
                "excludedattributes" => {
                    params.excluded = json_names("excludedAttributes", value)?;
                }
                "filter" => params.filter = json_string("filter", value)?,
                "sortby" => params.sort_by = json_string("sortBy", value)?,
                "sortorder" => params.sort_order = json_string("sortOrder", value)?,
                "startindex" => params.start_index = json_int("startIndex", value)?,
                "count" => params.count = json_int("count", value)?,
                "cursor" => params.cursor = json_string("cursor", value)?,
                _ => {
                    return Err(ScimError::InvalidSyntax(format!(
                        "unknown search request member \"{key}\" (RFC 7644 §3.4.3)"
                    )));
                }
            }
        }
        Ok(params)
    }
}

/// The parsed, resource-type-independent part of a list request.
struct Prepared {
    filter: Option<Filter>,
    sort: Option<(AttrPath, SortOrder)>,
    page: RequestedPage,
}

/// The page a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RequestedPage {
    /// `startIndex` (1-based) and `count` (RFC 7644 §3.4.2.4).
    Index { start_index: usize, count: usize },
    /// `cursor` (`None` for the first page) and `count` (RFC 9865).
    Cursor {
        cursor: Option<String>,
        count: usize,
    },
}

fn prepare(params: &ListParams, max_results: usize) -> Result<Prepared, ScimError> {
    let filter = match params.filter.as_deref() {
        Some(f) if !f.chars().all(char::is_whitespace) => Some(scim_filter::parse_filter(f)?),
        _ => None,
    };
    let order = match params.sort_order.as_deref().map(str::trim) {
        None | Some("") => SortOrder::Ascending,
        Some(o) if o.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
        Some(o) if o.eq_ignore_ascii_case("descending") => SortOrder::Descending,
        Some(o) => {
            return Err(ScimError::InvalidValue(format!(
                "`sortOrder` must be \"ascending\" or \"descending\" (RFC 7644 §3.4.2.3), got \"{o}\""
            )));
        }
    };
    let sort = match params.sort_by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(by) => match scim_filter::parse_path(by) {
            Ok(PatchPath::Attr(path)) => Some((path, order)),
            _ => {
                return Err(ScimError::InvalidValue(format!(
                    "`sortBy` must be an attribute name such as `userName` or `name.familyName` \
                     (RFC 7644 §3.4.2.3), got \"{by}\""
                )));
            }
        },
    };
    let count = match params.count {
        None => max_results,
        Some(n) if n < 0 => 0,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(max_results),
    };
    let page = match &params.cursor {
        Some(cursor) => {
            if params.start_index.is_some() {
                return Err(ScimError::InvalidValue(
                    "`cursor` and `startIndex` cannot be combined (RFC 9865)".into(),
                ));
            }
            let cursor = cursor.trim();
            RequestedPage::Cursor {
                cursor: (!cursor.is_empty()).then(|| cursor.to_owned()),
                count,
            }
        }
        None => RequestedPage::Index {
            start_index: params
                .start_index
                .filter(|&s| s >= 1)
                .map_or(1, |s| usize::try_from(s).unwrap_or(usize::MAX)),
            count,
        },
    };
    Ok(Prepared { filter, sort, page })
}

impl ScimEngine {
    /// The `not (userName eq "…" or id eq "…")` clause hiding protected Users, if any.
    fn protection_clause(&self, view: &ResourceTypeView) -> Option<Filter> {
        if !view.core_schema().id.eq_ignore_ascii_case(USER_SCHEMA) {
            return None;
        }
        let protected = &self.inner.config.protected;
        let compare = |attr: &str, value: &str| Filter::Compare {
            path: AttrPath::new(attr),
            op: CompareOp::Eq,
            value: CompValue::String(value.to_owned()),
        };
        let any = protected
            .user_names
            .iter()
            .map(|n| compare("userName", n))
            .chain(protected.ids.iter().map(|id| compare("id", id)))
            .reduce(|a, b| Filter::Or(Box::new(a), Box::new(b)))?;
        Some(Filter::Not(Box::new(any)))
    }

    /// The resolved filter a query of `view` applies: the client's, AND the protection
    /// clause.
    pub(crate) fn query_filter(
        &self,
        view: &ResourceTypeView,
        client: Option<Filter>,
    ) -> Result<Option<ResolvedFilter>, ScimError> {
        let combined = match (client, self.protection_clause(view)) {
            (Some(c), Some(p)) => Some(Filter::And(Box::new(c), Box::new(p))),
            (c, p) => c.or(p),
        };
        combined
            .map(|f| ResolvedFilter::resolve_owned(f, view))
            .transpose()
    }

    /// Answers a resolved query through the store (RFC 7644 §3.4.2): the conditions and the
    /// sort the store applies go into its query; when something is left, the store returns
    /// every candidate and the engine filters, sorts and pages them with the same rules
    /// ([`Query::answer`](crate::store::Query::answer)), a User's derived `groups`
    /// included.
    pub(crate) async fn run_query(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        filter: Option<&ResolvedFilter>,
        sort: Option<&ResolvedSort>,
        page: Page<'_>,
        members: bool,
    ) -> Result<QueryPage, ScimError> {
        let store = &self.inner.store;
        let serves = |condition: &Filter| store.filters(view, condition);
        let sort_served = sort.is_none_or(|s| store.sorts(view, s));
        let failed = |err| self.store_failure(ctx, "query", view, None, err);
        if sort_served && filter.is_none_or(|f| f.served_by(serves)) {
            let mut query = Query::new(view, page).with_members(members);
            query.filter = filter;
            query.sort = sort;
            return store.query(ctx, &query).await.map_err(failed);
        }
        let (served, rest) = match filter {
            Some(f) => f.split(serves),
            None => (None, None),
        };
        let needs_members = members || rest.as_ref().is_some_and(|r| r.mentions("members"));
        let mut query = Query::new(view, Page::All).with_members(needs_members);
        query.filter = served.as_ref();
        let candidates = store.query(ctx, &query).await.map_err(failed)?.resources;
        let derive = view.derives_groups()
            && (rest.as_ref().is_some_and(|r| r.mentions("groups"))
                || sort.is_some_and(|s| s.path().name == "groups"));
        let mut groups: HashMap<String, Vec<Membership>> = HashMap::new();
        if derive {
            let records: Vec<&StoredResource> = candidates.iter().collect();
            let found = self
                .groups_of(ctx, view, &records, &Projection::default_for(view), "query")
                .await?;
            for (record, list) in records.iter().zip(found) {
                groups.insert(record.id().to_owned(), list);
            }
        }
        let page = select(view, candidates, rest.as_ref(), sort, page, |r| {
            let mut json = r.filter_json(view)?;
            if let (Some(list), Some(obj)) = (groups.get(r.id()), json.as_object_mut()) {
                if !list.is_empty() {
                    let values = list
                        .iter()
                        .map(|m| {
                            serde_json::json!({"display": m.display, "type": "direct", "value": m.group})
                        })
                        .collect();
                    obj.insert("groups".into(), Value::Array(values));
                }
            }
            Ok(json)
        })
        .map_err(failed)?;
        Ok(page.keeping_members(members))
    }

    /// `GET /{endpoint}` and `POST /{endpoint}/.search` (RFC 7644 §3.4.2, §3.4.3).
    pub(crate) async fn list(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        params: &ListParams,
    ) -> Result<Outcome, ScimError> {
        let mut prepared = prepare(params, self.inner.config.max_results)?;
        let projection = self.projection_for(
            view,
            params.attributes.as_deref(),
            params.excluded.as_deref(),
        )?;
        let filter = self.query_filter(view, prepared.filter.take())?;
        let sort = prepared
            .sort
            .as_ref()
            .map(|(by, order)| ResolvedSort::resolve(by, *order, view))
            .transpose()?;
        let members = view.has_members() && projection.emits("members");
        let scope = CursorScope {
            tenant: ctx.tenant(),
            resource_type: &view.resource_type.name,
            filter: filter.as_ref(),
            sort: sort.as_ref(),
        };
        let position;
        let (page, count) = match &prepared.page {
            RequestedPage::Index { start_index, count } => (
                Page::Offset {
                    offset: start_index - 1,
                    limit: *count,
                },
                *count,
            ),
            // One more than asked, to know whether a next page exists.
            RequestedPage::Cursor { cursor, count } => {
                let limit = if *count == 0 { 0 } else { count + 1 };
                match cursor {
                    None => (Page::Offset { offset: 0, limit }, *count),
                    Some(cursor) => {
                        position = scope.decode(cursor)?;
                        (
                            Page::After {
                                position: &position,
                                limit,
                            },
                            *count,
                        )
                    }
                }
            }
        };
        let mut result = self
            .run_query(ctx, view, filter.as_ref(), sort.as_ref(), page, members)
            .await?;
        let mut next_cursor = None;
        if matches!(prepared.page, RequestedPage::Cursor { .. }) && result.resources.len() > count {
            result.resources.truncate(count);
            if let Some(last) = result.resources.last() {
                let sort_value = match &sort {
                    Some(s) => s.value_of(&self.sort_json(ctx, view, last, s).await?),
                    None => None,
                };
                next_cursor = Some(scope.encode(&Position::new(last.id(), sort_value)));
            }
        }
        let records: Vec<&StoredResource> = result.resources.iter().collect();
        let groups = self
            .groups_of(ctx, view, &records, &projection, "list")
            .await?;
        let renderer = Renderer::new(self, ctx, view, &projection)?;
        let size = result
            .resources
            .iter()
            .map(|r| r.text().map_or(512, |t| t.len() + 320))
            .sum();
        let mut list = ListWriter::with_capacity(size);
        for (resource, groups) in result.resources.iter().zip(&groups) {
            let derived = Derived {
                groups: Some(groups.as_slice()),
            };
            list.push(|out| renderer.write(resource, derived, out))?;
        }
        Ok(list.finish(&prepared.page, result.total, next_cursor))
    }

    /// The JSON a resource was sorted on (with its derived `groups` when the sort names them).
    async fn sort_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        sort: &ResolvedSort,
    ) -> Result<Value, ScimError> {
        let internal = |e: crate::store::StoreError| ScimError::Internal(e.to_string());
        let mut json = resource.filter_json(view).map_err(internal)?;
        if view.derives_groups() && sort.path().name == "groups" {
            let groups = self
                .groups_of(
                    ctx,
                    view,
                    &[resource],
                    &Projection::default_for(view),
                    "list",
                )
                .await?;
            if let (Some(list), Some(obj)) = (groups.first(), json.as_object_mut()) {
                let values = list
                    .iter()
                    .map(|m| serde_json::json!({"display": m.display, "type": "direct", "value": m.group}))
                    .collect();
                obj.insert("groups".into(), Value::Array(values));
            }
        }
        Ok(json)
    }

    /// `GET /` and `POST /.search` (RFC 7644 §3.4.2.1, §3.4.3): every resource type in
    /// registry order, paged over the concatenation. A `sortBy` that a resource type does
    /// not have leaves that type's resources in `id` order.
    pub(crate) async fn list_all(
        &self,
        ctx: &RequestContext,
        params: &ListParams,
    ) -> Result<Outcome, ScimError> {
        let prepared = prepare(params, self.inner.config.max_results)?;
        let RequestedPage::Index { start_index, count } = prepared.page else {
            return Err(ScimError::BadRequest(
                "cursor paging (RFC 9865) is not available for searches across all resource \
                 types; search one endpoint, e.g. POST /Users/.search"
                    .into(),
            ));
        };
        let mut skip = start_index - 1;
        let mut need = count;
        let mut total = 0usize;
        let mut list = ListWriter::with_capacity(768);
        for view in self.inner.registry.resource_types() {
            let projection = self.projection_for(
                view,
                params.attributes.as_deref(),
                params.excluded.as_deref(),
            )?;
            let filter = self.query_filter(view, prepared.filter.clone())?;
            let sort = prepared
                .sort
                .as_ref()
                .and_then(|(by, order)| ResolvedSort::resolve(by, *order, view).ok());
            let members = view.has_members() && projection.emits("members");
            let page = Page::Offset {
                offset: skip,
                limit: need,
            };
            let result = self
                .run_query(ctx, view, filter.as_ref(), sort.as_ref(), page, members)
                .await?;
            total += result.total;
            need = need.saturating_sub(result.resources.len());
            skip = skip.saturating_sub(result.total);
            let records: Vec<&StoredResource> = result.resources.iter().collect();
            let groups = self
                .groups_of(ctx, view, &records, &projection, "search")
                .await?;
            let renderer = Renderer::new(self, ctx, view, &projection)?;
            for (resource, groups) in result.resources.iter().zip(&groups) {
                let derived = Derived {
                    groups: Some(groups.as_slice()),
                };
                list.push(|out| renderer.write(resource, derived, out))?;
            }
        }
        let page = RequestedPage::Index { start_index, count };
        Ok(list.finish(&page, total, None))
    }
}

/// A ListResponse (RFC 7644 §3.4.2; RFC 9865 for cursor pages) written as its resources
/// are rendered; members in key order, as a serialized `Map` has them.
struct ListWriter {
    out: Vec<u8>,
    items: usize,
}

impl ListWriter {
    /// A writer whose buffer holds `size` bytes of resources without growing.
    fn with_capacity(size: usize) -> Self {
        let mut out = Vec::with_capacity(size.saturating_add(256));
        out.extend_from_slice(br#"{"Resources":["#);
        Self { out, items: 0 }
    }

    /// Appends one resource, written by `write`.
    fn push(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), ScimError>,
    ) -> Result<(), ScimError> {
        if self.items > 0 {
            self.out.push(b',');
        }
        self.items += 1;
        write(&mut self.out)
    }

    fn finish(
        mut self,
        page: &RequestedPage,
        total: usize,
        next_cursor: Option<String>,
    ) -> Outcome {
        let mut number = itoa::Buffer::new();
        let out = &mut self.out;
        out.extend_from_slice(br#"],"itemsPerPage":"#);
        out.extend_from_slice(number.format(self.items).as_bytes());
        if let (RequestedPage::Cursor { .. }, Some(next)) = (page, next_cursor) {
            out.extend_from_slice(br#","nextCursor":"#);
            // Writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, &next);
        }
        out.extend_from_slice(br#","schemas":[""#);
        out.extend_from_slice(LIST_RESPONSE_SCHEMA.as_bytes());
        out.extend_from_slice(br#""]"#);
        if let RequestedPage::Index { start_index, .. } = page {
            out.extend_from_slice(br#","startIndex":"#);
            out.extend_from_slice(number.format(*start_index).as_bytes());
        }
        out.extend_from_slice(br#","totalResults":"#);
        out.extend_from_slice(number.format(total).as_bytes());
        out.push(b'}');
        Outcome {
            status: 200,
            body: Some(Body::Raw(self.out)),
            location: None,
            version: None,
            resource_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_strings() {
        let q = QueryParams::parse(Some(
            "filter=userName%20eq%20%22bjensen%22&COUNT=5&attributes=a+b&x",
        ))
        .unwrap_or_default();
        assert_eq!(q.get("filter"), Some("userName eq \"bjensen\""));
        assert_eq!(q.get("count"), Some("5"));
        assert_eq!(q.get("attributes"), Some("a b"));
        assert_eq!(q.get("x"), Some(""));
        assert!(QueryParams::parse(Some("a=%FF")).is_err());
    }

    #[test]
    fn list_parameters_take_the_value_get_gives() {
        for raw in [
            "COUNT=1&count=2&Count=3",
            "Count=1&COUNT=2",
            "sortby=a&sortBy=b&filter=x&FILTER=y",
            "startindex=4&startIndex=5&startIndex=6&cursor&attributes=a&EXCLUDEDattributes=b",
            "sortOrder=descending&SORTORDER=ascending&filter=&other=1",
        ] {
            let Ok(query) = QueryParams::parse(Some(raw)) else {
                panic!("{raw} parses");
            };
            let expected = (
                query.get("filter").map(str::to_owned),
                query.get("sortBy").map(str::to_owned),
                query.get("sortOrder").map(str::to_owned),
                query.get("startIndex").and_then(|v| v.parse::<i64>().ok()),
                query.get("count").and_then(|v| v.parse::<i64>().ok()),
                query.get("cursor").map(str::to_owned),
                query.get("attributes").map(str::to_owned),
                query.get("excludedAttributes").map(str::to_owned),
            );
            let Ok(p) = ListParams::from_query(query) else {
                panic!("{raw} is valid");
            };
            let got = (
                p.filter,
                p.sort_by,
                p.sort_order,
                p.start_index,
                p.count,
                p.cursor,
                p.attributes,
                p.excluded,
            );
            assert_eq!(got, expected, "{raw}");
        }
        let two = QueryParams::parse(Some("count=2&Count=x")).map(ListParams::from_query);
        assert!(matches!(two, Ok(Ok(ListParams { count: Some(2), .. }))));
        let bad = QueryParams::parse(Some("Count=x")).map(ListParams::from_query);
        assert!(matches!(bad, Ok(Err(ScimError::InvalidValue(_)))));
    }

    /// The decoder as the RFC reads, one byte at a time: the oracle of the property below.
    fn decode_bytewise(input: &str) -> Option<String> {
        let bytes = input.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => match bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }

    #[test]
    fn stray_percent_signs_stand_for_themselves() {
        for (raw, decoded) in [
            ("100%", "100%"),
            ("%", "%"),
            ("%4", "%4"),
            ("%zz%41", "%zzA"),
            ("%%41", "%A"),
            ("%+", "% "),
            // `from_str_radix` would read `+1` as a signed number; a HEXDIG is not a sign.
            ("%+1", "% 1"),
            ("a%2", "a%2"),
            ("%e2%82%AC+", "€ "),
        ] {
            assert_eq!(percent_decode(raw).ok().as_deref(), Some(decoded), "{raw}");
        }
    }

    proptest::proptest! {
        /// The same text as the reference decoder, for any mix of escapes, stray `%`, `+`
        /// and non-ASCII text.
        #[test]
        fn decoding_runs_matches_decoding_bytes(
            input in "([a-zA-Z0-9 \"+%é€-]|%[0-9a-fA-F]{2}|%[0-9a-fA-F]|%[g-z+][0-9a-f+]){0,24}"
        ) {
            let fast = percent_decode(&input).ok().map(Cow::into_owned);
            proptest::prop_assert_eq!(fast, decode_bytewise(&input));
        }
    }

    #[test]
    fn clamps_paging() {
        let params = ListParams {
            start_index: Some(-3),
            count: Some(5000),
            ..ListParams::default()
        };
        let p = prepare(&params, 100).map(|p| p.page).ok();
        assert_eq!(
            p,
            Some(RequestedPage::Index {
                start_index: 1,
                count: 100
            })
        );
        let params = ListParams {
            count: Some(-1),
            cursor: Some(String::new()),
            ..ListParams::default()
        };
        let p = prepare(&params, 100).map(|p| p.page).ok();
        assert_eq!(
            p,
            Some(RequestedPage::Cursor {
                cursor: None,
                count: 0
            })
        );
    }
}

//! Resolved queries (RFC 7644 §3.4.2): what a [`Store`](super::Store) answers, and the
//! helpers every store shares so that every store gives the same answers.
//!
//! See the [store module docs](crate::store#resolved-queries).
//! [`Store::filters`]: super::Store::filters

use super::StoreError;
use super::record::StoredResource;
use crate::error::ScimError;
use crate::schema::{AttributeType, ResourceTypeView};
use chrono::{DateTime, Utc};
use scim_filter::{AttrPath, Filter};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A filter (RFC 7644 §3.4.2.2) resolved against one resource type: every path in canonical
/// form and every comparison type-checked (see the [store module docs](crate::store#resolved-queries)).
///
/// It derefs to nothing on purpose: read the tree with [`ResolvedFilter::filter`], evaluate
/// it with [`ResolvedFilter::matches`], split it with [`ResolvedFilter::split`].
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedFilter {
    filter: Filter,
}

impl ResolvedFilter {
    /// Resolves `filter` against `view` (RFC 7644 §3.4.2.2, §3.10).
    ///
    /// # Errors
    ///
    /// 400 `invalidFilter` when an operator does not apply to an attribute's type (e.g.
    /// `active gt true`, `emails[value gt true]`, `title co 5`), whatever the data.
    ///
    /// ```
    /// use scim_core::schema::SchemaRegistry;
    /// use scim_core::store::ResolvedFilter;
    ///
    /// let registry = SchemaRegistry::default();
    /// let users = registry.resource_type("User").ok_or("no User")?;
    /// let f = scim_filter::parse_filter(
    ///     r#"USERNAME eq "x" and urn:ietf:params:scim:schemas:core:2.0:User:name.GIVENNAME pr and employeeNumber eq "7""#,
    /// )?;
    /// let resolved = ResolvedFilter::resolve(&f, users)?;
    /// assert_eq!(
    ///     resolved.filter().to_string(),
    ///     r#"userName eq "x" and name.givenName pr and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#
    /// );
    /// let bad = scim_filter::parse_filter("active gt true")?;
    /// assert_eq!(ResolvedFilter::resolve(&bad, users).unwrap_err().status(), 400);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(filter: &Filter, view: &ResourceTypeView) -> Result<Self, ScimError> {
        Self::resolve_owned(filter.clone(), view)
    }

    /// [`resolve`](Self::resolve), reusing `filter`.
    ///
    /// # Errors
    ///
    /// As [`resolve`](Self::resolve).
    pub fn resolve_owned(mut filter: Filter, view: &ResourceTypeView) -> Result<Self, ScimError> {
        desugar(&mut filter);
        canonicalize(&mut filter, view, None);
        check_types(&filter, view)?;
        Ok(Self { filter })
    }

    /// The filter tree, every path canonical.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Whether `resource` — a resource as filters see it
    /// ([`StoredResource::filter_json`], plus `groups` for Users when the filter names them)
    /// — matches (RFC 7644 §3.4.2.2, the semantics of [`Filter::matches`]). Type errors were
    /// ruled out by [`resolve`](Self::resolve); a stored value of the wrong type never
    /// matches.
    pub fn matches(&self, resource: &Value, view: &ResourceTypeView) -> bool {
        self.filter.matches(resource, view).unwrap_or(false)
    }

    /// `self and other`.
    #[must_use]
    pub fn and(self, other: ResolvedFilter) -> ResolvedFilter {
        ResolvedFilter {
            filter: Filter::And(Box::new(self.filter), Box::new(other.filter)),
        }
    }

    /// Whether a top-level attribute named `name` (case-insensitive, any URN) occurs
    /// anywhere in the filter, e.g. `members` or `groups`.
    pub fn mentions(&self, name: &str) -> bool {
        mentions(&self.filter, name)
    }

    /// Splits the filter into the part a backend applies and a remainder, so that
    /// `filter ≡ served AND remainder` (RFC 7644 §3.4.2.2).
    ///
    /// `serves` is asked about each condition: a `pr` or comparison on one attribute, or a
    /// whole value path (`emails[type eq "work"]`, whose inner conditions hold on one element).
    /// An `and` splits operand by operand; an `or` or `not` is served only when every
    /// condition in it is. `None` stands for "no condition".
    ///
    /// ```
    /// use scim_core::schema::SchemaRegistry;
    /// use scim_core::store::ResolvedFilter;
    /// use scim_filter::Filter;
    ///
    /// let registry = SchemaRegistry::default();
    /// let users = registry.resource_type("User").ok_or("no User")?;
    /// let f = scim_filter::parse_filter(r#"userName eq "a" and (title pr or groups.value eq "g")"#)?;
    /// let f = ResolvedFilter::resolve(&f, users)?;
    /// let not_groups = |c: &Filter| !matches!(c, Filter::Compare { path, .. } if path.name == "groups");
    /// let (served, rest) = f.split(not_groups);
    /// assert_eq!(served.map(|s| s.filter().to_string()).as_deref(), Some(r#"userName eq "a""#));
    /// assert_eq!(rest.map(|r| r.filter().to_string()).as_deref(), Some(r#"title pr or groups.value eq "g""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split(
        &self,
        serves: impl Fn(&Filter) -> bool,
    ) -> (Option<ResolvedFilter>, Option<ResolvedFilter>) {
        let (served, rest) = split(&self.filter, &serves);
        let wrap = |filter| ResolvedFilter { filter };
        (served.map(wrap), rest.map(wrap))
    }

    /// Whether `serves` accepts every condition of the filter (then
    /// [`split`](Self::split) would give it back whole).
    pub fn served_by(&self, serves: impl Fn(&Filter) -> bool) -> bool {
        all_served(&self.filter, &serves)
    }

    /// The conditions of the filter's top-level `and` chain (the filter itself when it is
    /// no `and`): each must hold, so a store may answer one of them from an index and
    /// evaluate the others on the candidates.
    pub fn conjuncts(&self) -> Vec<&Filter> {
        let mut out = Vec::new();
        conjuncts(&self.filter, &mut out);
        out
    }
}

/// The operands of a top-level `and` chain.
fn conjuncts<'f>(filter: &'f Filter, out: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// Rewrites every extension form into RFC 7644 syntax, in place: Entra ID's
/// `emails[type eq "work"].value eq "x"` ([`Filter::ElementTest`]) becomes
/// `emails[type eq "work" and value eq "x"]`, so stores and the rest of the engine only
/// ever see the RFC grammar.
fn desugar(filter: &mut Filter) {
    match filter {
        Filter::ElementTest { .. } => {
            if let Some(rfc) = filter.as_value_path() {
                *filter = rfc;
            }
        }
        Filter::Not(inner) => desugar(inner),
        Filter::And(a, b) | Filter::Or(a, b) => {
            desugar(a);
            desugar(b);
        }
        Filter::Present(_) | Filter::Compare { .. } | Filter::ValuePath { .. } => {}
    }
}

fn mentions(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::Present(path)
        | Filter::Compare { path, .. }
        | Filter::ValuePath { path, .. }
        | Filter::ElementTest { path, .. } => path.name.eq_ignore_ascii_case(name),
        Filter::Not(inner) => mentions(inner, name),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
    }
}

fn all_served(filter: &Filter, serves: &dyn Fn(&Filter) -> bool) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => all_served(a, serves) && all_served(b, serves),
        Filter::Not(inner) => all_served(inner, serves),
        leaf => serves(leaf),
    }
}

fn split(filter: &Filter, serves: &dyn Fn(&Filter) -> bool) -> (Option<Filter>, Option<Filter>) {
    if all_served(filter, serves) {
        return (Some(filter.clone()), None);
    }
    match filter {
        Filter::And(a, b) => {
            let (sa, ra) = split(a, serves);
            let (sb, rb) = split(b, serves);
            (and_opt(sa, sb), and_opt(ra, rb))
        }
        other => (None, Some(other.clone())),
    }
}

fn and_opt(a: Option<Filter>, b: Option<Filter>) -> Option<Filter> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Filter::And(Box::new(a), Box::new(b))),
        (a, b) => a.or(b),
    }
}

/// Puts `path` in canonical form (see the module docs), in place (no allocation when it is
/// already canonical); `outer` is the attribute of the enclosing value path, whose
/// sub-attributes the names inside it are.
fn canonicalize_path(path: &mut AttrPath, view: &ResourceTypeView, outer: Option<&AttrPath>) {
    fn set(slot: &mut String, canonical: &str) {
        if slot != canonical {
            canonical.clone_into(slot);
        }
    }
    if let Some(outer) = outer {
        if let Some(def) = view
            .find(outer.uri.as_deref(), &outer.name)
            .and_then(|l| l.attr.sub_attribute(&path.name))
        {
            path.uri = None;
            set(&mut path.name, &def.name);
        }
        return;
    }
    if path.uri.is_none() && path.name.eq_ignore_ascii_case("schemas") {
        set(&mut path.name, "schemas");
        return;
    }
    let Some(location) = view.find(path.uri.as_deref(), &path.name) else {
        return;
    };
    if let Some(sub) = path.sub_attr.as_mut() {
        if let Some(def) = location.attr.sub_attribute(sub) {
            set(sub, &def.name);
        }
    }
    set(&mut path.name, &location.attr.name);
    match (location.extension, path.uri.as_mut()) {
        (false, _) => path.uri = None,
        (true, Some(uri)) => set(uri, &location.schema.id),
        (true, None) => path.uri = Some(location.schema.id.clone()),
    }
}

/// Puts every path of `filter` in canonical form, in place.
fn canonicalize(filter: &mut Filter, view: &ResourceTypeView, outer: Option<&AttrPath>) {
    match filter {
        Filter::Present(path) | Filter::Compare { path, .. } => {
            canonicalize_path(path, view, outer);
        }
        // A value path inside a value path names no schema attribute: kept as written.
        Filter::ValuePath { .. } if outer.is_some() => {}
        Filter::ValuePath { path, filter } => {
            canonicalize_path(path, view, None);
            canonicalize(filter, view, Some(path));
        }
        // Desugared before canonicalization; kept correct should a caller skip that.
        Filter::ElementTest { .. } if outer.is_some() => {}
        Filter::ElementTest { path, filter, test } => {
            canonicalize_path(path, view, None);
            canonicalize(filter, view, Some(path));
            canonicalize(test, view, Some(path));
        }
        Filter::Not(inner) => canonicalize(inner, view, outer),
        Filter::And(a, b) | Filter::Or(a, b) => {
            canonicalize(a, view, outer);
            canonicalize(b, view, outer);
        }
    }
}

/// Reports operator/type errors (RFC 7644 §3.4.2.2 `invalidFilter`) independently of the
/// data: every comparison is evaluated once against an empty resource (inside value paths,
/// against one empty element), where the evaluator's type checks run before any value is
/// looked at.
fn check_types(filter: &Filter, view: &ResourceTypeView) -> Result<(), ScimError> {
    fn walk(
        filter: &Filter,
        view: &ResourceTypeView,
        outer: Option<&AttrPath>,
    ) -> Result<(), scim_filter::EvalError> {
        match filter {
            Filter::Present(_) => Ok(()),
            Filter::Not(inner) => walk(inner, view, outer),
            Filter::And(a, b) | Filter::Or(a, b) => {
                walk(a, view, outer)?;
                walk(b, view, outer)
            }
            Filter::Compare { .. } => match outer {
                None => filter.matches(&Value::Object(Map::new()), view).map(drop),
                Some(path) => {
                    let mut probe = Map::new();
                    let element = Value::Array(vec![Value::Object(Map::new())]);
                    probe.insert(path.name.clone(), element.clone());
                    if let Some(uri) = &path.uri {
                        let mut ext = Map::new();
                        ext.insert(path.name.clone(), element);
                        probe.insert(uri.clone(), Value::Object(ext));
                    }
                    let wrapped = Filter::ValuePath {
                        path: path.clone(),
                        filter: Box::new(filter.clone()),
                    };
                    wrapped.matches(&Value::Object(probe), view).map(drop)
                }
            },
            Filter::ValuePath { path, filter } => match outer {
                None => walk(filter, view, Some(path)),
                Some(_) => Ok(()),
            },
            Filter::ElementTest { path, filter, test } => match outer {
                None => {
                    walk(filter, view, Some(path))?;
                    walk(test, view, Some(path))
                }
                Some(_) => Ok(()),
            },
        }
    }
    walk(filter, view, None).map_err(|e| ScimError::InvalidFilter(e.message))
}

/// Sort direction (RFC 7644 §3.4.2.3 `sortOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// `ascending` (the default).
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

impl SortOrder {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

/// A value a resource sorts by (RFC 7644 §3.4.2.3), prepared for comparison: strings are
/// case-folded unless the attribute is `caseExact`, `dateTime`s are instants. Values of
/// different kinds (only possible for attributes no schema defines) order as booleans,
/// numbers, instants, strings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SortValue {
    /// A boolean (`false` before `true`).
    Boolean(bool),
    /// A number.
    Number(f64),
    /// A `dateTime`, as an instant.
    DateTime(DateTime<Utc>),
    /// A string, folded with [`fold_case`](super::fold_case) unless `caseExact`.
    String(String),
}

impl SortValue {
    fn rank(&self) -> u8 {
        match self {
            SortValue::Boolean(_) => 0,
            SortValue::Number(_) => 1,
            SortValue::DateTime(_) => 2,
            SortValue::String(_) => 3,
        }
    }

    /// The total order of sort values (see the type docs).
    pub fn compare(&self, other: &SortValue) -> Ordering {
        match (self, other) {
            (SortValue::Boolean(a), SortValue::Boolean(b)) => a.cmp(b),
            (SortValue::Number(a), SortValue::Number(b)) => a.total_cmp(b),
            (SortValue::DateTime(a), SortValue::DateTime(b)) => a.cmp(b),
            (SortValue::String(a), SortValue::String(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    /// A JSON form (`[kind, value]`), for cursors.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            SortValue::Boolean(b) => serde_json::json!(["b", b]),
            SortValue::Number(n) => serde_json::json!(["n", n]),
            SortValue::DateTime(t) => serde_json::json!(["t", crate::meta::format_date_time(*t)]),
            SortValue::String(s) => serde_json::json!(["s", s]),
        }
    }

    /// Reads [`to_json`](Self::to_json)'s form.
    pub(crate) fn from_json(value: &Value) -> Option<SortValue> {
        let [kind, v] = value.as_array()?.as_slice() else {
            return None;
        };
        Some(match (kind.as_str()?, v) {
            ("b", Value::Bool(b)) => SortValue::Boolean(*b),
            ("n", Value::Number(n)) => SortValue::Number(n.as_f64()?),
            ("t", Value::String(s)) => {
                SortValue::DateTime(DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc))
            }
            ("s", Value::String(s)) => SortValue::String(s.clone()),
            _ => return None,
        })
    }
}

/// A `sortBy` / `sortOrder` pair (RFC 7644 §3.4.2.3) resolved against one resource type.
///
/// Resources order by the value [`value_of`](Self::value_of) gives — for a multi-valued
/// attribute the `primary` element's value, else the first element's; strings
/// case-insensitively unless `caseExact`; numbers numerically; `dateTime`s as instants —
/// with resources that have no value last when ascending and first when descending, and
/// ties broken by `id` ascending ([`compare`](Self::compare)). The order is total, so a
/// keyset [`Position`] identifies a place in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSort {
    path: AttrPath,
    order: SortOrder,
    attr_type: AttributeType,
    case_exact: bool,
}

impl ResolvedSort {
    /// Resolves `sortBy` (`by`) against `view`.
    ///
    /// # Errors
    ///
    /// 400 `invalidValue` when `by` names no attribute of the resource type, or a
    /// single-valued complex attribute without a sub-attribute (there is nothing to compare).
    pub fn resolve(
        by: &AttrPath,
        order: SortOrder,
        view: &ResourceTypeView,
    ) -> Result<Self, ScimError> {
        let unknown = || {
            ScimError::InvalidValue(format!(
                "cannot sort by `{by}`: {} has no such attribute (RFC 7644 §3.4.2.3)",
                view.resource_type.name
            ))
        };
        let mut path = by.clone();
        canonicalize_path(&mut path, view, None);
        let location = view
            .find(path.uri.as_deref(), &path.name)
            .ok_or_else(unknown)?;
        let def = match &path.sub_attr {
            Some(sub) => location.attr.sub_attribute(sub).ok_or_else(unknown)?,
            None => location.attr,
        };
        let def = match def.attr_type {
            AttributeType::Complex => match def.sub_attribute("value") {
                Some(value) if def.multi_valued => value,
                _ => {
                    return Err(ScimError::InvalidValue(format!(
                        "cannot sort by `{by}`: it is a complex attribute; name one of its \
                         sub-attributes, e.g. `{by}.{}` (RFC 7644 §3.4.2.3)",
                        def.sub_attributes
                            .first()
                            .map_or("value", |s| s.name.as_str())
                    )));
                }
            },
            _ => def,
        };
        Ok(Self {
            attr_type: def.attr_type,
            case_exact: def.case_exact || def.attr_type == AttributeType::Binary,
            path,
            order,
        })
    }

    /// The attribute, in canonical form (see the [store module docs](crate::store#resolved-queries)).
    pub fn path(&self) -> &AttrPath {
        &self.path
    }

    /// The direction.
    pub fn order(&self) -> SortOrder {
        self.order
    }

    /// The type of the compared values.
    pub fn attr_type(&self) -> AttributeType {
        self.attr_type
    }

    /// Whether strings compare exactly (else case-folded).
    pub fn case_exact(&self) -> bool {
        self.case_exact
    }

    /// The value `resource` (as filters see it, [`StoredResource::filter_json`]) sorts by,
    /// `None` when it has none.
    pub fn value_of(&self, resource: &Value) -> Option<SortValue> {
        let whole = AttrPath {
            uri: self.path.uri.clone(),
            name: self.path.name.clone(),
            sub_attr: None,
        };
        let value = sort_value(resource, &self.path, &whole)?;
        self.prepare(value)
    }

    /// A raw JSON value as a [`SortValue`] of this sort's type (folding, instants).
    pub fn prepare(&self, value: &Value) -> Option<SortValue> {
        match value {
            Value::Bool(b) => Some(SortValue::Boolean(*b)),
            Value::Number(n) => n.as_f64().map(SortValue::Number),
            Value::String(s) => {
                if self.attr_type == AttributeType::DateTime {
                    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                        return Some(SortValue::DateTime(t.with_timezone(&Utc)));
                    }
                }
                Some(SortValue::String(if self.case_exact {
                    s.clone()
                } else {
                    super::fold_case(s)
                }))
            }
            _ => None,
        }
    }

    /// The order of two resources given as (sort value, `id`): by value in the sort's
    /// direction, missing values last when ascending and first when descending, then by
    /// `id` ascending.
    pub fn compare(
        &self,
        a: (Option<&SortValue>, &str),
        b: (Option<&SortValue>, &str),
    ) -> Ordering {
        let descending = self.order == SortOrder::Descending;
        let by_value = match (a.0, b.0) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if descending => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) if descending => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) if descending => y.compare(x),
            (Some(x), Some(y)) => x.compare(y),
        };
        by_value.then_with(|| a.1.cmp(b.1))
    }
}

fn get_ci<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The value a resource sorts by: the `primary` element's, else the first one.
fn sort_value<'a>(json: &'a Value, by: &AttrPath, whole: &AttrPath) -> Option<&'a Value> {
    let elements = whole.values(json);
    if elements.len() > 1 || elements.first().is_some_and(|e| e.get("primary").is_some()) {
        let primary = elements
            .iter()
            .find(|e| get_ci(e, "primary") == Some(&Value::Bool(true)));
        if let Some(primary) = primary {
            let sub = by.sub_attr.as_deref().unwrap_or("value");
            if let Some(v) = get_ci(primary, sub).filter(|v| !v.is_null()) {
                return Some(v);
            }
        }
    }
    let first = by.values(json).into_iter().next()?;
    if first.is_object() {
        get_ci(first, "value").filter(|v| !v.is_null())
    } else {
        Some(first)
    }
}

/// A place in the order of a query's results, for keyset paging (RFC 9865 cursors): the
/// last resource of the previous page, as its sort value (when the query is sorted) and
/// `id`. The next page starts with the first resource after it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Position {
    /// The `id` of the last resource of the previous page.
    pub id: String,
    /// Its sort value (`None` when the query is unsorted or the resource had none).
    pub sort_value: Option<SortValue>,
}

impl Position {
    /// A position after the resource `id` with this sort value.
    pub fn new(id: impl Into<String>, sort_value: Option<SortValue>) -> Self {
        Self {
            id: id.into(),
            sort_value,
        }
    }
}

/// Which part of a query's ordered results to return.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Page<'a> {
    /// Every match.
    All,
    /// Index paging (RFC 7644 §3.4.2.4): skip `offset` matches (`startIndex - 1`), return
    /// at most `limit`; `limit` 0 asks only for the total.
    Offset {
        /// Matches to skip.
        offset: usize,
        /// Most matches to return.
        limit: usize,
    },
    /// Keyset paging (RFC 9865): at most `limit` matches that come after `position` in the
    /// query's order (a `WHERE (sort key, id) > (?, ?)` in SQL, never an offset scan).
    After {
        /// The last resource of the previous page.
        position: &'a Position,
        /// Most matches to return.
        limit: usize,
    },
}

/// What a store answers (RFC 7644 §3.4.2): the resources of [`view`](Self::view) in the
/// request's tenant that match [`filter`](Self::filter), ordered by [`sort`](Self::sort)
/// (by `id` ascending when `None`; ties by `id` ascending), the [`page`](Self::page) of them.
/// The engine only puts in a filter and a sort the store said it applies
/// ([`Store::filters`](super::Store::filters), [`Store::sorts`](super::Store::sorts)).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Query<'a> {
    /// The resource type.
    pub view: &'a ResourceTypeView,
    /// The filter to apply exactly; `None` matches every resource.
    pub filter: Option<&'a ResolvedFilter>,
    /// The order; `None` orders by `id`.
    pub sort: Option<&'a ResolvedSort>,
    /// Which matches to return.
    pub page: Page<'a>,
    /// Whether Group resources must carry their members. `false` when the response leaves
    /// them out (Entra lists groups with `excludedAttributes=members`); a store may then
    /// skip loading them (returning them anyway is correct).
    pub members: bool,
}

impl<'a> Query<'a> {
    /// A query for every resource of `view` (with members), one `page` of them.
    pub fn new(view: &'a ResourceTypeView, page: Page<'a>) -> Self {
        Self {
            view,
            filter: None,
            sort: None,
            page,
            members: true,
        }
    }

    /// Restricts the query to resources matching `filter`.
    #[must_use]
    pub fn with_filter(mut self, filter: &'a ResolvedFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Orders the results.
    #[must_use]
    pub fn with_sort(mut self, sort: &'a ResolvedSort) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Sets whether Groups must carry their members.
    #[must_use]
    pub fn with_members(mut self, members: bool) -> Self {
        self.members = members;
        self
    }

    /// Answers the query over `candidates` in Rust: keeps the ones that match the filter
    /// ([`ResolvedFilter::matches`] on [`StoredResource::filter_json`]), orders them
    /// ([`ResolvedSort::compare`], else by `id`) and cuts the page; the total counts every
    /// match. `candidates` must include every resource that may match (all resources of the
    /// type in the tenant, or a superset of the matches from an index); their order does
    /// not matter.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when stored attribute text is not a JSON object.
    pub fn answer(
        &self,
        candidates: impl IntoIterator<Item = StoredResource>,
    ) -> Result<QueryPage, StoreError> {
        select(
            self.view,
            candidates,
            self.filter,
            self.sort,
            self.page,
            |r| r.filter_json(self.view),
        )
    }
}

/// One page of query results.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct QueryPage {
    /// The resources of the page, in order.
    pub resources: Vec<StoredResource>,
    /// How many resources match the filter in all (whatever the page).
    pub total: usize,
}

impl QueryPage {
    /// A page with these resources and total.
    pub fn new(resources: Vec<StoredResource>, total: usize) -> Self {
        Self { resources, total }
    }

    /// The page with the Group members left out unless `members` (see [`Query::members`]).
    #[must_use]
    pub fn keeping_members(mut self, members: bool) -> Self {
        if !members {
            for resource in &mut self.resources {
                resource.clear_members();
            }
        }
        self
    }
}

/// Filters, orders and pages `candidates` (see [`Query::answer`]); `json_of` gives the JSON
/// a resource is filtered and sorted on.
pub(crate) fn select(
    view: &ResourceTypeView,
    candidates: impl IntoIterator<Item = StoredResource>,
    filter: Option<&ResolvedFilter>,
    sort: Option<&ResolvedSort>,
    page: Page<'_>,
    json_of: impl Fn(&StoredResource) -> Result<Value, StoreError>,
) -> Result<QueryPage, StoreError> {
    let mut keyed: Vec<(Option<SortValue>, StoredResource)> = Vec::new();
    for resource in candidates {
        if filter.is_none() && sort.is_none() {
            keyed.push((None, resource));
            continue;
        }
        let json = json_of(&resource)?;
        if filter.is_some_and(|f| !f.matches(&json, view)) {
            continue;
        }
        let key = sort.and_then(|s| s.value_of(&json));
        keyed.push((key, resource));
    }
    let order = |a: (Option<&SortValue>, &str), b: (Option<&SortValue>, &str)| match sort {
        Some(sort) => sort.compare(a, b),
        None => a.1.cmp(b.1),
    };
    keyed.sort_by(|(ka, ra), (kb, rb)| order((ka.as_ref(), ra.id()), (kb.as_ref(), rb.id())));
    let total = keyed.len();
    let (start, limit) = match page {
        Page::All => (0, total),
        Page::Offset { offset, limit } => (offset.min(total), limit),
        Page::After { position, limit } => {
            let start = keyed.partition_point(|(k, r)| {
                order(
                    (k.as_ref(), r.id()),
                    (position.sort_value.as_ref(), &position.id),
                ) != Ordering::Greater
            });
            (start, limit)
        }
    };
    let resources = keyed
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|(_, r)| r)
        .collect();
    Ok(QueryPage::new(resources, total))
}

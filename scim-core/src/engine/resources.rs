//! Single-resource operations: create, get, replace, modify, delete
//! (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.5.2, §3.6) with versions (§3.14).
//!
//! * The engine computes every record it hands to the store: a new `id`, `created` and
//!   `lastModified` from its clock, version 1 on create and the next version on every
//!   change. A request that changes nothing (a PUT of the same resource, a PATCH that
//!   replaces a value with itself) writes nothing and keeps the version.
//! * Every read-modify-write is a compare-and-swap on the version; without `If-Match` a
//!   lost race is retried (up to [`EngineConfig::max_write_retries`]), so concurrent
//!   PATCHes never lose each other's changes; with `If-Match` it is a 412.
//! * `If-Match` and `If-None-Match` compare weakly on every path (RFC 9110 §13.1.1): `*`,
//!   or a list of entity tags, each compared by its version.
//! * PATCHes that only add or remove Group members go to
//!   [`Store::modify_members`](crate::store::Store::modify_members), whose cost does not
//!   depend on the group's size; a store without it gets the same change through
//!   read-modify-write. They answer 204 unless `attributes` or `excludedAttributes` ask for
//!   the resource.
//! * Users left inactive (PATCH, PUT) or deleted are queued for token revocation, also
//!   when they already were inactive or were already gone (an IdP retry then completes
//!   a revocation that failed before).
//!
//! [`EngineConfig::max_write_retries`]: super::EngineConfig::max_write_retries

use super::list::QueryParams;
use super::render::{Derived, Renderer};
use super::{
    Body, DeletePolicy, DuplicatePolicy, Operation, Outcome, PendingRevocations, ScimEngine,
};
use crate::context::RequestContext;
use crate::error::ScimError;
use crate::meta;
use crate::patch::{PatchOp, PatchRequest, patch_resource};
use crate::projection::Projection;
use crate::resource::{Resource, coerce_attribute};
use crate::schema::{AttributeType, ResourceTypeView, USER_SCHEMA, Uniqueness};
use crate::store::{
    Member, Membership, MembershipChange, Page, Replaced, ResolvedFilter, ResourceMeta, StoreError,
    StoredResource, Version,
};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use serde_json::Value;

/// Whether `view` is the User resource type (RFC 7643 §4.1).
pub(crate) fn is_user(view: &ResourceTypeView) -> bool {
    view.core_schema().id.eq_ignore_ascii_case(USER_SCHEMA)
}

/// Whether an `If-Match` / `If-None-Match` header value matches `version`
/// (RFC 9110 §13.1.1, §13.1.2): `*`, or a comma-separated list of entity tags compared
/// weakly (by the version they name).
pub(crate) fn etag_matches(header: &str, version: Version) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || Version::from_etag(t) == Some(version))
}

fn precondition_failed() -> ScimError {
    ScimError::PreconditionFailed(
        "the resource's current version does not match If-Match (RFC 7644 §3.14); fetch it again"
            .into(),
    )
}

fn missing_body(method: &str) -> ScimError {
    ScimError::InvalidSyntax(format!("{method} needs a JSON request body"))
}

pub(crate) fn not_found(view: &ResourceTypeView, id: &str) -> ScimError {
    ScimError::NotFound(format!("{} `{id}` not found", view.resource_type.name))
}

/// Outcome of a single resource (200, 201).
fn single(status: u16, body: Vec<u8>, version: Version, location: Option<String>) -> Outcome {
    Outcome {
        status,
        body: Some(Body::Raw(body)),
        location,
        version: Some(version.etag()),
        resource_id: None,
    }
}

fn no_content(version: Option<Version>) -> Outcome {
    Outcome {
        status: 204,
        body: None,
        location: None,
        version: version.map(Version::etag),
        resource_id: None,
    }
}

/// A Group member from a coerced `members` element (RFC 7643 §4.2); `None` without a
/// string `value`.
fn member_of_value(value: &Value) -> Option<Member> {
    let obj = value.as_object()?;
    let mut member = Member::new(obj.get("value")?.as_str()?);
    if let Some(kind) = obj.get("type").and_then(Value::as_str) {
        member = member.with_type(kind);
    }
    if let Some(display) = obj.get("display").and_then(Value::as_str) {
        member = member.with_display(display);
    }
    Some(member)
}

/// The record of a resource the engine built (validated, patched): `id`, `meta` and the
/// derived `groups` leave the attributes; a Group's `members` become [`Member`]s (without
/// duplicates; `$ref` is derived at output).
pub(crate) fn to_record(
    view: &ResourceTypeView,
    resource: Resource,
    id: &str,
    meta: ResourceMeta,
) -> Result<StoredResource, ScimError> {
    let mut attrs = resource.into_map();
    attrs.remove("id");
    attrs.remove("meta");
    if view.derives_groups() {
        attrs.remove("groups");
    }
    let mut members: Vec<Member> = Vec::new();
    if view.has_members() {
        let list = match attrs.remove("members") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other],
        };
        for (i, item) in list.iter().enumerate() {
            let member = member_of_value(item).ok_or_else(|| {
                ScimError::InvalidValue(format!(
                    "members[{i}] needs a string `value`: the id of the member (RFC 7643 §4.2)"
                ))
            })?;
            if !members.iter().any(|m| m.value == member.value) {
                members.push(member);
            }
        }
    }
    StoredResource::from_engine(id, meta, attrs, members)
        .map_err(|e| ScimError::Internal(e.to_string()))
}

/// The resource a record stands for, as PUT and PATCH work on it: attributes, `id` and,
/// for Groups, `members` (no `meta`, no derived `groups`).
pub(crate) fn to_resource(record: &StoredResource) -> Result<Resource, ScimError> {
    let mut attrs = record
        .attributes()
        .map_err(|e| ScimError::Internal(format!("a stored resource is not JSON: {e}")))?
        .into_owned();
    attrs.insert("id".into(), Value::String(record.id().to_owned()));
    if !record.members().is_empty() {
        let members = record.members().iter().map(Member::to_json).collect();
        attrs.insert("members".into(), Value::Array(members));
    }
    Ok(Resource::from_map(attrs))
}

/// The length of the first string in `value` (at any depth) longer than `max` bytes.
fn longest_string_over(value: &Value, max: usize) -> Option<usize> {
    match value {
        Value::String(s) if s.len() > max => Some(s.len()),
        Value::Array(items) => items.iter().find_map(|v| longest_string_over(v, max)),
        Value::Object(map) => map.values().find_map(|v| longest_string_over(v, max)),
        _ => None,
    }
}

/// The `members` values a PATCH operation carries: its value when its path names
/// `members` (`members` or `members[…]`), or the `members` of a path-less value object.
fn operation_members(operation: &crate::patch::PatchOperation) -> &[Value] {
    let Some(value) = &operation.value else {
        return &[];
    };
    let names_members =
        |path: &AttrPath| path.uri.is_none() && path.name.eq_ignore_ascii_case("members");
    let value = match &operation.path {
        Some(PatchPath::Attr(path)) | Some(PatchPath::Value { path, .. })
            if names_members(path) =>
        {
            value
        }
        Some(_) => return &[],
        None => match value
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("members")))
        {
            Some((_, members)) => members,
            None => return &[],
        },
    };
    match value {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

/// What a compare-and-swap cycle bases its change on.
enum Base {
    /// The store's copy ([`Store::cached_copy`](crate::Store::cached_copy)), until the
    /// compare-and-swap confirms it.
    Copy(StoredResource),
    /// The resource as read from the store.
    Read(StoredResource),
}

/// How one turn of a compare-and-swap cycle ended.
enum Write {
    /// The new record is stored.
    Done(StoredResource),
    /// The request changes nothing in the record read.
    Unchanged,
    /// The stored version was no longer the one read.
    Lost,
    /// The store refused the write or failed (logged once).
    Failed(ScimError),
}

/// Whether two records hold the same resource (attributes and members).
///
/// When both carry attribute text, the texts are compared: text in a record is what
/// [`StoredResource::from_engine`] serialized (compact, keys sorted) and a store keeps it
/// verbatim, so equal objects have equal texts, and comparing them spares parsing the
/// stored text a second time on every write. (Text that differs only in form, which the
/// store contract rules out, would at worst cost a write that changes nothing.)
fn same_content(a: &StoredResource, b: &StoredResource) -> Result<bool, ScimError> {
    if a.members() != b.members() {
        return Ok(false);
    }
    if let (Some(a), Some(b)) = (a.text(), b.text()) {
        return Ok(a == b);
    }
    let internal =
        |e: StoreError| ScimError::Internal(format!("a stored resource is not JSON: {e}"));
    Ok(a.attributes().map_err(internal)? == b.attributes().map_err(internal)?)
}

impl ScimEngine {
    /// Whether a record of `view` is a protected account (see
    /// [`ProtectedAccounts`](super::ProtectedAccounts)).
    pub(crate) fn is_protected(&self, view: &ResourceTypeView, record: &StoredResource) -> bool {
        if !is_user(view) {
            return false;
        }
        let protected = &self.inner.config.protected;
        if protected.ids.iter().any(|p| p == record.id()) {
            return true;
        }
        if protected.user_names.is_empty() {
            return false;
        }
        record.attributes().is_ok_and(|attrs| {
            attrs
                .get("userName")
                .and_then(Value::as_str)
                .is_some_and(|name| self.is_protected_name(name))
        })
    }

    fn is_protected_name(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        self.inner
            .config
            .protected
            .user_names
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name) || p.to_lowercase() == lower)
    }

    /// Refuses a resource with a string value over
    /// [`RequestLimits::max_string_bytes`](crate::RequestLimits) (400 `invalidValue`,
    /// naming the attribute), before anything is written.
    fn within_limits(&self, resource: &Resource) -> Result<(), ScimError> {
        let max = self.inner.config.limits.max_string_bytes;
        for (name, value) in resource.attributes() {
            if let Some(len) = longest_string_over(value, max) {
                return Err(ScimError::InvalidValue(format!(
                    "a value of `{name}` is {len} bytes long; this service accepts strings of \
                     at most {max} bytes"
                )));
            }
        }
        Ok(())
    }

    /// Refuses a PATCH request over the [`RequestLimits`](crate::RequestLimits): too many
    /// operations or `members` in one operation (413), a member id over the string limit
    /// (400 `invalidValue`).
    fn patch_within_limits(&self, request: &PatchRequest) -> Result<(), ScimError> {
        let limits = &self.inner.config.limits;
        if request.operations.len() > limits.max_patch_operations {
            return Err(ScimError::PayloadTooLarge(format!(
                "the PATCH request has {} operations; this service accepts at most {} per \
                 request (RFC 7644 §3.5.2): send them in several requests",
                request.operations.len(),
                limits.max_patch_operations
            )));
        }
        for (i, operation) in request.operations.iter().enumerate() {
            let members = operation_members(operation);
            if members.len() > limits.max_members_per_operation {
                return Err(ScimError::PayloadTooLarge(format!(
                    "Operations[{i}] carries {} members; this service accepts at most {} per \
                     operation: split them over several operations or requests",
                    members.len(),
                    limits.max_members_per_operation
                )));
            }
            if let Some(len) = members
                .iter()
                .find_map(|m| longest_string_over(m, limits.max_string_bytes))
            {
                return Err(ScimError::InvalidValue(format!(
                    "Operations[{i}]: a member value is {len} bytes long; this service accepts \
                     strings of at most {} bytes",
                    limits.max_string_bytes
                )));
            }
        }
        Ok(())
    }

    fn reserved(&self, view: &ResourceTypeView, resource: &Resource) -> Result<(), ScimError> {
        if is_user(view)
            && resource
                .get("userName")
                .and_then(Value::as_str)
                .is_some_and(|n| self.is_protected_name(n))
        {
            return Err(ScimError::Uniqueness(
                "the userName is already in use (RFC 7643 §4.1.1)".into(),
            ));
        }
        Ok(())
    }

    /// The record, if it exists and is visible (not protected); else 404.
    pub(crate) async fn load(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        operation: &'static str,
    ) -> Result<StoredResource, ScimError> {
        if is_user(view) && self.inner.config.protected.ids.iter().any(|p| p == id) {
            return Err(not_found(view, id));
        }
        match self.inner.store.get(ctx, view, id).await {
            Ok(Some(r)) if !self.is_protected(view, &r) => Ok(r),
            Ok(_) => Err(not_found(view, id)),
            Err(err) => Err(self.store_failure(ctx, operation, view, Some(id), err)),
        }
    }

    /// The Groups resource type whose memberships make a User's `groups` (RFC 7643 §4.1.2).
    pub(crate) fn group_type(&self) -> Option<&ResourceTypeView> {
        self.inner
            .registry
            .resource_types()
            .find(|v| v.has_members())
    }

    /// The derived `groups` of each record (RFC 7643 §4.1.2), sorted by Group id; empty
    /// lists when `view` derives none or the projection leaves `groups` out. Groups a store
    /// attached to a record are used as they are; the others come from one
    /// [`Store::memberships`](crate::Store::memberships) call.
    pub(crate) async fn groups_of(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        records: &[&StoredResource],
        projection: &Projection,
        operation: &'static str,
    ) -> Result<Vec<Vec<Membership>>, ScimError> {
        if !view.derives_groups() || !projection.emits("groups") || records.is_empty() {
            return Ok(vec![Vec::new(); records.len()]);
        }
        let Some(groups) = self.group_type() else {
            return Ok(vec![Vec::new(); records.len()]);
        };
        let mut out: Vec<Vec<Membership>> = records
            .iter()
            .map(|r| r.groups().map(<[Membership]>::to_vec).unwrap_or_default())
            .collect();
        let missing: Vec<&str> = records
            .iter()
            .filter(|r| r.groups().is_none())
            .map(|r| r.id())
            .collect();
        if !missing.is_empty() {
            let found = self
                .inner
                .store
                .memberships(ctx, groups, &missing)
                .await
                .map_err(|err| self.store_failure(ctx, operation, view, None, err))?;
            for membership in found {
                if let Some(i) = records
                    .iter()
                    .position(|r| r.groups().is_none() && r.id() == membership.member)
                {
                    out[i].push(membership);
                }
            }
        }
        for list in &mut out {
            list.sort_by(|a, b| a.group.cmp(&b.group));
            list.dedup_by(|a, b| a.group == b.group);
        }
        Ok(out)
    }

    /// Renders one record with its derived `groups`.
    async fn render_one(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        record: &StoredResource,
        projection: &Projection,
        operation: &'static str,
    ) -> Result<Vec<u8>, ScimError> {
        let groups = self
            .groups_of(ctx, view, &[record], projection, operation)
            .await?;
        let derived = Derived {
            groups: groups.first().map(Vec::as_slice),
        };
        Renderer::new(self, ctx, view, projection)?.render(record, derived)
    }

    /// `GET /{endpoint}/{id}` (RFC 7644 §3.4.1) with `If-None-Match` (§3.14).
    pub(crate) async fn get_one(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        op: &Operation<'_>,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let record = self.load(ctx, view, id, "get").await?;
        let version = record.version();
        if op.if_none_match.is_some_and(|h| etag_matches(h, version)) {
            return Ok(no_content(Some(version)).with_status(304));
        }
        let body = self
            .render_one(ctx, view, &record, &projection, "get")
            .await?;
        Ok(single(200, body, version, None))
    }

    /// `POST /{endpoint}` (RFC 7644 §3.3).
    pub(crate) async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        op: &mut Operation<'_>,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let body = op.body.take().ok_or_else(|| missing_body("POST"))?;
        let resource = Resource::from_client(view, body, self.tolerances(ctx))?;
        self.reserved(view, &resource)?;
        self.within_limits(&resource)?;
        let lookup = unique_filter(view, &resource);
        let id = (self.inner.ids)();
        let record = to_record(view, resource, &id, ResourceMeta::created_at(ctx.now))?;
        match self.inner.store.create(ctx, view, &record).await {
            Ok(()) => {
                let location = meta::location(&ctx.base_url, view, record.id());
                // A new resource is in no Group yet: no `groups` to derive.
                let body = Renderer::new(self, ctx, view, &projection)?
                    .render(&record, Derived::default())?;
                let mut outcome = single(201, body, record.version(), Some(location));
                outcome.resource_id = Some(record.id().to_owned());
                Ok(outcome)
            }
            Err(StoreError::Uniqueness(detail)) => {
                if self.inner.config.duplicate_policy == DuplicatePolicy::ReturnExisting {
                    if let Some(filter) = lookup {
                        let filter = ResolvedFilter::resolve(&filter, view)?;
                        let page = self
                            .run_query(
                                ctx,
                                view,
                                Some(&filter),
                                None,
                                Page::Offset {
                                    offset: 0,
                                    limit: 1,
                                },
                                true,
                            )
                            .await?;
                        if let Some(existing) = page.resources.first() {
                            if !self.is_protected(view, existing) {
                                let location = meta::location(&ctx.base_url, view, existing.id());
                                let body = self
                                    .render_one(ctx, view, existing, &projection, "create")
                                    .await?;
                                let mut outcome =
                                    single(200, body, existing.version(), Some(location));
                                outcome.resource_id = Some(existing.id().to_owned());
                                return Ok(outcome);
                            }
                        }
                    }
                }
                Err(ScimError::Uniqueness(detail))
            }
            Err(err) => Err(self.store_failure(ctx, "create", view, Some(record.id()), err)),
        }
    }

    /// `PUT /{endpoint}/{id}` (RFC 7644 §3.5.1).
    pub(crate) async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        op: &mut Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let body = op.body.take().ok_or_else(|| missing_body("PUT"))?;
        let replacement = Resource::from_client(view, body, self.tolerances(ctx))?;
        let record = self
            .read_modify_write(ctx, view, id, op.if_match, "replace", |current| {
                let existing = to_resource(current)?;
                replacement.check_replace(&existing, view)?;
                let new = replacement.clone().keep_server_owned(&existing, view);
                self.reserved(view, &new)?;
                self.within_limits(&new)?;
                to_record(view, new, id, current.meta().changed_at(ctx.now)).map(Some)
            })
            .await?;
        self.written(ctx, view, &record, &projection, pending, "replace")
            .await
    }

    /// The compare-and-swap cycle of PUT and PATCH (RFC 7644 §3.5.1, §3.5.2, §3.14):
    /// reads the resource, checks `If-Match`, computes the new record with `change`
    /// (`None`: the request changes nothing) and replaces the stored one if it still has
    /// the version read. Answers the record as it now stands: the written one, or the one
    /// read when nothing changed.
    ///
    /// The first read may be the store's [`cached_copy`](crate::Store::cached_copy). A
    /// copy is trusted only when the compare-and-swap confirms it; on any other outcome the
    /// cycle reads the resource with `get` and starts over, so a stale copy never shows in
    /// an answer. A lost race is retried (412 under `If-Match`).
    async fn read_modify_write(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        if_match: Option<&str>,
        operation: &'static str,
        change: impl Fn(&StoredResource) -> Result<Option<StoredResource>, ScimError>,
    ) -> Result<StoredResource, ScimError> {
        // The store's copy, unless it is hidden from SCIM clients (a protected account).
        let mut copy = self
            .inner
            .store
            .cached_copy(ctx, view, id)
            .filter(|copy| copy.id() == id && !self.is_protected(view, copy));
        let mut attempt = 0;
        loop {
            let base = match copy.take() {
                Some(record) => Base::Copy(record),
                None => Base::Read(self.load(ctx, view, id, operation).await?),
            };
            let step = self
                .write_once(ctx, view, if_match, operation, &base, &change)
                .await;
            match (step, base) {
                (Ok(Write::Done(record)), _) => return Ok(record),
                (Ok(Write::Failed(err)), _) => return Err(err),
                (Ok(Write::Unchanged), Base::Read(current)) => return Ok(current),
                (Ok(Write::Lost), Base::Read(_)) => {
                    self.lost_race(if_match.is_some(), &mut attempt)?
                }
                (Err(err), Base::Read(_)) => return Err(err),
                // The copy was not confirmed: read the resource and start over.
                (_, Base::Copy(_)) => {}
            }
        }
    }

    /// One turn of [`read_modify_write`](Self::read_modify_write) on `base`.
    async fn write_once(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        if_match: Option<&str>,
        operation: &'static str,
        base: &Base,
        change: &impl Fn(&StoredResource) -> Result<Option<StoredResource>, ScimError>,
    ) -> Result<Write, ScimError> {
        let (Base::Copy(current) | Base::Read(current)) = base;
        let from_copy = matches!(base, Base::Copy(_));
        if if_match.is_some_and(|h| !etag_matches(h, current.version())) {
            return Err(precondition_failed());
        }
        let Some(record) = change(current)? else {
            return Ok(Write::Unchanged);
        };
        // A User's groups do not change with its attributes; a copy's may be out of date.
        let record = if from_copy {
            record
        } else {
            record.with_groups_of(current)
        };
        if same_content(&record, current)? {
            return Ok(Write::Unchanged);
        }
        let id = record.id();
        match self
            .inner
            .store
            .replace(ctx, view, &record, current.version())
            .await
        {
            Ok(Replaced {
                groups: Some(groups),
                ..
            }) => Ok(Write::Done(record.with_groups(groups))),
            Ok(_) => Ok(Write::Done(record)),
            Err(StoreError::VersionMismatch) => Ok(Write::Lost),
            Err(StoreError::NotFound(_)) if from_copy => Ok(Write::Lost),
            // The write was refused on its merits (a taken unique value) or the store
            // failed: final, whatever the base was.
            Err(err) => Ok(Write::Failed(self.store_failure(
                ctx,
                operation,
                view,
                Some(id),
                err,
            ))),
        }
    }

    /// After losing a compare-and-swap: 412 with `If-Match`, else retry until the budget
    /// is spent (then 409).
    fn lost_race(&self, had_if_match: bool, attempt: &mut usize) -> Result<(), ScimError> {
        if had_if_match {
            return Err(precondition_failed());
        }
        *attempt += 1;
        if *attempt > self.inner.config.max_write_retries {
            return Err(ScimError::Conflict(format!(
                "the resource kept changing concurrently; gave up after {} attempts, retry later",
                *attempt
            )));
        }
        Ok(())
    }

    /// Whether a record is a User left inactive (RFC 7643 §4.1.1 `active`).
    fn is_inactive(&self, view: &ResourceTypeView, record: &StoredResource) -> bool {
        is_user(view)
            && record
                .attributes()
                .is_ok_and(|a| a.get("active") == Some(&Value::Bool(false)))
    }

    /// 200 with the written (or unchanged) resource; queues revocation when a User is
    /// left inactive.
    async fn written(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        record: &StoredResource,
        projection: &Projection,
        pending: &mut PendingRevocations,
        operation: &'static str,
    ) -> Result<Outcome, ScimError> {
        if self.is_inactive(view, record) {
            pending.deactivated.push(record.id().to_owned());
        }
        let body = self
            .render_one(ctx, view, record, projection, operation)
            .await?;
        Ok(single(200, body, record.version(), None))
    }

    /// `PATCH /{endpoint}/{id}` (RFC 7644 §3.5.2).
    pub(crate) async fn modify(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        op: &Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let tolerances = self.tolerances(ctx);
        let body = op.body.as_ref().ok_or_else(|| missing_body("PATCH"))?;
        let request = PatchRequest::from_json(body, tolerances)?;
        self.patch_within_limits(&request)?;

        if let Some(change) = self.membership_change(ctx, view, &request)? {
            let version = self
                .change_members(ctx, view, id, &change, op.if_match)
                .await?;
            if params.has_projection() {
                let record = self.load(ctx, view, id, "patch").await?;
                let body = self
                    .render_one(ctx, view, &record, &projection, "patch")
                    .await?;
                return Ok(single(200, body, record.version(), None));
            }
            return Ok(no_content(Some(version)));
        }

        let record = self
            .read_modify_write(ctx, view, id, op.if_match, "patch", |current| {
                let mut resource = to_resource(current)?;
                if !patch_resource(view, &mut resource, &request, tolerances)? {
                    return Ok(None);
                }
                self.reserved(view, &resource)?;
                self.within_limits(&resource)?;
                let meta = current.meta().changed_at(ctx.now);
                to_record(view, resource, id, meta).map(Some)
            })
            .await?;
        self.written(ctx, view, &record, &projection, pending, "patch")
            .await
    }

    /// Applies a membership change (RFC 7644 §3.5.2) under `If-Match`: through
    /// [`Store::modify_members`](crate::store::Store::modify_members), or, when the store
    /// does not offer it, by read-modify-write. Answers the Group's version after it.
    async fn change_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        change: &MembershipChange,
        if_match: Option<&str>,
    ) -> Result<Version, ScimError> {
        // The version the store must find: from a single entity tag when the header is
        // one; otherwise the current version, once the header was compared with it.
        let expected = match if_match.map(str::trim) {
            None | Some("*") => None,
            Some(header) => match (header.contains(','), Version::from_etag(header)) {
                (false, Some(version)) => Some(version),
                _ => {
                    let current = self.load(ctx, view, id, "patch").await?;
                    if !etag_matches(header, current.version()) {
                        return Err(precondition_failed());
                    }
                    Some(current.version())
                }
            },
        };
        let store = &self.inner.store;
        match store.modify_members(ctx, view, id, change, expected).await {
            Ok(outcome) => return Ok(outcome.meta.version),
            Err(StoreError::Unsupported(_)) => {}
            Err(StoreError::VersionMismatch) => return Err(precondition_failed()),
            Err(err) => return Err(self.store_failure(ctx, "patch", view, Some(id), err)),
        }
        let mut attempt = 0;
        loop {
            let current = self.load(ctx, view, id, "patch").await?;
            if expected.is_some_and(|v| v != current.version()) {
                return Err(precondition_failed());
            }
            let mut members = current.members().to_vec();
            if !change.apply_to(&mut members) {
                return Ok(current.version());
            }
            let record = current
                .clone()
                .with_members(members)
                .with_meta(current.meta().changed_at(ctx.now));
            match store.replace(ctx, view, &record, current.version()).await {
                Ok(_) => return Ok(record.version()),
                Err(StoreError::VersionMismatch) => {
                    self.lost_race(expected.is_some(), &mut attempt)?
                }
                Err(err) => return Err(self.store_failure(ctx, "patch", view, Some(id), err)),
            }
        }
    }

    /// The membership change when every operation only adds members or removes members by
    /// id, else `None` (the general PATCH path).
    fn membership_change(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        request: &PatchRequest,
    ) -> Result<Option<MembershipChange>, ScimError> {
        if !view.has_members() {
            return Ok(None);
        }
        let Some(def) = view.core_schema().attribute("members") else {
            return Ok(None);
        };
        if !def.multi_valued || def.attr_type != AttributeType::Complex {
            return Ok(None);
        }
        let tolerances = self.tolerances(ctx);
        let is_members = |p: &AttrPath| {
            p.sub_attr.is_none()
                && p.name.eq_ignore_ascii_case("members")
                && p.uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(&view.core_schema().id))
        };
        let mut change = MembershipChange::default();
        for (i, operation) in request.operations.iter().enumerate() {
            let path = operation.path.as_ref();
            match (operation.op, path) {
                (PatchOp::Add, Some(PatchPath::Attr(p))) if is_members(p) => {
                    let Some(value) = operation.value.clone() else {
                        return Ok(None);
                    };
                    // A path naming `members` may add one member alone (RFC 7644 §3.5.2.1).
                    let value = match value {
                        Value::Object(_) => Value::Array(vec![value]),
                        other => other,
                    };
                    let coerced = coerce_attribute(
                        def,
                        value,
                        tolerances,
                        &format!("Operations[{i}] members"),
                    )?;
                    if !push_members(&mut change.add, coerced) {
                        return Ok(None);
                    }
                }
                (PatchOp::Add, None) => {
                    let Some(Value::Object(obj)) = &operation.value else {
                        return Ok(None);
                    };
                    let mut entries = obj.iter();
                    let (Some((key, value)), None) = (entries.next(), entries.next()) else {
                        return Ok(None);
                    };
                    if !key.eq_ignore_ascii_case("members") {
                        return Ok(None);
                    }
                    let coerced = coerce_attribute(
                        def,
                        value.clone(),
                        tolerances,
                        &format!("Operations[{i}] members"),
                    )?;
                    if !push_members(&mut change.add, coerced) {
                        return Ok(None);
                    }
                }
                (
                    PatchOp::Remove,
                    Some(PatchPath::Value {
                        path: p,
                        filter,
                        sub_attr: None,
                    }),
                ) if is_members(p) => {
                    let Filter::Compare {
                        path: fp,
                        op: CompareOp::Eq,
                        value: CompValue::String(member),
                    } = filter
                    else {
                        return Ok(None);
                    };
                    if !(fp.uri.is_none()
                        && fp.sub_attr.is_none()
                        && fp.name.eq_ignore_ascii_case("value"))
                    {
                        return Ok(None);
                    }
                    change.remove.push(member.clone());
                }
                (PatchOp::Remove, Some(PatchPath::Attr(p)))
                    if is_members(p) && tolerances.entra_remove_members_by_value =>
                {
                    let items = match &operation.value {
                        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
                        Some(obj @ Value::Object(_)) => vec![obj.clone()],
                        _ => return Ok(None),
                    };
                    for item in items {
                        let Some(member) = item.get("value").and_then(Value::as_str) else {
                            return Ok(None);
                        };
                        change.remove.push(member.to_owned());
                    }
                }
                _ => return Ok(None),
            }
        }
        // Order matters when one id is both added and removed: leave it to the general path.
        let overlaps = change.add.iter().any(|m| change.remove.contains(&m.value));
        if overlaps || change.is_empty() {
            return Ok(None);
        }
        Ok(Some(change))
    }

    /// `DELETE /{endpoint}/{id}` (RFC 7644 §3.6) per [`DeletePolicy`].
    pub(crate) async fn remove(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        op: &Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let user = is_user(view);
        let protected = &self.inner.config.protected;
        if user && protected.ids.iter().any(|p| p == id) {
            return Err(not_found(view, id));
        }
        // Protected userNames need a look at the resource; so does If-Match (compared
        // weakly here, then passed to the store as the stored version).
        let mut expected = None;
        if (user && !protected.user_names.is_empty())
            || op.if_match.is_some_and(|h| h.trim() != "*")
        {
            let found = self
                .inner
                .store
                .get(ctx, view, id)
                .await
                .map_err(|err| self.store_failure(ctx, "delete", view, Some(id), err))?;
            match found {
                Some(record) if self.is_protected(view, &record) => {
                    return Err(not_found(view, id));
                }
                Some(record) => {
                    if op
                        .if_match
                        .is_some_and(|h| !etag_matches(h, record.version()))
                    {
                        return Err(precondition_failed());
                    }
                    if op.if_match.is_some() {
                        expected = Some(record.version());
                    }
                }
                None => {
                    // The IdP may be retrying a DELETE whose revocation failed.
                    if user {
                        pending.deleted.push(id.to_owned());
                    }
                    return Err(not_found(view, id));
                }
            }
        }
        if user && self.inner.config.delete_policy == DeletePolicy::Deactivate {
            return self
                .deactivate(ctx, view, id, op.if_match.is_some(), pending)
                .await;
        }
        match self.inner.store.delete(ctx, view, id, expected).await {
            Ok(()) => {
                if user {
                    pending.deleted.push(id.to_owned());
                }
                Ok(no_content(None))
            }
            Err(StoreError::NotFound(_)) => {
                // The IdP may be retrying a DELETE whose revocation failed: revoke again.
                if user {
                    pending.deleted.push(id.to_owned());
                }
                Err(not_found(view, id))
            }
            Err(StoreError::VersionMismatch) => Err(precondition_failed()),
            Err(err) => Err(self.store_failure(ctx, "delete", view, Some(id), err)),
        }
    }

    /// [`DeletePolicy::Deactivate`]: `active` = false through the CAS loop; revoked as
    /// deleted.
    async fn deactivate(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        had_if_match: bool,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let mut attempt = 0;
        loop {
            let current = match self.load(ctx, view, id, "delete").await {
                Ok(r) => r,
                Err(err) => {
                    pending.deleted.push(id.to_owned());
                    return Err(err);
                }
            };
            if self.is_inactive(view, &current) {
                pending.deleted.push(id.to_owned());
                return Ok(no_content(Some(current.version())));
            }
            let mut resource = to_resource(&current)?;
            resource
                .attributes_mut()
                .insert("active".into(), Value::Bool(false));
            let record = to_record(view, resource, id, current.meta().changed_at(ctx.now))?;
            match self
                .inner
                .store
                .replace(ctx, view, &record, current.version())
                .await
            {
                Ok(_) => {
                    pending.deleted.push(id.to_owned());
                    return Ok(no_content(Some(record.version())));
                }
                Err(StoreError::VersionMismatch) => self.lost_race(had_if_match, &mut attempt)?,
                Err(StoreError::NotFound(_)) => {
                    pending.deleted.push(id.to_owned());
                    return Err(not_found(view, id));
                }
                Err(err) => return Err(self.store_failure(ctx, "delete", view, Some(id), err)),
            }
        }
    }
}

/// Appends coerced member values; `false` when one lacks a string `value` (then the
/// general path decides).
fn push_members(out: &mut Vec<Member>, coerced: Value) -> bool {
    let items = match coerced {
        Value::Null => return true,
        Value::Array(items) => items,
        other => vec![other],
    };
    for item in items {
        match member_of_value(&item) {
            Some(member) => out.push(member),
            None => return false,
        }
    }
    true
}

/// An `eq` filter on the first `uniqueness: server|global` string attribute that `resource`
/// has (e.g. `userName`), to find the resource a colliding POST duplicates.
fn unique_filter(view: &ResourceTypeView, resource: &Resource) -> Option<Filter> {
    view.core_schema()
        .attributes
        .iter()
        .filter(|d| d.uniqueness != Uniqueness::None && !d.multi_valued)
        .find_map(|d| {
            let value = resource.get(&d.name)?.as_str()?;
            Some(Filter::Compare {
                path: AttrPath::new(d.name.clone()),
                op: CompareOp::Eq,
                value: CompValue::String(value.to_owned()),
            })
        })
}

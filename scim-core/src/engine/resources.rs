//! Single-resource operations: create, get, replace, modify, delete
//! (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.5.2, §3.6) with versions (§3.14).
//!
//! * Every read-modify-write is a compare-and-swap on `meta.version`; without `If-Match`
//!   a lost race is retried (up to [`EngineConfig::max_write_retries`]), so concurrent
//!   PATCHes never lose each other's changes; with `If-Match` it is a 412.
//! * PATCHes that only add or remove Group members go to
//!   [`Store::modify_members`](crate::store::Store::modify_members), whose cost does not
//!   depend on the group's size; they answer 204 unless `attributes` or
//!   `excludedAttributes` ask for the resource.
//! * Users left inactive (PATCH, PUT) or deleted are queued for token revocation, also
//!   when they already were inactive or were already gone (an IdP retry then completes
//!   a revocation that failed before).
//!
//! [`EngineConfig::max_write_retries`]: super::EngineConfig::max_write_retries

use super::list::QueryParams;
use super::{
    Body, DeletePolicy, DuplicatePolicy, Operation, Outcome, PendingRevocations, ScimEngine,
};
use crate::context::RequestContext;
use crate::error::ScimError;
use crate::meta;
use crate::patch::{PatchOp, PatchRequest, patch_resource};
use crate::projection::{Member, Projection, plain_json, raw_members};
use crate::resource::{Resource, coerce_attribute};
use crate::schema::{AttributeType, GROUP_SCHEMA, ResourceTypeView, USER_SCHEMA, Uniqueness};
use crate::store::{MembershipChange, Page, Query, StoreError, StoredJson, unquote};
use chrono::Utc;
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use serde_json::{Map, Value};

/// Whether `view` is the User resource type (RFC 7643 §4.1).
pub(crate) fn is_user(view: &ResourceTypeView) -> bool {
    view.core_schema().id.eq_ignore_ascii_case(USER_SCHEMA)
}

/// Whether an `If-Match` / `If-None-Match` header value matches `version`
/// (RFC 9110 §13.1.1, §13.1.2): `*`, or a comma-separated list compared weakly.
pub(crate) fn etag_matches(header: &str, version: &str) -> bool {
    let strip = |t: &str| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).to_owned()
    };
    let version = strip(version);
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || strip(t) == version)
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

fn not_found(view: &ResourceTypeView, id: &str) -> ScimError {
    ScimError::NotFound(format!("{} `{id}` not found", view.resource_type.name))
}

/// Sets a new `meta.version` and `meta.lastModified` after an in-place modification
/// (RFC 7643 §3.1), keeping `created`, `resourceType` and `location`.
fn restamp(resource: &mut Resource) {
    let version = meta::etag(resource);
    let now = meta::format_date_time(Utc::now());
    let attrs = resource.attributes_mut();
    let slot = attrs
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(m) = slot {
        m.insert("version".into(), Value::String(version));
        m.insert("lastModified".into(), Value::String(now));
    }
}

fn version_of(resource: &Resource) -> String {
    meta::version(resource).map_or_else(|| meta::etag(resource), str::to_owned)
}

/// Outcome of a single resource (200, 201).
fn single(status: u16, body: Body, version: String, location: Option<String>) -> Outcome {
    Outcome {
        status,
        body: Some(body),
        location,
        version: Some(version),
    }
}

fn no_content(version: Option<String>) -> Outcome {
    Outcome {
        status: 204,
        body: None,
        location: None,
        version,
    }
}

impl ScimEngine {
    /// Whether `resource` of `view` is a protected account (see
    /// [`ProtectedAccounts`](super::ProtectedAccounts)).
    pub(crate) fn is_protected(&self, view: &ResourceTypeView, resource: &Resource) -> bool {
        if !is_user(view) {
            return false;
        }
        let protected = &self.inner.config.protected;
        if resource
            .id()
            .is_some_and(|id| protected.ids.iter().any(|p| p == id))
        {
            return true;
        }
        resource
            .get("userName")
            .and_then(Value::as_str)
            .is_some_and(|name| self.is_protected_name(name))
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

    /// The resource, if it exists and is visible (not protected).
    async fn fetch_visible(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Resource, ScimError> {
        if is_user(view) && self.inner.config.protected.ids.iter().any(|p| p == id) {
            return Err(not_found(view, id));
        }
        match self.inner.store.get(ctx, view, id).await? {
            Some(r) if !self.is_protected(view, &r) => Ok(r),
            _ => Err(not_found(view, id)),
        }
    }

    /// A resource as the client sees it (RFC 7644 §3.4.1): `meta.location` under this
    /// request's base URL, `$ref` on `groups` and `members` elements, then projected;
    /// serialized.
    pub(crate) fn render(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
        projection: &Projection,
    ) -> Result<Body, ScimError> {
        let stored = StoredJson::from_resource(resource)?;
        self.render_stored(ctx, view, stored, projection)
    }

    /// [`render`](Self::render) from stored JSON text: members the projection keeps whole
    /// are copied as text, only `meta` (for `location`) and derived values are parsed.
    pub(crate) fn render_stored(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        stored: StoredJson,
        projection: &Projection,
    ) -> Result<Body, ScimError> {
        let mut out = Vec::with_capacity(stored.text.len() + 256);
        self.write_stored(ctx, view, stored, projection, &mut out)?;
        Ok(Body::Raw(out))
    }

    /// Writes a rendered resource to `out` (see [`render_stored`](Self::render_stored)).
    pub(crate) fn write_stored(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        stored: StoredJson,
        projection: &Projection,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        if stored.derived.is_empty() && projection.keeps_text(&stored.text) {
            if let Some((before, after, id)) = stored.layout.and_then(|layout| {
                let (before, after) = layout.around_location(&stored.text)?;
                Some((before, after, unquote(layout.id(&stored.text)?)?))
            }) {
                // Every member is copied as stored; only `meta.location` changes.
                out.extend_from_slice(before.as_bytes());
                write_location(out, &ctx.base_url, view, &id)?;
                out.extend_from_slice(after.as_bytes());
                return Ok(());
            }
        }
        let StoredJson {
            text, mut derived, ..
        } = stored;
        let Some(members) = raw_members(&text) else {
            // Not plain compact JSON (e.g. escaped keys): parse it.
            let mut map: Map<String, Value> = serde_json::from_str(&text)
                .map_err(|e| ScimError::Internal(format!("a stored resource is not JSON: {e}")))?;
            map.extend(derived);
            let mut resource = Resource::from_map(map);
            let meta_location = resource
                .id()
                .map(|id| meta::location(&ctx.base_url, view, id));
            let attrs = resource.attributes_mut();
            if let (Some(location), Some(Value::Object(m))) = (meta_location, attrs.get_mut("meta"))
            {
                m.insert("location".into(), Value::String(location));
            }
            let mut pairs: Vec<(String, Value)> = Vec::new();
            for key in ["groups", "members"] {
                if let Some(v) = attrs.remove(key) {
                    pairs.push((key.to_owned(), v));
                }
            }
            self.add_refs(ctx, view, &mut pairs);
            attrs.extend(pairs);
            serde_json::to_writer(&mut *out, &projection.to_json(&resource))
                .map_err(|e| ScimError::Internal(format!("serializing a response failed: {e}")))?;
            return Ok(());
        };
        let location =
            member_str(&members, "id").map(|id| meta::location(&ctx.base_url, view, &id));
        self.add_refs(ctx, view, &mut derived);
        derived.sort_by(|a, b| a.0.cmp(&b.0));
        let mut merged: Vec<(&str, Member<'_>)> = Vec::with_capacity(members.len() + derived.len());
        let mut extra = derived.iter().peekable();
        for (key, raw) in &members {
            while let Some((k, v)) = extra.next_if(|(k, _)| k.as_str() < *key) {
                merged.push((k.as_str(), Member::Value(v)));
            }
            if extra.peek().is_some_and(|(k, _)| k.as_str() == *key) {
                continue;
            }
            match (&location, *key == "meta") {
                (Some(location), true) => {
                    merged.push((key, Member::RawWith(raw, "location", location)));
                }
                _ => merged.push((key, Member::Raw(raw))),
            }
        }
        merged.extend(extra.map(|(k, v)| (k.as_str(), Member::Value(v))));
        projection
            .write_object(out, merged)
            .map_err(|e| ScimError::Internal(format!("serializing a response failed: {e}")))
    }

    /// Adds `$ref` to the elements of `groups` and `members` (RFC 7643 §4.1.2, §4.2).
    fn add_refs(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        derived: &mut [(String, Value)],
    ) {
        let base = ctx.base_url.as_str();
        let registry = &self.inner.registry;
        let has_ref = |attr: &str| {
            view.core_schema()
                .attribute(attr)
                .is_some_and(|d| d.sub_attribute("$ref").is_some())
        };
        for (key, value) in derived.iter_mut() {
            let Value::Array(items) = value else {
                continue;
            };
            if key == "groups" && has_ref("groups") {
                let Some(group_view) = registry
                    .resource_types()
                    .find(|v| v.core_schema().id.eq_ignore_ascii_case(GROUP_SCHEMA))
                else {
                    continue;
                };
                for item in items {
                    add_ref(item, |_| Some(group_view), base);
                }
            } else if key == "members" && has_ref("members") {
                let users = registry
                    .resource_types()
                    .find(|v| v.core_schema().id.eq_ignore_ascii_case(USER_SCHEMA));
                let groups = registry
                    .resource_types()
                    .find(|v| v.core_schema().id.eq_ignore_ascii_case(GROUP_SCHEMA));
                for item in items {
                    add_ref(
                        item,
                        |kind| match kind {
                            Some(k) if k.eq_ignore_ascii_case("Group") => groups,
                            _ => users,
                        },
                        base,
                    );
                }
            }
        }
    }

    /// The resource as stored JSON, if it exists and is visible (not protected), with its
    /// version (`meta.version`).
    async fn fetch_visible_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<(StoredJson, String), ScimError> {
        let protected = &self.inner.config.protected;
        if is_user(view) && protected.ids.iter().any(|p| p == id) {
            return Err(not_found(view, id));
        }
        let Some(stored) = self.inner.store.get_json(ctx, view, id).await? else {
            return Err(not_found(view, id));
        };
        let unprotected =
            !is_user(view) || (protected.ids.is_empty() && protected.user_names.is_empty());
        if unprotected {
            if let Some(version) = stored
                .layout
                .and_then(|l| l.version(&stored.text))
                .and_then(unquote)
            {
                let version = version.into_owned();
                return Ok((stored, version));
            }
        }
        let members = raw_members(&stored.text);
        let quick = members.as_ref().and_then(|m| {
            let version = m
                .iter()
                .find(|(k, _)| *k == "meta")
                .and_then(|(_, raw)| serde_json::from_str::<MetaVersion>(raw.get()).ok())?
                .version?;
            let visible = !is_user(view)
                || (protected.ids.is_empty() && protected.user_names.is_empty())
                || !(member_str(m, "id").is_some_and(|i| protected.ids.contains(&i))
                    || member_str(m, "userName").is_some_and(|n| self.is_protected_name(&n)));
            Some((visible, version))
        });
        match quick {
            Some((true, version)) => Ok((stored, version)),
            Some((false, _)) => Err(not_found(view, id)),
            None => {
                // Unusual text or no stored version: the general way.
                let map: Map<String, Value> = serde_json::from_str(&stored.text).map_err(|e| {
                    ScimError::Internal(format!("a stored resource is not JSON: {e}"))
                })?;
                let resource = Resource::from_map(map);
                if self.is_protected(view, &resource) {
                    return Err(not_found(view, id));
                }
                Ok((stored, version_of(&resource)))
            }
        }
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
        let (stored, version) = self.fetch_visible_json(ctx, view, id).await?;
        if op.if_none_match.is_some_and(|h| etag_matches(h, &version)) {
            return Ok(Outcome {
                status: 304,
                body: None,
                location: None,
                version: Some(version),
            });
        }
        Ok(single(
            200,
            self.render_stored(ctx, view, stored, &projection)?,
            version,
            None,
        ))
    }

    /// `POST /{endpoint}` (RFC 7644 §3.3).
    pub(crate) async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        op: Operation<'_>,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let body = op.body.ok_or_else(|| missing_body("POST"))?;
        let mut resource = Resource::from_client(view, body, &self.inner.config.tolerances)?;
        self.reserved(view, &resource)?;
        let lookup = unique_filter(view, &resource);
        resource.set_id(uuid::Uuid::new_v4().to_string());
        meta::stamp_created(&mut resource, view, &ctx.base_url, Utc::now())?;
        // The store keeps the resource as given, with this id.
        let location = resource
            .id()
            .map(|id| meta::location(&ctx.base_url, view, id));
        match self.inner.store.create_json(ctx, view, resource).await {
            Ok(created) => {
                let version = stored_version(&created)?;
                let body = self.render_stored(ctx, view, created, &projection)?;
                Ok(single(201, body, version, location))
            }
            Err(StoreError::Uniqueness(detail)) => {
                if self.inner.config.duplicate_policy == DuplicatePolicy::ReturnExisting {
                    if let Some(filter) = lookup {
                        let query = Query {
                            view,
                            filter: Some(&filter),
                            sort: None,
                            page: Page::Index {
                                start_index: 1,
                                count: 1,
                            },
                        };
                        let page = self.inner.store.query(ctx, &query).await?;
                        if let Some(existing) = page.resources.into_iter().next() {
                            if !self.is_protected(view, &existing) {
                                let version = version_of(&existing);
                                let location = existing
                                    .id()
                                    .map(|id| meta::location(&ctx.base_url, view, id));
                                let body = self.render(ctx, view, existing, &projection)?;
                                return Ok(single(200, body, version, location));
                            }
                        }
                    }
                }
                Err(ScimError::Uniqueness(detail))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// `PUT /{endpoint}/{id}` (RFC 7644 §3.5.1).
    pub(crate) async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        op: Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let body = op.body.ok_or_else(|| missing_body("PUT"))?;
        let replacement = Resource::from_client(view, body, &self.inner.config.tolerances)?;
        let mut attempt = 0;
        loop {
            let existing = self.fetch_visible(ctx, view, id).await?;
            let expected = version_of(&existing);
            if op.if_match.is_some_and(|h| !etag_matches(h, &expected)) {
                return Err(precondition_failed());
            }
            replacement.check_replace(&existing, view)?;
            let mut new = replacement.clone().keep_server_owned(&existing, view);
            self.reserved(view, &new)?;
            meta::stamp_modified(&mut new, &existing, Utc::now());
            let inactive = self.left_inactive(view, &new);
            match self
                .inner
                .store
                .replace_json(ctx, view, new, &expected)
                .await
            {
                Ok(stored) => {
                    return self.written_json(ctx, view, stored, inactive, &projection, pending);
                }
                Err(StoreError::VersionMismatch) => {
                    self.lost_race(op.if_match.is_some(), &mut attempt)?;
                }
                Err(StoreError::NotFound(_)) => return Err(not_found(view, id)),
                Err(err) => return Err(err.into()),
            }
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

    /// 200 with a written resource; queues revocation when a User is left inactive.
    fn written(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        stored: Resource,
        projection: &Projection,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        self.queue_if_inactive(view, &stored, pending);
        let version = version_of(&stored);
        let body = self.render(ctx, view, stored, projection)?;
        Ok(single(200, body, version, None))
    }

    /// The id of a User that `resource` leaves inactive (to queue for revocation).
    fn left_inactive(&self, view: &ResourceTypeView, resource: &Resource) -> Option<String> {
        if is_user(view) && resource.get("active") == Some(&Value::Bool(false)) {
            resource.id().map(str::to_owned)
        } else {
            None
        }
    }

    /// [`written`](Self::written) from the stored JSON of a resource the engine handed to
    /// the store (which keeps it as given); `inactive` is [`left_inactive`](Self::left_inactive)
    /// of that resource.
    fn written_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        stored: StoredJson,
        inactive: Option<String>,
        projection: &Projection,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        pending.deactivated.extend(inactive);
        let version = stored_version(&stored)?;
        let body = self.render_stored(ctx, view, stored, projection)?;
        Ok(single(200, body, version, None))
    }

    fn queue_if_inactive(
        &self,
        view: &ResourceTypeView,
        resource: &Resource,
        pending: &mut PendingRevocations,
    ) {
        if is_user(view) && resource.get("active") == Some(&Value::Bool(false)) {
            if let Some(id) = resource.id() {
                pending.deactivated.push(id.to_owned());
            }
        }
    }

    /// `PATCH /{endpoint}/{id}` (RFC 7644 §3.5.2).
    pub(crate) async fn modify(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        op: Operation<'_>,
        pending: &mut PendingRevocations,
    ) -> Result<Outcome, ScimError> {
        let params = QueryParams::parse(op.query)?;
        let projection = self.projection(view, &params)?;
        let tolerances = &self.inner.config.tolerances;
        let body = op.body.as_ref().ok_or_else(|| missing_body("PATCH"))?;
        let request = PatchRequest::from_json(body, tolerances)?;

        let single_if_match = op.if_match.map(str::trim).filter(|h| !h.contains(','));
        if op.if_match.is_none() || single_if_match.is_some() {
            if let Some(change) = self.membership_change(view, &request)? {
                let expected = single_if_match.filter(|h| *h != "*");
                let outcome = self
                    .inner
                    .store
                    .modify_members(ctx, view, id, &change, expected)
                    .await
                    .map_err(|err| match err {
                        StoreError::NotFound(_) => not_found(view, id),
                        other => other.into(),
                    })?;
                if params.has_projection() {
                    let resource = self.fetch_visible(ctx, view, id).await?;
                    let version = version_of(&resource);
                    let body = self.render(ctx, view, resource, &projection)?;
                    return Ok(single(200, body, version, None));
                }
                return Ok(no_content(Some(outcome.version)));
            }
        }

        let mut attempt = 0;
        loop {
            let mut resource = self.fetch_visible(ctx, view, id).await?;
            let expected = version_of(&resource);
            if op.if_match.is_some_and(|h| !etag_matches(h, &expected)) {
                return Err(precondition_failed());
            }
            let changed = patch_resource(view, &mut resource, &request, tolerances)?;
            if !changed {
                return self.written(ctx, view, resource, &projection, pending);
            }
            self.reserved(view, &resource)?;
            restamp(&mut resource);
            let inactive = self.left_inactive(view, &resource);
            match self
                .inner
                .store
                .replace_json(ctx, view, resource, &expected)
                .await
            {
                Ok(stored) => {
                    return self.written_json(ctx, view, stored, inactive, &projection, pending);
                }
                Err(StoreError::VersionMismatch) => {
                    self.lost_race(op.if_match.is_some(), &mut attempt)?;
                }
                Err(StoreError::NotFound(_)) => return Err(not_found(view, id)),
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// The membership change when every operation only adds members or removes members by
    /// id (the fast path), else `None`.
    fn membership_change(
        &self,
        view: &ResourceTypeView,
        request: &PatchRequest,
    ) -> Result<Option<MembershipChange>, ScimError> {
        let Some(def) = view.core_schema().attribute("members") else {
            return Ok(None);
        };
        if !def.multi_valued || def.attr_type != AttributeType::Complex {
            return Ok(None);
        }
        let tolerances = &self.inner.config.tolerances;
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
        let overlaps = change.add.iter().any(|m| {
            m.get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| change.remove.iter().any(|r| r == v))
        });
        if overlaps || (change.add.is_empty() && change.remove.is_empty()) {
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
        op: Operation<'_>,
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
            match self.inner.store.get(ctx, view, id).await? {
                Some(r) if self.is_protected(view, &r) => return Err(not_found(view, id)),
                Some(r) => {
                    let version = version_of(&r);
                    if op.if_match.is_some_and(|h| !etag_matches(h, &version)) {
                        return Err(precondition_failed());
                    }
                    if op.if_match.is_some() {
                        expected = Some(version);
                    }
                }
                None => {
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
        match self
            .inner
            .store
            .delete(ctx, view, id, expected.as_deref())
            .await
        {
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
            Err(err) => Err(err.into()),
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
            let mut resource = match self.fetch_visible(ctx, view, id).await {
                Ok(r) => r,
                Err(err) => {
                    pending.deleted.push(id.to_owned());
                    return Err(err);
                }
            };
            let expected = version_of(&resource);
            if resource.get("active") == Some(&Value::Bool(false)) {
                pending.deleted.push(id.to_owned());
                return Ok(no_content(Some(expected)));
            }
            resource
                .attributes_mut()
                .insert("active".into(), Value::Bool(false));
            restamp(&mut resource);
            match self
                .inner
                .store
                .replace(ctx, view, resource, &expected)
                .await
            {
                Ok(stored) => {
                    pending.deleted.push(id.to_owned());
                    return Ok(no_content(Some(version_of(&stored))));
                }
                Err(StoreError::VersionMismatch) => self.lost_race(had_if_match, &mut attempt)?,
                Err(StoreError::NotFound(_)) => {
                    pending.deleted.push(id.to_owned());
                    return Err(not_found(view, id));
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// Appends coerced member values; `false` when one lacks a string `value` (then the
/// general path decides).
fn push_members(out: &mut Vec<Value>, coerced: Value) -> bool {
    let items = match coerced {
        Value::Null => return true,
        Value::Array(items) => items,
        other => vec![other],
    };
    for item in items {
        if item.get("value").and_then(Value::as_str).is_none() {
            return false;
        }
        out.push(item);
    }
    true
}

/// Adds `$ref` (RFC 7643 §2.3.7) to a `groups`/`members` element that has a `value` and
/// lacks one; `target` picks the resource type from the element's `type`.
fn add_ref<'v>(
    item: &mut Value,
    target: impl Fn(Option<&str>) -> Option<&'v ResourceTypeView>,
    base: &str,
) {
    let Value::Object(obj) = item else {
        return;
    };
    if obj.contains_key("$ref") {
        return;
    }
    let Some(id) = obj.get("value").and_then(Value::as_str) else {
        return;
    };
    let Some(view) = target(obj.get("type").and_then(Value::as_str)) else {
        return;
    };
    let reference = meta::location(base, view, id);
    obj.insert("$ref".into(), Value::String(reference));
}

/// Writes [`meta::location`] as a JSON string (copied when nothing needs escaping).
fn write_location(
    out: &mut Vec<u8>,
    base_url: &str,
    view: &ResourceTypeView,
    id: &str,
) -> Result<(), ScimError> {
    let base = base_url.trim_end_matches('/');
    let endpoint = view.resource_type.endpoint.trim_matches('/');
    if plain_json(base) && plain_json(endpoint) && plain_json(id) {
        for part in [r#"""#, base, "/", endpoint, "/", id, r#"""#] {
            out.extend_from_slice(part.as_bytes());
        }
        return Ok(());
    }
    serde_json::to_writer(&mut *out, &meta::location(base_url, view, id))
        .map_err(|e| ScimError::Internal(format!("serializing a response failed: {e}")))
}

/// A top-level string member of raw JSON members, parsed.
pub(crate) fn member_str(
    members: &[(&str, &serde_json::value::RawValue)],
    key: &str,
) -> Option<String> {
    let (_, raw) = members.iter().find(|(k, _)| *k == key)?;
    serde_json::from_str::<String>(raw.get()).ok()
}

/// The `meta.version` of stored JSON (as [`version_of`] the resource it stands for).
fn stored_version(stored: &StoredJson) -> Result<String, ScimError> {
    if let Some(version) = stored
        .layout
        .and_then(|l| l.version(&stored.text))
        .and_then(unquote)
    {
        return Ok(version.into_owned());
    }
    let quick = raw_members(&stored.text).and_then(|m| {
        let (_, raw) = m.iter().find(|(k, _)| *k == "meta")?;
        serde_json::from_str::<MetaVersion>(raw.get()).ok()?.version
    });
    if let Some(version) = quick {
        return Ok(version);
    }
    let mut map: Map<String, Value> = serde_json::from_str(&stored.text)
        .map_err(|e| ScimError::Internal(format!("a stored resource is not JSON: {e}")))?;
    map.extend(stored.derived.iter().cloned());
    Ok(version_of(&Resource::from_map(map)))
}

/// Only `meta.version` of a `meta` object.
#[derive(serde::Deserialize)]
struct MetaVersion {
    version: Option<String>,
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

//! Rendering a [`StoredResource`] as the client sees it (RFC 7644 §3.4.1, RFC 7643 §3.1):
//! one writer for every response that carries resources.
//!
//! The members come in a fixed order: `id`, the stored attributes (as stored: keys sorted),
//! Group `members` or a User's derived `groups` (each element with its `$ref`), then `meta`
//! rendered from the store's [`ResourceMeta`](crate::store::ResourceMeta) with this
//! request's `location`. When the projection keeps everything whole and the attributes are
//! stored text, the text is copied without parsing.

use super::ScimEngine;
use crate::context::RequestContext;
use crate::error::ScimError;
use crate::meta;
use crate::projection::{Member as Field, Projection, plain_json, raw_members};
use crate::schema::{GROUP_SCHEMA, ResourceTypeView, USER_SCHEMA};
use crate::store::{Member, Membership, StoredResource};
use serde_json::{Map, Value};

/// What a rendered resource carries besides its record: a User's derived `groups`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Derived<'a> {
    /// `groups` (sorted by Group id), with the Group resource type for `$ref`.
    pub(crate) groups: Option<(&'a ResourceTypeView, &'a [Membership])>,
}

fn serialize_error(err: serde_json::Error) -> ScimError {
    ScimError::Internal(format!("serializing a response failed: {err}"))
}

/// Writes a JSON string (copied when nothing needs escaping).
fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), ScimError> {
    if plain_json(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, s).map_err(serialize_error)
    }
}

impl ScimEngine {
    /// The resource type a `members` element's `$ref` points into, by its `type`.
    fn member_target(&self, member_type: Option<&str>) -> Option<&ResourceTypeView> {
        let schema = match member_type {
            Some(t) if t.eq_ignore_ascii_case("Group") => GROUP_SCHEMA,
            _ => USER_SCHEMA,
        };
        self.inner
            .registry
            .resource_types()
            .find(|v| v.core_schema().id.eq_ignore_ascii_case(schema))
    }

    /// Whether elements of `attr` (`members`, `groups`) of `view` have a `$ref`.
    fn has_ref(view: &ResourceTypeView, attr: &str) -> bool {
        view.core_schema()
            .attribute(attr)
            .is_some_and(|d| d.sub_attribute("$ref").is_some())
    }

    /// Writes `members` (RFC 7643 §4.2) as a JSON array, each element's keys sorted.
    fn write_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        members: &[Member],
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        let with_ref = Self::has_ref(view, "members");
        out.push(b'[');
        for (i, member) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            if let Some(target) = with_ref
                .then(|| self.member_target(member.member_type.as_deref()))
                .flatten()
            {
                out.extend_from_slice(br#""$ref":"#);
                write_str(out, &meta::location(&ctx.base_url, target, &member.value))?;
                out.push(b',');
            }
            if let Some(display) = &member.display {
                out.extend_from_slice(br#""display":"#);
                write_str(out, display)?;
                out.push(b',');
            }
            if let Some(kind) = &member.member_type {
                out.extend_from_slice(br#""type":"#);
                write_str(out, kind)?;
                out.push(b',');
            }
            out.extend_from_slice(br#""value":"#);
            write_str(out, &member.value)?;
            out.push(b'}');
        }
        out.push(b']');
        Ok(())
    }

    /// Writes a User's `groups` (RFC 7643 §4.1.2) as a JSON array.
    fn write_groups(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        groups: (&ResourceTypeView, &[Membership]),
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        let with_ref = Self::has_ref(view, "groups");
        let (group_view, list) = groups;
        out.push(b'[');
        for (i, membership) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            if with_ref {
                out.extend_from_slice(br#""$ref":"#);
                write_str(
                    out,
                    &meta::location(&ctx.base_url, group_view, &membership.group),
                )?;
                out.push(b',');
            }
            if let Some(display) = &membership.display {
                out.extend_from_slice(br#""display":"#);
                write_str(out, display)?;
                out.push(b',');
            }
            out.extend_from_slice(br#""type":"direct","value":"#);
            write_str(out, &membership.group)?;
            out.push(b'}');
        }
        out.push(b']');
        Ok(())
    }

    /// Writes `meta` (RFC 7643 §3.1) with this request's `location`.
    fn write_meta(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        let m = resource.meta();
        out.extend_from_slice(br#"{"created":""#);
        out.extend_from_slice(meta::format_date_time(m.created).as_bytes());
        out.extend_from_slice(br#"","lastModified":""#);
        out.extend_from_slice(meta::format_date_time(m.last_modified).as_bytes());
        out.extend_from_slice(br#"","location":"#);
        write_str(out, &meta::location(&ctx.base_url, view, resource.id()))?;
        out.extend_from_slice(br#","resourceType":"#);
        write_str(out, &view.resource_type.name)?;
        out.extend_from_slice(br#","version":"W/\""#);
        out.extend_from_slice(m.version.get().to_string().as_bytes());
        out.extend_from_slice(br#"\""}"#);
        Ok(())
    }

    /// Writes a resource as the client sees it, projected (see the [module docs](self)).
    pub(crate) fn write_resource(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        derived: Derived<'_>,
        projection: &Projection,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        let relation = if view.has_members() {
            Some("members")
        } else if derived.groups.is_some() {
            Some("groups")
        } else {
            None
        };
        let has_relation = match relation {
            Some("members") => !resource.members().is_empty(),
            Some(_) => derived.groups.is_some_and(|(_, g)| !g.is_empty()),
            None => false,
        };
        if let Some(text) = resource.text() {
            let whole = projection.keeps_text(text)
                && projection.keeps_whole("meta")
                && (!has_relation || relation.is_some_and(|r| projection.keeps_whole(r)));
            if whole {
                out.extend_from_slice(br#"{"id":"#);
                write_str(out, resource.id())?;
                let inner = text
                    .get(1..text.len().saturating_sub(1))
                    .unwrap_or_default();
                if !inner.trim().is_empty() {
                    out.push(b',');
                    out.extend_from_slice(inner.as_bytes());
                }
                if has_relation {
                    self.write_relation(ctx, view, resource, derived, out)?;
                }
                out.extend_from_slice(br#","meta":"#);
                self.write_meta(ctx, view, resource, out)?;
                out.push(b'}');
                return Ok(());
            }
        }
        // The general path: every member through the projection.
        let id = Value::String(resource.id().to_owned());
        let relation_value = match (relation, has_relation) {
            (Some(key), true) => {
                let mut buf = Vec::new();
                self.write_relation_array(ctx, view, resource, derived, &mut buf)?;
                let value: Value = serde_json::from_slice(&buf).map_err(serialize_error)?;
                Some((key, value))
            }
            _ => None,
        };
        let mut meta_text = Vec::with_capacity(192);
        self.write_meta(ctx, view, resource, &mut meta_text)?;
        let meta_value: Value = serde_json::from_slice(&meta_text).map_err(serialize_error)?;
        let parsed: Map<String, Value>;
        let raw = resource.text().and_then(|t| raw_members(t));
        let mut fields: Vec<(&str, Field<'_>)> = Vec::with_capacity(24);
        fields.push(("id", Field::Value(&id)));
        match (&raw, resource.parsed()) {
            (Some(raw), _) => fields.extend(raw.iter().map(|(k, v)| (*k, Field::Raw(v)))),
            (None, Some(map)) => {
                fields.extend(map.iter().map(|(k, v)| (k.as_str(), Field::Value(v))))
            }
            (None, None) => {
                parsed = resource
                    .attributes()
                    .map_err(|e| {
                        ScimError::Internal(format!("a stored resource is not JSON: {e}"))
                    })?
                    .into_owned();
                fields.extend(parsed.iter().map(|(k, v)| (k.as_str(), Field::Value(v))));
            }
        }
        if let Some((key, value)) = &relation_value {
            fields.retain(|(k, _)| k != key);
            fields.push((key, Field::Value(value)));
        }
        fields.push(("meta", Field::Value(&meta_value)));
        projection
            .write_object(out, fields)
            .map_err(serialize_error)
    }

    /// Writes `,"members":[…]` or `,"groups":[…]`.
    fn write_relation(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        derived: Derived<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        let key: &[u8] = if view.has_members() {
            br#","members":"#
        } else {
            br#","groups":"#
        };
        out.extend_from_slice(key);
        self.write_relation_array(ctx, view, resource, derived, out)
    }

    fn write_relation_array(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        derived: Derived<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        if view.has_members() {
            return self.write_members(ctx, view, resource.members(), out);
        }
        match derived.groups {
            Some(groups) => self.write_groups(ctx, view, groups, out),
            None => {
                out.extend_from_slice(b"[]");
                Ok(())
            }
        }
    }

    /// A rendered resource as a response body.
    pub(crate) fn render(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        derived: Derived<'_>,
        projection: &Projection,
    ) -> Result<Vec<u8>, ScimError> {
        let size = resource.text().map_or(1024, |t| t.len() + 320);
        let mut out = Vec::with_capacity(size);
        self.write_resource(ctx, view, resource, derived, projection, &mut out)?;
        Ok(out)
    }
}

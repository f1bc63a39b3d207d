//! Rendering a [`StoredResource`] as the client sees it (RFC 7644 §3.4.1, RFC 7643 §3.1):
//! one writer for every response that carries resources.
//!
//! The members come in a fixed order: `id`, the stored attributes (as stored: keys sorted),
//! Group `members` or a User's derived `groups` (each element with its `$ref`), then `meta`
//! rendered from the store's [`ResourceMeta`](crate::store::ResourceMeta) with this
//! request's `location`. When the projection keeps everything whole and the attributes are
//! stored text, the text is copied without parsing.
//!
//! A [`Renderer`] is built once per response (everything that depends only on the request,
//! the resource type and the projection is worked out there) and writes every resource of it.

use super::ScimEngine;
use crate::context::RequestContext;
use crate::error::ScimError;
use crate::meta;
use crate::projection::{Member as Field, Projection, plain_json, raw_members};
use crate::schema::{GROUP_SCHEMA, ResourceTypeView, USER_SCHEMA};
use crate::store::{Member, Membership, StoredResource};
use serde_json::{Map, Value};

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

/// Writes a number in decimal.
fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// The start of the URLs of one resource type's resources (RFC 7643 §3.1 `meta.location`,
/// `$ref`): `base_url` + `/` + endpoint + `/`, and whether it needs JSON escaping.
struct Prefix<'a> {
    base: &'a str,
    endpoint: &'a str,
    plain: bool,
}

impl<'a> Prefix<'a> {
    fn new(base_url: &'a str, view: &'a ResourceTypeView) -> Self {
        let [base, _, endpoint, _, _] = meta::location_parts(base_url, view, "");
        Self {
            base,
            endpoint,
            plain: plain_json(base) && plain_json(endpoint),
        }
    }

    /// Writes the URL of the resource `id` as a JSON string.
    fn write(&self, out: &mut Vec<u8>, id: &str) -> Result<(), ScimError> {
        if self.plain && plain_json(id) {
            out.push(b'"');
            out.extend_from_slice(self.base.as_bytes());
            out.push(b'/');
            out.extend_from_slice(self.endpoint.as_bytes());
            out.push(b'/');
            out.extend_from_slice(id.as_bytes());
            out.push(b'"');
            Ok(())
        } else {
            write_str(out, &format!("{}/{}/{id}", self.base, self.endpoint))
        }
    }
}

/// What a rendered resource carries besides its record: a User's derived `groups`
/// (sorted by Group id).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Derived<'a> {
    pub(crate) groups: Option<&'a [Membership]>,
}

/// Writes the resources of one response (see the [module docs](self)).
pub(crate) struct Renderer<'a> {
    engine: &'a ScimEngine,
    base_url: &'a str,
    view: &'a ResourceTypeView,
    projection: &'a Projection,
    /// `meta.location` of this type's resources.
    location: Prefix<'a>,
    /// The relation this type renders: `members` of Groups or derived `groups` of Users.
    relation: Option<&'static str>,
    /// `$ref` prefixes of relation elements, (User or default target, Group target); made
    /// when first needed.
    refs: std::cell::OnceCell<Option<(Option<Prefix<'a>>, Option<Prefix<'a>>)>>,
    /// Whether the projection keeps `meta` and the relation whole (the fast path).
    whole: bool,
}

impl<'a> Renderer<'a> {
    /// A renderer for resources of `view` in responses to `ctx`, projected by `projection`.
    pub(crate) fn new(
        engine: &'a ScimEngine,
        ctx: &'a RequestContext,
        view: &'a ResourceTypeView,
        projection: &'a Projection,
    ) -> Result<Self, ScimError> {
        let relation = if view.has_members() {
            Some("members")
        } else if view.derives_groups() {
            Some("groups")
        } else {
            None
        };
        let whole =
            projection.keeps_whole("meta") && relation.is_none_or(|r| projection.keeps_whole(r));
        Ok(Self {
            engine,
            base_url: &ctx.base_url,
            view,
            projection,
            location: Prefix::new(&ctx.base_url, view),
            relation,
            refs: std::cell::OnceCell::new(),
            whole,
        })
    }

    /// The `$ref` prefixes of relation elements (see [`Renderer::refs`]).
    fn refs(&self) -> Option<&(Option<Prefix<'a>>, Option<Prefix<'a>>)> {
        self.refs
            .get_or_init(|| {
                let engine: &'a ScimEngine = self.engine;
                let registry = &engine.inner.registry;
                let by_schema = |schema: &str| {
                    registry
                        .resource_types()
                        .find(|v| v.core_schema().id.eq_ignore_ascii_case(schema))
                };
                let has_ref = |attr: &str| {
                    self.view
                        .core_schema()
                        .attribute(attr)
                        .is_some_and(|d| d.sub_attribute("$ref").is_some())
                };
                let base_url = self.base_url;
                let prefix = |v: Option<&'a ResourceTypeView>| v.map(|v| Prefix::new(base_url, v));
                match self.relation {
                    Some("members") if has_ref("members") => Some((
                        prefix(by_schema(USER_SCHEMA)),
                        prefix(by_schema(GROUP_SCHEMA)),
                    )),
                    Some("groups") if has_ref("groups") => {
                        Some((prefix(engine.group_type()), None))
                    }
                    _ => None,
                }
            })
            .as_ref()
    }

    /// Writes `members` (RFC 7643 §4.2) as a JSON array, each element's keys sorted.
    fn write_members(&self, members: &[Member], out: &mut Vec<u8>) -> Result<(), ScimError> {
        out.push(b'[');
        for (i, member) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            let target =
                self.refs()
                    .and_then(|(users, groups)| match member.member_type.as_deref() {
                        Some(t) if t.eq_ignore_ascii_case("Group") => groups.as_ref(),
                        _ => users.as_ref(),
                    });
            if let Some(target) = target {
                out.extend_from_slice(br#""$ref":"#);
                target.write(out, &member.value)?;
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
    fn write_groups(&self, list: &[Membership], out: &mut Vec<u8>) -> Result<(), ScimError> {
        let target = self.refs().and_then(|(groups, _)| groups.as_ref());
        out.push(b'[');
        for (i, membership) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            if let Some(target) = target {
                out.extend_from_slice(br#""$ref":"#);
                target.write(out, &membership.group)?;
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
    fn write_meta(&self, resource: &StoredResource, out: &mut Vec<u8>) -> Result<(), ScimError> {
        let m = resource.meta();
        out.extend_from_slice(br#"{"created":""#);
        let created = out.len();
        meta::write_date_time(out, m.created);
        let created = created..out.len();
        out.extend_from_slice(br#"","lastModified":""#);
        if m.last_modified == m.created {
            // A resource never modified (most provisioned accounts): the same text again.
            out.extend_from_within(created);
        } else {
            meta::write_date_time(out, m.last_modified);
        }
        out.extend_from_slice(br#"","location":"#);
        self.location.write(out, resource.id())?;
        out.extend_from_slice(br#","resourceType":"#);
        write_str(out, &self.view.resource_type.name)?;
        out.extend_from_slice(br#","version":"W/\""#);
        write_u64(out, m.version.get());
        out.extend_from_slice(br#"\""}"#);
        Ok(())
    }

    /// Whether `resource` has relation elements to write.
    fn has_relation(&self, resource: &StoredResource, derived: Derived<'_>) -> bool {
        match self.relation {
            Some("members") => !resource.members().is_empty(),
            Some(_) => derived.groups.is_some_and(|g| !g.is_empty()),
            None => false,
        }
    }

    fn write_relation_array(
        &self,
        resource: &StoredResource,
        derived: Derived<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        match self.relation {
            Some("members") => self.write_members(resource.members(), out),
            Some(_) => self.write_groups(derived.groups.unwrap_or_default(), out),
            None => {
                out.extend_from_slice(b"[]");
                Ok(())
            }
        }
    }

    /// Writes a resource as the client sees it, projected (see the [module docs](self)).
    pub(crate) fn write(
        &self,
        resource: &StoredResource,
        derived: Derived<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ScimError> {
        let has_relation = self.has_relation(resource, derived);
        if let Some(text) = resource.text() {
            if self.whole && self.projection.keeps_text(text) {
                out.extend_from_slice(br#"{"id":"#);
                write_str(out, resource.id())?;
                let inner = text
                    .get(1..text.len().saturating_sub(1))
                    .unwrap_or_default();
                // JSON's whitespace is these four bytes (RFC 8259 §2).
                if inner
                    .bytes()
                    .any(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                {
                    out.push(b',');
                    out.extend_from_slice(inner.as_bytes());
                }
                if let (true, Some(key)) = (has_relation, self.relation) {
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(key.as_bytes());
                    out.extend_from_slice(b"\":");
                    self.write_relation_array(resource, derived, out)?;
                }
                out.extend_from_slice(br#","meta":"#);
                self.write_meta(resource, out)?;
                out.push(b'}');
                return Ok(());
            }
        }
        // The general path: every member through the projection.
        let id = Value::String(resource.id().to_owned());
        let relation_value = match (self.relation, has_relation) {
            (Some(key), true) => {
                let mut buf = Vec::new();
                self.write_relation_array(resource, derived, &mut buf)?;
                let value: Value = serde_json::from_slice(&buf).map_err(serialize_error)?;
                Some((key, value))
            }
            _ => None,
        };
        let mut meta_text = Vec::with_capacity(192);
        self.write_meta(resource, &mut meta_text)?;
        let meta_value: Value = serde_json::from_slice(&meta_text).map_err(serialize_error)?;
        let parsed: Map<String, Value>;
        let raw = resource.text().and_then(|t| raw_members(t));
        let mut fields: Vec<(&str, Field<'_>)> = Vec::with_capacity(24);
        fields.push(("id", Field::Value(&id)));
        match (&raw, resource.parsed()) {
            (Some(raw), _) => fields.extend(raw.iter().map(|(k, v)| (*k, Field::Raw(v)))),
            (None, Some(map)) => {
                fields.extend(map.iter().map(|(k, v)| (k.as_str(), Field::Value(v))));
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
        self.projection
            .write_object(out, fields)
            .map_err(serialize_error)
    }

    /// One rendered resource as a response body.
    pub(crate) fn render(
        &self,
        resource: &StoredResource,
        derived: Derived<'_>,
    ) -> Result<Vec<u8>, ScimError> {
        let size = resource.text().map_or(1024, |t| t.len() + 320);
        let mut out = Vec::with_capacity(size);
        self.write(resource, derived, &mut out)?;
        Ok(out)
    }
}

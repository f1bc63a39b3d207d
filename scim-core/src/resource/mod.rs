//! SCIM resources: schema-checked attribute trees (RFC 7643 §3).
//!
//! A [`Resource`] is a JSON object whose keys are in schema case: core and common
//! attributes at the top level, extension attributes under their extension URN key
//! (RFC 7643 §3.3), plus `schemas`. It is built from client input with
//! [`Resource::from_client`] (POST/PUT bodies, RFC 7644 §3.3 and §3.5.1), which checks and
//! canonicalizes every value with [`coerce_attribute`].
//!
//! Decisions (documented here because RFC 7643/7644 leave them open):
//!
//! * **Unknown attributes** and sub-attributes are rejected with `invalidSyntax` ("did not
//!   conform to the request schema", RFC 7644 §3.12), naming the attribute. Nothing a client
//!   sends is silently dropped, except what the RFC says to ignore:
//! * **Read-only attributes** (`id`, `meta`, `groups`, any `mutability: readOnly` attribute or
//!   sub-attribute) are ignored, not errors (RFC 7643 §2.2: "any values provided SHALL be
//!   ignored").
//! * **URN-qualified keys** such as `"urn:ietf:params:scim:schemas:core:2.0:User:userName"`
//!   or `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"` are stored
//!   at their proper place (top level, or inside the extension object) — never as a nested
//!   key path.
//! * **`schemas`** may be omitted; a URN it lists must belong to the resource type
//!   (else `invalidValue`). The stored `schemas` is recomputed: the core schema, then each
//!   extension that has a value, in resource-type order.
//! * **`null` and empty values** are unassigned (RFC 7643 §2.5) and not stored.

mod coerce;
mod view;

pub use coerce::{coerce_attribute, drop_read_only};
pub use view::{GroupView, MemberView, MultiValueView, NameView, UserView};

use crate::error::{ScimError, ScimResult};
use crate::schema::{AttributeDef, AttributeType, Mutability, ResourceTypeView, Schema};
use crate::tolerance::Tolerances;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A schema-checked SCIM resource (RFC 7643 §3): attribute keys in schema case, extension
/// attributes under their URN key, `schemas`, and the server-owned `id` and `meta`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    attrs: Map<String, Value>,
}

/// Where one client key of a POST/PUT body belongs.
enum Target<'v> {
    /// A core or common attribute (`def`), optionally only one of its sub-attributes.
    Core(&'v AttributeDef, Option<&'v AttributeDef>),
    /// An attribute of the extension `schema`, optionally one sub-attribute.
    Ext(&'v Schema, &'v AttributeDef, Option<&'v AttributeDef>),
    /// A whole extension object.
    ExtObject(&'v Schema),
    /// `schemas`.
    Schemas,
}

impl Resource {
    /// Builds a resource from a client's POST or PUT body (RFC 7644 §3.3, §3.5.1) for the
    /// resource type `view`, checking it against the schemas (RFC 7643 §2, §3) with the
    /// given IdP `tolerances`. See the [module docs](self) for the rules.
    ///
    /// The result has no `id` and no `meta`; the caller assigns them (see
    /// [`Resource::set_id`] and [`crate::meta`]).
    ///
    /// # Errors
    ///
    /// * `invalidSyntax`: the body is not a JSON object, an extension value is not an object,
    ///   or it has an unknown attribute or sub-attribute.
    /// * `invalidValue`: a value has the wrong type, `schemas` lists a URN the resource type
    ///   does not have, or a required attribute (or required extension) is missing.
    pub fn from_client(
        view: &ResourceTypeView,
        body: Value,
        tolerances: &Tolerances,
    ) -> ScimResult<Resource> {
        let Value::Object(body) = body else {
            return Err(ScimError::InvalidSyntax(format!(
                "the {} body must be a JSON object",
                view.resource_type.name
            )));
        };
        // Phase 1: group raw values by their place in the resource, keys in schema case.
        // Core values by their definition (keyed by its name, borrowed: no key copies, and
        // phase 2 needs no second lookup).
        let mut core: BTreeMap<&str, (&AttributeDef, Value)> = BTreeMap::new();
        let mut exts: Map<String, Value> = Map::new();
        let mut schemas_seen = false;
        for (key, value) in body {
            match locate(view, &key)? {
                Target::Schemas => {
                    check_schemas(view, &value)?;
                    schemas_seen = true;
                }
                Target::Core(def, sub) => {
                    let (_, slot) = core.entry(def.name.as_str()).or_insert((def, Value::Null));
                    put_into(slot, sub, value);
                }
                Target::Ext(schema, def, sub) => {
                    if let Some(obj) = ext_object(&mut exts, schema) {
                        put_raw(obj, def, sub, value);
                    }
                }
                Target::ExtObject(schema) => match value {
                    Value::Null => {}
                    Value::Object(inner) => {
                        for (name, v) in inner {
                            // `schemas` is server-computed; some clients repeat it inside
                            // the extension object.
                            if name.eq_ignore_ascii_case("schemas") {
                                continue;
                            }
                            let (def, sub) = split_attr(schema, &name).ok_or_else(|| {
                                unknown_attribute(&format!("{}:{name}", schema.id))
                            })?;
                            if let Some(obj) = ext_object(&mut exts, schema) {
                                put_raw(obj, def, sub, v);
                            }
                        }
                    }
                    other => {
                        return Err(ScimError::InvalidSyntax(format!(
                            "the extension `{}` must be a JSON object, got {}",
                            schema.id,
                            kind(&other)
                        )));
                    }
                },
            }
        }

        if !schemas_seen {
            return Err(missing_schemas(view));
        }

        // Phase 2: coerce, drop read-only and unassigned values.
        let mut attrs = Map::new();
        for (name, (def, value)) in core {
            if let Some(v) = coerce_writable(def, value, tolerances, name)? {
                attrs.insert(def.name.clone(), v);
            }
        }
        let mut present_exts = Vec::new();
        for (uri, value) in exts {
            let (Some(schema), Value::Object(obj)) = (view.extension(&uri), value) else {
                continue;
            };
            let mut out = Map::new();
            for (name, v) in obj {
                let Some(def) = schema.attribute(&name) else {
                    continue;
                };
                let path = format!("{}:{}", schema.id, def.name);
                if let Some(v) = coerce_writable(def, v, tolerances, &path)? {
                    out.insert(name, v);
                }
            }
            if !out.is_empty() {
                present_exts.push(schema.id.clone());
                attrs.insert(schema.id.clone(), Value::Object(out));
            }
        }

        let mut resource = Resource { attrs };
        resource.check_required(view)?;
        resource.recompute_schemas(view);
        Ok(resource)
    }

    /// Wraps a resource (RFC 7643 §3) as stored by the host (e.g. read back from a database)
    /// without checking it. The object should have been produced by this crate.
    ///
    /// # Errors
    ///
    /// `Internal` when `value` is not a JSON object (a store bug, not a client mistake).
    pub fn from_stored(value: Value) -> ScimResult<Resource> {
        match value {
            Value::Object(attrs) => Ok(Resource { attrs }),
            other => Err(ScimError::Internal(format!(
                "stored resource is {}, not a JSON object",
                kind(&other)
            ))),
        }
    }

    /// Wraps an attribute map (RFC 7643 §3) without checking it (for engines such as PATCH,
    /// RFC 7644 §3.5.2, that produce canonical maps themselves).
    pub fn from_map(attrs: Map<String, Value>) -> Resource {
        Resource { attrs }
    }

    /// The resource's `id` (RFC 7643 §3.1), if assigned.
    pub fn id(&self) -> Option<&str> {
        self.attrs.get("id").and_then(Value::as_str)
    }

    /// Sets the server-assigned `id` (RFC 7643 §3.1).
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.attrs.insert("id".into(), Value::String(id.into()));
    }

    /// The `externalId` (RFC 7643 §3.1), if any.
    pub fn external_id(&self) -> Option<&str> {
        self.attrs.get("externalId").and_then(Value::as_str)
    }

    /// The value of a top-level attribute or extension object by its schema-case key, e.g.
    /// `userName` or the enterprise extension URN; falls back to a case-insensitive match
    /// (RFC 7643 §2.1).
    pub fn get(&self, attr: &str) -> Option<&Value> {
        self.attrs.get(attr).or_else(|| {
            self.attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .map(|(_, v)| v)
        })
    }

    /// The `schemas` URNs (RFC 7643 §3).
    pub fn schemas(&self) -> Vec<&str> {
        self.attrs
            .get("schemas")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The whole attribute map (RFC 7643 §3; keys in schema case, RFC 7643 §2.1).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attrs
    }

    /// Mutable access to the attribute map, for engines that keep it canonical (PATCH,
    /// RFC 7644 §3.5.2).
    pub fn attributes_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.attrs
    }

    /// The resource as a JSON object, *including* write-only values such as `password`:
    /// this is the storage form. Responses go through [`crate::projection`].
    pub fn to_json(&self) -> Value {
        Value::Object(self.attrs.clone())
    }

    /// Consumes the resource into its JSON object (storage form; see [`Resource::to_json`]).
    pub fn into_json(self) -> Value {
        Value::Object(self.attrs)
    }

    /// Consumes the resource into its attribute map (RFC 7643 §3).
    pub fn into_map(self) -> Map<String, Value> {
        self.attrs
    }

    /// A typed read-only view for User resources (RFC 7643 §4.1).
    pub fn as_user(&self) -> UserView<'_> {
        UserView::new(&self.attrs)
    }

    /// A typed read-only view for Group resources (RFC 7643 §4.2).
    pub fn as_group(&self) -> GroupView<'_> {
        GroupView::new(&self.attrs)
    }

    /// Recomputes `schemas` (RFC 7643 §3): the core schema, then every extension of `view`
    /// that has a value, in resource-type order.
    pub fn recompute_schemas(&mut self, view: &ResourceTypeView) {
        let mut schemas = vec![Value::String(view.core_schema().id.clone())];
        for (ext, _) in view.extensions() {
            if self.attrs.contains_key(&ext.id) {
                schemas.push(Value::String(ext.id.clone()));
            }
        }
        self.attrs.insert("schemas".into(), Value::Array(schemas));
    }

    /// Checks that every required attribute (RFC 7643 §2.2 `required`) and every required
    /// extension (RFC 7643 §6 `schemaExtensions.required`) has a value. Read-only required
    /// attributes are the server's business and not checked.
    ///
    /// # Errors
    ///
    /// `invalidValue` naming the first missing attribute, e.g.
    /// "missing required attribute `userName`".
    pub fn check_required(&self, view: &ResourceTypeView) -> ScimResult<()> {
        check_required_in(&self.attrs, view.core_schema(), None)?;
        for (ext, required) in view.extensions() {
            match self.attrs.get(&ext.id).and_then(Value::as_object) {
                Some(obj) => check_required_in(obj, ext, Some(&ext.id))?,
                None if required => {
                    return Err(ScimError::InvalidValue(format!(
                        "missing required schema extension `{}`",
                        ext.id
                    )));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Checks a replacement (`self`, e.g. a PUT body from [`Resource::from_client`]) against
    /// the `existing` resource for `immutable` attributes (RFC 7643 §2.2, RFC 7644 §3.5.1):
    /// an immutable attribute that has a value may not be given a different value.
    ///
    /// Enforced for top-level attributes (core and extension) and for the immutable
    /// sub-attributes of single-valued complex attributes. Strings that are not `caseExact`
    /// compare case-insensitively. Omitting an immutable attribute is not a change: use
    /// [`Resource::keep_server_owned`] to carry its value over. Immutable sub-attributes of
    /// *multi-valued* attributes (Group `members.value`) are not enforced here: elements may
    /// be added and removed (RFC 7643 §4.2), and an altered element is indistinguishable from
    /// a removal plus an addition.
    ///
    /// # Errors
    ///
    /// `mutability` naming the attribute.
    pub fn check_replace(&self, existing: &Resource, view: &ResourceTypeView) -> ScimResult<()> {
        let core = view.core_schema();
        let common = view.common_attributes();
        for def in core.attributes.iter().chain(common.iter()) {
            check_immutable(
                def,
                self.attrs.get(&def.name),
                existing.attrs.get(&def.name),
                "",
            )?;
        }
        for (ext, _) in view.extensions() {
            let new = self.attrs.get(&ext.id);
            let old = existing.attrs.get(&ext.id);
            for def in &ext.attributes {
                let prefix = format!("{}:", ext.id);
                check_immutable(
                    def,
                    new.and_then(|v| v.get(&def.name)),
                    old.and_then(|v| v.get(&def.name)),
                    &prefix,
                )?;
            }
        }
        Ok(())
    }

    /// Carries the server-owned values of `existing` into this replacement (RFC 7644 §3.5.1:
    /// read-only values are not replaced): `id`, `meta`, every `readOnly` attribute (e.g.
    /// `groups`), and `immutable` attributes the replacement omits. Recomputes `schemas`.
    pub fn keep_server_owned(mut self, existing: &Resource, view: &ResourceTypeView) -> Resource {
        let core = view.core_schema();
        for def in core.attributes.iter().chain(view.common_attributes()) {
            let keep = match def.mutability {
                Mutability::ReadOnly => true,
                Mutability::Immutable => !self.attrs.contains_key(&def.name),
                _ => false,
            };
            if !keep {
                continue;
            }
            match existing.attrs.get(&def.name) {
                Some(v) => {
                    self.attrs.insert(def.name.clone(), v.clone());
                }
                None => {
                    self.attrs.remove(&def.name);
                }
            }
        }
        for (ext, _) in view.extensions() {
            let Some(old) = existing.attrs.get(&ext.id).and_then(Value::as_object) else {
                continue;
            };
            for def in &ext.attributes {
                let Some(v) = old.get(&def.name) else {
                    continue;
                };
                let new_has = self
                    .attrs
                    .get(&ext.id)
                    .and_then(|e| e.get(&def.name))
                    .is_some();
                let keep = match def.mutability {
                    Mutability::ReadOnly => true,
                    Mutability::Immutable => !new_has,
                    _ => false,
                };
                if !keep {
                    continue;
                }
                if let Some(obj) = ext_object(&mut self.attrs, ext) {
                    obj.insert(def.name.clone(), v.clone());
                }
            }
        }
        self.recompute_schemas(view);
        self
    }
}

/// Finds where a top-level key of a client body belongs.
fn locate<'v>(view: &'v ResourceTypeView, key: &str) -> ScimResult<Target<'v>> {
    if key.eq_ignore_ascii_case("schemas") {
        return Ok(Target::Schemas);
    }
    if let Some(schema) = view.extension(key) {
        return Ok(Target::ExtObject(schema));
    }
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        // URN-qualified attribute: the longest schema URI that prefixes the key.
        let core = view.core_schema();
        if let Some(rest) = strip_urn(key, &core.id) {
            let (def, sub) = split_core(view, rest).ok_or_else(|| unknown_attribute(key))?;
            return Ok(Target::Core(def, sub));
        }
        for (ext, _) in view.extensions() {
            if let Some(rest) = strip_urn(key, &ext.id) {
                let (def, sub) = split_attr(ext, rest).ok_or_else(|| unknown_attribute(key))?;
                return Ok(Target::Ext(ext, def, sub));
            }
        }
        return Err(ScimError::InvalidSyntax(format!(
            "`{key}` is neither a schema extension nor an attribute of the {} resource type",
            view.resource_type.name
        )));
    }
    if let Some((def, sub)) = split_core(view, key) {
        return Ok(Target::Core(def, sub));
    }
    // Unqualified extension attribute names, as some clients send.
    for (ext, _) in view.extensions() {
        if let Some((def, sub)) = split_attr(ext, key) {
            return Ok(Target::Ext(ext, def, sub));
        }
    }
    Err(unknown_attribute(key))
}

/// `rest` of `key` after `uri:` (case-insensitive), if `key` starts with it.
fn strip_urn<'k>(key: &'k str, uri: &str) -> Option<&'k str> {
    let n = uri.len();
    if key.len() > n + 1
        && key.is_char_boundary(n)
        && key[..n].eq_ignore_ascii_case(uri)
        && key.as_bytes()[n] == b':'
    {
        Some(&key[n + 1..])
    } else {
        None
    }
}

/// `attr` or `attr.sub` in the core schema or common attributes.
fn split_core<'v>(
    view: &'v ResourceTypeView,
    name: &str,
) -> Option<(&'v AttributeDef, Option<&'v AttributeDef>)> {
    let (attr, sub) = match name.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (name, None),
    };
    let location = view.find(Some(&view.core_schema().id), attr)?;
    with_sub(location.attr, sub)
}

/// `attr` or `attr.sub` in `schema`.
fn split_attr<'s>(
    schema: &'s Schema,
    name: &str,
) -> Option<(&'s AttributeDef, Option<&'s AttributeDef>)> {
    let (attr, sub) = match name.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (name, None),
    };
    with_sub(schema.attribute(attr)?, sub)
}

fn with_sub<'s>(
    def: &'s AttributeDef,
    sub: Option<&str>,
) -> Option<(&'s AttributeDef, Option<&'s AttributeDef>)> {
    match sub {
        None => Some((def, None)),
        Some(sub) if def.attr_type == AttributeType::Complex && !def.multi_valued => {
            Some((def, Some(def.sub_attribute(sub)?)))
        }
        Some(_) => None,
    }
}

/// Stores a raw value at `def` (or `def.sub`), merging objects given in several places.
fn put_raw(
    target: &mut Map<String, Value>,
    def: &AttributeDef,
    sub: Option<&AttributeDef>,
    value: Value,
) {
    let slot = target.entry(def.name.clone()).or_insert(Value::Null);
    put_into(slot, sub, value);
}

/// Stores a raw value in `slot` (the value of `def`, `null` when not yet given), or in its
/// sub-attribute `sub`, merging objects given in several places.
fn put_into(slot: &mut Value, sub: Option<&AttributeDef>, value: Value) {
    match (sub, slot, value) {
        (None, Value::Object(existing), Value::Object(new)) => existing.extend(new),
        (None, slot, value) => *slot = value,
        (Some(sub), slot, value) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(obj) = slot {
                obj.insert(sub.name.clone(), value);
            }
        }
    }
}

/// The extension object for `schema` inside `map`, created when missing (replacing a
/// non-object value).
fn ext_object<'m>(
    map: &'m mut Map<String, Value>,
    schema: &Schema,
) -> Option<&'m mut Map<String, Value>> {
    let slot = map
        .entry(schema.id.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Coerces a client value and removes what the client may not write; `None` when nothing
/// is left (read-only attribute, `null`, empty).
fn coerce_writable(
    def: &AttributeDef,
    value: Value,
    tolerances: &Tolerances,
    path: &str,
) -> ScimResult<Option<Value>> {
    if def.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    let value = coerce_attribute(def, value, tolerances, path)?;
    let value = drop_read_only(def, value);
    Ok(if value.is_null() { None } else { Some(value) })
}

/// The error for a body without `schemas`.
fn missing_schemas(view: &ResourceTypeView) -> ScimError {
    ScimError::InvalidSyntax(format!(
        "`schemas` is required (RFC 7643 §3): send `\"schemas\": [\"{}\"]` and the URN of \
         every extension the body uses",
        view.core_schema().id
    ))
}

/// RFC 7643 §3: `schemas` is a non-empty array of URI strings that includes the resource
/// type's core schema. A URN the resource type does not know is allowed when the body has
/// no attributes under it (Entra ID lists its custom-extension URN on groups, some clients
/// `urn:scim:schemas:core:1.0` beside the 2.0 core URN); keys under an unknown URN are
/// refused where the attribute is located. The server recomputes `schemas` afterwards.
fn check_schemas(view: &ResourceTypeView, value: &Value) -> ScimResult<()> {
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        Value::Null => return Err(missing_schemas(view)),
        other => {
            return Err(ScimError::InvalidSyntax(format!(
                "`schemas` must be a non-empty array of schema URIs (RFC 7643 §3), got {}",
                kind(other)
            )));
        }
    };
    let mut has_core = false;
    for item in items {
        let Some(uri) = item.as_str() else {
            return Err(ScimError::InvalidValue(format!(
                "`schemas` must be an array of schema URIs, got {} in it",
                kind(item)
            )));
        };
        has_core |= uri.eq_ignore_ascii_case(&view.core_schema().id);
    }
    if !has_core {
        return Err(ScimError::InvalidValue(format!(
            "`schemas` must include the {} core schema `{}` (RFC 7643 §3)",
            view.resource_type.name,
            view.core_schema().id
        )));
    }
    Ok(())
}

fn check_required_in(
    obj: &Map<String, Value>,
    schema: &Schema,
    prefix: Option<&str>,
) -> ScimResult<()> {
    for def in &schema.attributes {
        if !def.required || def.mutability == Mutability::ReadOnly {
            continue;
        }
        let present = match obj.get(&def.name) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
        if !present {
            let name = match prefix {
                Some(p) => format!("{p}:{}", def.name),
                None => def.name.clone(),
            };
            return Err(ScimError::InvalidValue(format!(
                "missing required attribute `{name}`"
            )));
        }
    }
    Ok(())
}

fn check_immutable(
    def: &AttributeDef,
    new: Option<&Value>,
    old: Option<&Value>,
    prefix: &str,
) -> ScimResult<()> {
    let (Some(new), Some(old)) = (new, old) else {
        return Ok(());
    };
    if def.mutability == Mutability::Immutable && !same_value(def, new, old) {
        return Err(ScimError::Mutability(format!(
            "`{prefix}{}` is immutable and already has a value; it cannot be changed",
            def.name
        )));
    }
    if def.attr_type == AttributeType::Complex && !def.multi_valued {
        for sub in &def.sub_attributes {
            if sub.mutability != Mutability::Immutable {
                continue;
            }
            let (Some(n), Some(o)) = (new.get(&sub.name), old.get(&sub.name)) else {
                continue;
            };
            if !same_value(sub, n, o) {
                return Err(ScimError::Mutability(format!(
                    "`{prefix}{}.{}` is immutable and already has a value; it cannot be changed",
                    def.name, sub.name
                )));
            }
        }
    }
    Ok(())
}

/// Equality under the attribute's `caseExact` (RFC 7643 §2.2).
fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !def.case_exact => {
            x == y || x.to_lowercase() == y.to_lowercase()
        }
        _ => a == b,
    }
}

fn unknown_attribute(name: &str) -> ScimError {
    ScimError::InvalidSyntax(format!("unknown attribute `{name}`"))
}

/// How a JSON value's type reads in an error detail ("a string", "an array", …).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

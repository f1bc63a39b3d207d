//! The PATCH engine behind [`apply_patch`](super::apply_patch) (RFC 7644 §3.5.2.1–§3.5.2.3).
//!
//! Operations mutate the resource in place; before an operation first touches a top-level
//! member (a core attribute or an extension object) the engine saves that member's original
//! value, so a failure can be undone and `changed` can be computed by comparing only the
//! touched members. Appends to a multi-valued attribute save only its original length.

use super::{PatchOp, PatchOperation, PatchRequest};
use crate::error::{ScimError, ScimResult};
use crate::resource::{coerce_attribute, drop_read_only};
use crate::schema::{AttributeDef, AttributeType, Mutability, ResourceTypeView, Schema};
use crate::tolerance::Tolerances;
use scim_filter::{AttrFacts, AttrPath, AttributeFacts, CompValue, CompareOp, Filter, PatchPath};
use serde_json::{Map, Value};

type Object = Map<String, Value>;

/// A member of `map` by name, matched case-insensitively (RFC 7643 §2.1), exact match first.
pub(super) fn get_ci<'a>(map: &'a Object, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Prefixes an error's detail with where it happened, keeping its kind.
pub(super) fn with_context(err: ScimError, context: &str) -> ScimError {
    let wrap = |d: String| format!("{context}: {d}");
    match err {
        ScimError::InvalidFilter(d) => ScimError::InvalidFilter(wrap(d)),
        ScimError::Mutability(d) => ScimError::Mutability(wrap(d)),
        ScimError::InvalidSyntax(d) => ScimError::InvalidSyntax(wrap(d)),
        ScimError::InvalidPath(d) => ScimError::InvalidPath(wrap(d)),
        ScimError::NoTarget(d) => ScimError::NoTarget(wrap(d)),
        ScimError::InvalidValue(d) => ScimError::InvalidValue(wrap(d)),
        other => other,
    }
}

/// Renames a member matched case-insensitively to `name` (schema case). Allocates only
/// when a rename is needed.
fn canonical_key(map: &mut Object, name: &str) {
    if map.contains_key(name) {
        return;
    }
    let Some(odd) = map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() else {
        return;
    };
    if let Some(v) = map.remove(&odd) {
        map.insert(name.to_owned(), v);
    }
}

fn internal(what: &str) -> ScimError {
    ScimError::Internal(format!("PATCH engine: {what}"))
}

fn is_primary(v: &Value) -> bool {
    v.get("primary").and_then(Value::as_bool) == Some(true)
}

/// Whether `v` is unassigned (RFC 7643 §2.5): `null`, `[]` or `{}`.
fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Drops unassigned members and elements recursively; returns whether `v` is left
/// unassigned.
fn prune(v: &mut Value) -> bool {
    match v {
        Value::Array(items) => {
            items.retain_mut(|item| !prune(item));
            items.is_empty()
        }
        Value::Object(members) => {
            members.retain(|_, member| !prune(member));
            members.is_empty()
        }
        other => other.is_null(),
    }
}

fn to_array(slot: &mut Value) -> ScimResult<&mut Vec<Value>> {
    if !slot.is_array() {
        let old = slot.take();
        *slot = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    slot.as_array_mut()
        .ok_or_else(|| internal("multi-valued slot is not an array"))
}

fn to_object<'a>(slot: &'a mut Value, path: &str) -> ScimResult<&'a mut Object> {
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .ok_or_else(|| ScimError::InvalidValue(format!("the stored `{path}` is not an object")))
}

/// Whether elements of `def` are identified by their `value` (Group `members`: `value` is
/// `immutable`, RFC 7643 §4.2), so an element with an existing `value` is a duplicate.
fn identified_by_value(def: &AttributeDef) -> bool {
    def.attr_type == AttributeType::Complex
        && def
            .sub_attribute("value")
            .is_some_and(|v| v.mutability == Mutability::Immutable)
}

fn read_only_error(path: &str) -> ScimError {
    ScimError::Mutability(format!(
        "`{path}` is readOnly (RFC 7643 §2.2) and cannot be modified"
    ))
}

fn immutable_error(path: &str) -> ScimError {
    ScimError::Mutability(format!(
        "`{path}` is immutable (RFC 7643 §2.2): it can be set while unassigned, never changed \
         or removed"
    ))
}

fn unknown_attribute(name: &str, view: &ResourceTypeView) -> ScimError {
    ScimError::InvalidPath(format!(
        "`{name}` is not an attribute of the {} resource type",
        view.resource_type.name
    ))
}

fn sub_of<'d>(def: &'d AttributeDef, sub: &str) -> ScimResult<&'d AttributeDef> {
    def.sub_attribute(sub).ok_or_else(|| {
        if def.sub_attributes.is_empty() {
            ScimError::InvalidPath(format!("`{}` has no sub-attributes", def.name))
        } else {
            ScimError::InvalidPath(format!(
                "`{}` has no sub-attribute `{sub}` (known: {})",
                def.name,
                def.sub_attributes
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    })
}

fn comp_value_json(value: &CompValue) -> Value {
    match value {
        CompValue::Null => Value::Null,
        CompValue::Bool(b) => Value::Bool(*b),
        CompValue::Number(n) => Value::Number(n.clone()),
        CompValue::String(s) => Value::String(s.clone()),
    }
}

/// The initial element implied by a filter made only of `eq` comparisons joined by `and`
/// (`type eq "work"` gives `{"type": "work"}`), or `None` for any other filter.
/// Whether `value` is one of `sub`'s canonical values (case-insensitively unless the
/// sub-attribute is caseExact).
fn is_canonical(sub: &AttributeDef, value: &CompValue) -> bool {
    let CompValue::String(value) = value else {
        return false;
    };
    sub.canonical_values.iter().any(|canonical| {
        if sub.case_exact {
            canonical == value
        } else {
            canonical.eq_ignore_ascii_case(value)
        }
    })
}

fn eq_seed(filter: &Filter, def: &AttributeDef, out: &mut Object) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub_attr.is_none() => match def.sub_attribute(&path.name) {
            // Only a canonical value (RFC 7643 §2.3.1 `canonicalValues`, e.g. `work` for
            // `emails.type`) names an element that may be created: `emails[type eq "work"]`
            // is Entra's upsert, `emails[type eq "nonexistent"]` or
            // `emails[value eq "x"]` is a target that does not exist.
            Some(sub) if is_canonical(sub, value) => {
                out.insert(sub.name.clone(), comp_value_json(value));
                true
            }
            _ => false,
        },
        Filter::And(a, b) => eq_seed(a, def, out) && eq_seed(b, def, out),
        _ => false,
    }
}

/// [`AttributeFacts`] for a `valFilter` evaluated against one element of `def`: the names
/// inside the brackets are `def`'s sub-attributes (RFC 7644 §3.4.2.2 `valuePath`).
struct ElementFacts<'a> {
    def: &'a AttributeDef,
}

impl AttributeFacts for ElementFacts<'_> {
    fn facts(&self, _uri: Option<&str>, name: &str, sub_attr: Option<&str>) -> AttrFacts {
        let def = if self.def.attr_type == AttributeType::Complex {
            match self.def.sub_attribute(name) {
                Some(def) => def,
                None => return AttrFacts::UNKNOWN,
            }
        } else if name.eq_ignore_ascii_case("value") {
            self.def
        } else {
            return AttrFacts::UNKNOWN;
        };
        if sub_attr.is_some() {
            return AttrFacts::UNKNOWN;
        }
        AttrFacts {
            attr_type: Some(def.attr_type),
            case_exact: def.case_exact,
            multi_valued: Some(false),
        }
    }
}

/// Where an attribute lives: `ext` is the extension schema whose URN key holds it.
#[derive(Clone, Copy)]
struct Target<'v> {
    def: &'v AttributeDef,
    ext: Option<&'v Schema>,
}

enum Resolved<'v> {
    Attr(Target<'v>),
    Extension(&'v Schema),
}

/// What a key of a path-less value names.
enum KeyTarget<'v, 'k> {
    Skip,
    Extension(&'v Schema),
    Attr(Target<'v>, Option<&'k str>),
}

/// The original state of a touched top-level member.
enum Saved {
    /// The member's value before the first change (`None`: absent).
    Value(Option<Value>),
    /// Only elements were appended to the member's array; this was its length.
    Appended(usize),
}

pub(super) struct Engine<'v> {
    view: &'v ResourceTypeView,
    tol: &'v Tolerances,
    saved: Vec<(String, Saved)>,
}

impl<'v> Engine<'v> {
    pub(super) fn new(view: &'v ResourceTypeView, tol: &'v Tolerances) -> Self {
        Self {
            view,
            tol,
            saved: Vec::new(),
        }
    }

    pub(super) fn run(&mut self, root: &mut Object, request: &PatchRequest) -> ScimResult<bool> {
        match self.apply_all(root, request) {
            Ok(changed) => Ok(changed),
            Err(err) => {
                self.rollback(root);
                Err(err)
            }
        }
    }

    fn apply_all(&mut self, root: &mut Object, request: &PatchRequest) -> ScimResult<bool> {
        for (i, operation) in request.operations.iter().enumerate() {
            self.apply_op(root, operation)
                .map_err(|e| with_context(e, &describe(i, operation)))?;
        }
        self.finish(root)
    }

    // ----- undo log -------------------------------------------------------------------

    fn saved_index(&self, key: &str) -> Option<usize> {
        self.saved.iter().position(|(k, _)| k == key)
    }

    /// Saves `root[key]` before its first full modification.
    fn touch(&mut self, root: &Object, key: &str) {
        if let Some(i) = self.saved_index(key) {
            if let Some((_, saved)) = self.saved.get_mut(i) {
                if let Saved::Appended(len) = *saved {
                    let prefix = match root.get(key) {
                        Some(Value::Array(items)) => {
                            Some(Value::Array(items.iter().take(len).cloned().collect()))
                        }
                        other => other.cloned(),
                    };
                    *saved = Saved::Value(prefix);
                }
            }
            return;
        }
        self.saved
            .push((key.to_owned(), Saved::Value(root.get(key).cloned())));
    }

    /// Saves `root[key]` before elements are only appended to it.
    fn touch_append(&mut self, root: &Object, key: &str) {
        if self.saved_index(key).is_some() {
            return;
        }
        let saved = match root.get(key) {
            Some(Value::Array(items)) => Saved::Appended(items.len()),
            other => Saved::Value(other.cloned()),
        };
        self.saved.push((key.to_owned(), saved));
    }

    fn canonical_root_key(&mut self, root: &mut Object, key: &str) {
        if root.contains_key(key) {
            return;
        }
        let Some(odd) = root.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() else {
            return;
        };
        self.touch(root, &odd);
        self.touch(root, key);
        if let Some(v) = root.remove(&odd) {
            root.insert(key.to_owned(), v);
        }
    }

    fn rollback(&mut self, root: &mut Object) {
        for (key, saved) in self.saved.drain(..).rev() {
            match saved {
                Saved::Value(Some(v)) => {
                    root.insert(key, v);
                }
                Saved::Value(None) => {
                    root.remove(&key);
                }
                Saved::Appended(len) => {
                    if let Some(Value::Array(items)) = root.get_mut(&key) {
                        items.truncate(len);
                    }
                }
            }
        }
    }

    // ----- access -----------------------------------------------------------------------

    /// The current, assigned value of an attribute.
    fn current<'r>(root: &'r Object, t: Target<'_>) -> Option<&'r Value> {
        let container = match t.ext {
            None => root,
            Some(schema) => get_ci(root, &schema.id)?.as_object()?,
        };
        get_ci(container, &t.def.name).filter(|v| !v.is_null())
    }

    /// The extension object under its URN key, created if absent (and saved).
    fn ext_object<'r>(
        &mut self,
        root: &'r mut Object,
        schema: &Schema,
    ) -> ScimResult<&'r mut Object> {
        let key = schema.id.as_str();
        self.canonical_root_key(root, key);
        self.touch(root, key);
        if !root.contains_key(key) {
            root.insert(key.to_owned(), Value::Object(Map::new()));
        }
        let slot = root
            .get_mut(key)
            .ok_or_else(|| internal("extension object vanished"))?;
        to_object(slot, key)
    }

    /// The attribute's value slot (`Null` when unassigned), saved for undo. With
    /// `append_only`, only the array length of a core attribute is saved.
    fn slot<'r>(
        &mut self,
        root: &'r mut Object,
        t: Target<'v>,
        append_only: bool,
    ) -> ScimResult<&'r mut Value> {
        let name = t.def.name.as_str();
        let container = match t.ext {
            None => {
                self.canonical_root_key(root, name);
                if append_only {
                    self.touch_append(root, name);
                } else {
                    self.touch(root, name);
                }
                root
            }
            Some(schema) => {
                let ext = self.ext_object(root, schema)?;
                canonical_key(ext, name);
                ext
            }
        };
        if !container.contains_key(name) {
            container.insert(name.to_owned(), Value::Null);
        }
        container
            .get_mut(name)
            .ok_or_else(|| internal("attribute slot vanished"))
    }

    /// Checks a value and canonicalizes it (RFC 7643 §2.1–§2.4); `readOnly` sub-attributes
    /// are dropped (RFC 7643 §2.2: values a client may not set are ignored).
    fn incoming(&self, def: &AttributeDef, raw: Value, path: &str) -> ScimResult<Value> {
        let raw = if def.attr_type == AttributeType::Complex
            && def
                .sub_attributes
                .iter()
                .any(|s| s.mutability == Mutability::ReadOnly)
        {
            drop_read_only(def, raw)
        } else {
            raw
        };
        coerce_attribute(def, raw, self.tol, path)
    }

    // ----- resolution -------------------------------------------------------------------

    fn resolve(&self, path: &AttrPath) -> ScimResult<Resolved<'v>> {
        let view = self.view;
        let Some(uri) = path.uri.as_deref() else {
            return match view.find(None, &path.name) {
                Some(loc) => Ok(Resolved::Attr(Target {
                    def: loc.attr,
                    ext: loc.extension.then_some(loc.schema),
                })),
                None => Err(unknown_attribute(&path.name, view)),
            };
        };
        if let Some(loc) = view.find(Some(uri), &path.name) {
            return Ok(Resolved::Attr(Target {
                def: loc.attr,
                ext: loc.extension.then_some(loc.schema),
            }));
        }
        // `urn:…:enterprise:2.0:User` parses as uri `urn:…:2.0`, name `User`.
        let joined = format!("{uri}:{}", path.name);
        if let Some(schema) = view.extension(&joined) {
            if let Some(sub) = &path.sub_attr {
                return Err(ScimError::InvalidPath(format!(
                    "`{joined}.{sub}`: an extension schema has no sub-attributes; write \
                     `{joined}:<attribute>`"
                )));
            }
            return Ok(Resolved::Extension(schema));
        }
        if view.core_schema().id.eq_ignore_ascii_case(&joined) {
            return Err(ScimError::InvalidPath(format!(
                "`{joined}` names the core schema; omit \"path\" to target the whole resource"
            )));
        }
        if view.core_schema().id.eq_ignore_ascii_case(uri) || view.extension(uri).is_some() {
            return Err(ScimError::InvalidPath(format!(
                "`{}` is not an attribute of schema `{uri}`",
                path.name
            )));
        }
        Err(ScimError::InvalidPath(format!(
            "`{uri}` is not a schema of the {} resource type (known: {})",
            view.resource_type.name,
            view.schema_uris().collect::<Vec<_>>().join(", ")
        )))
    }

    fn resolve_attr(&self, path: &AttrPath) -> ScimResult<Target<'v>> {
        match self.resolve(path)? {
            Resolved::Attr(t) => Ok(t),
            Resolved::Extension(schema) => Err(ScimError::InvalidPath(format!(
                "`{}` is a schema, not a multi-valued attribute",
                schema.id
            ))),
        }
    }

    /// Resolves a key of a path-less value (or of an extension object when `scope` is set).
    fn resolve_key<'k>(
        &self,
        key: &'k str,
        scope: Option<&'v Schema>,
    ) -> ScimResult<KeyTarget<'v, 'k>> {
        // `schemas` is server-computed, at top level and inside an extension object that a
        // client sends as a whole (`path` = the extension URN): ignore it in both.
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(KeyTarget::Skip);
        }
        if scope.is_none() {
            if let Some(schema) = self.view.extension(key) {
                return Ok(KeyTarget::Extension(schema));
            }
        }
        let qualified = scope.is_none() && key.contains(':');
        if (qualified || key.contains('.')) && !self.tol.entra_dotted_patch_keys {
            let what = if qualified { "URN-qualified" } else { "dotted" };
            return Err(ScimError::InvalidPath(format!(
                "`{key}` is not an attribute name: {what} keys in a path-less value are \
                 accepted only with the entra_dotted_patch_keys tolerance (RFC 7644 §3.5.2 \
                 expects attribute names, and extension attributes inside their schema's \
                 object)"
            )));
        }
        let (uri, rest) = match key.rsplit_once(':') {
            Some((uri, rest)) if qualified => (Some(uri), rest),
            _ => (None, key),
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        let target = match scope {
            Some(schema) => Target {
                def: schema.attribute(name).ok_or_else(|| {
                    ScimError::InvalidPath(format!(
                        "`{name}` is not an attribute of schema `{}`",
                        schema.id
                    ))
                })?,
                ext: Some(schema),
            },
            None => {
                let mut path = AttrPath::new(name);
                path.uri = uri.map(str::to_owned);
                self.resolve_attr(&path)?
            }
        };
        if let Some(sub) = sub {
            sub_of(target.def, sub)?;
        }
        Ok(KeyTarget::Attr(target, sub))
    }

    // ----- operations -------------------------------------------------------------------

    fn apply_op(&mut self, root: &mut Object, operation: &PatchOperation) -> ScimResult<()> {
        let op = operation.op;
        let value = operation.value.as_ref();
        match &operation.path {
            None => match (op, value) {
                (PatchOp::Remove, _) => Err(ScimError::NoTarget(
                    "\"remove\" needs a \"path\" (RFC 7644 §3.5.2.2)".into(),
                )),
                (_, Some(value)) => self.no_path(root, op, value, None),
                (_, None) => Err(missing_value(op)),
            },
            Some(PatchPath::Attr(path)) => match self.resolve(path)? {
                Resolved::Extension(schema) => self.on_extension(root, op, schema, value),
                Resolved::Attr(t) => {
                    if t.def.mutability == Mutability::ReadOnly {
                        return Err(read_only_error(&t.def.name));
                    }
                    match &path.sub_attr {
                        Some(sub) => {
                            let sd = sub_of(t.def, sub)?;
                            self.on_sub(root, op, t, sd, value)
                        }
                        None => match op {
                            PatchOp::Remove => self.remove_attr(root, t, value),
                            _ => {
                                let value = value.ok_or_else(|| missing_value(op))?;
                                // RFC 7644 §3.5.2.1: a path naming a multi-valued
                                // attribute may add "a new value", one element alone.
                                let single;
                                let value = if t.def.multi_valued
                                    && !value.is_array()
                                    && !value.is_null()
                                {
                                    single = Value::Array(vec![value.clone()]);
                                    &single
                                } else {
                                    value
                                };
                                self.write_attr(root, op, t, value, false)
                            }
                        },
                    }
                }
            },
            Some(PatchPath::Value {
                path,
                filter,
                sub_attr,
            }) => {
                if path.sub_attr.is_some() {
                    return Err(ScimError::InvalidPath(
                        "a value filter applies to an attribute, not a sub-attribute".into(),
                    ));
                }
                let t = self.resolve_attr(path)?;
                if t.def.mutability == Mutability::ReadOnly {
                    return Err(read_only_error(&t.def.name));
                }
                if !t.def.multi_valued {
                    if op == PatchOp::Remove
                        && sub_attr.is_none()
                        && t.def.attr_type == AttributeType::Complex
                    {
                        return self.remove_single_if(root, t, filter);
                    }
                    return Err(ScimError::InvalidPath(format!(
                        "`{}` is single-valued; a value filter selects elements of a \
                         multi-valued attribute (RFC 7644 §3.5.2)",
                        t.def.name
                    )));
                }
                let sd = match sub_attr {
                    Some(sub) => Some(sub_of(t.def, sub)?),
                    None => None,
                };
                self.on_filtered(root, op, t, filter, sd, value)
            }
        }
    }

    /// `remove` of a single-valued complex attribute through a value filter, as Entra ID
    /// removes a manager: `{"op": "remove", "path": "manager[value eq \"26118915-…\"]"}`.
    /// The filter is evaluated against the one value; it is removed when it matches, and
    /// a value that does not match is `noTarget` (RFC 7644 §3.5.2.2), as for an element.
    fn remove_single_if(
        &mut self,
        root: &mut Object,
        t: Target<'v>,
        filter: &Filter,
    ) -> ScimResult<()> {
        let matched = match Self::current(root, t) {
            Some(current) => !matching(std::slice::from_ref(current), t.def, filter)?.is_empty(),
            None => false,
        };
        if !matched {
            return Err(ScimError::NoTarget(format!(
                "`{}` does not match the filter (RFC 7644 §3.5.2.2)",
                t.def.name
            )));
        }
        self.remove_attr(root, t, None)
    }

    /// Path-less `add`/`replace` (RFC 7644 §3.5.2.1, §3.5.2.3), or the keys of an extension
    /// object when `scope` is set.
    fn no_path(
        &mut self,
        root: &mut Object,
        op: PatchOp,
        value: &Value,
        scope: Option<&'v Schema>,
    ) -> ScimResult<()> {
        let Some(attributes) = value.as_object() else {
            return Err(ScimError::InvalidSyntax(format!(
                "without a \"path\", the \"value\" of \"{op}\" must be an object of attributes \
                 (RFC 7644 §3.5.2)"
            )));
        };
        for (key, v) in attributes {
            let (t, sub) = match self.resolve_key(key, scope).map_err(key_error)? {
                KeyTarget::Skip => continue,
                KeyTarget::Extension(schema) => {
                    self.no_path(root, op, v, Some(schema))?;
                    continue;
                }
                KeyTarget::Attr(t, sub) => (t, sub),
            };
            let sd = match sub {
                Some(sub) => Some(sub_of(t.def, sub)?),
                None => None,
            };
            let read_only = t.def.mutability == Mutability::ReadOnly
                || sd.is_some_and(|sd| sd.mutability == Mutability::ReadOnly);
            if read_only {
                if self.tol.okta_ignore_read_only_in_patch {
                    continue;
                }
                let current = Self::current(root, t);
                let current = match sd {
                    Some(sd) => current.and_then(|c| c.get(&sd.name)),
                    None => current,
                };
                if current == Some(v) {
                    continue;
                }
                return Err(read_only_error(key));
            }
            match sd {
                Some(sd) => self.on_sub(root, op, t, sd, Some(v))?,
                None => self.write_attr(root, op, t, v, op == PatchOp::Replace)?,
            }
        }
        Ok(())
    }

    /// `path` is an extension schema URN: the whole extension object.
    fn on_extension(
        &mut self,
        root: &mut Object,
        op: PatchOp,
        schema: &'v Schema,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if op != PatchOp::Remove {
            let value = value.ok_or_else(|| missing_value(op))?;
            return self.no_path(root, op, value, Some(schema));
        }
        if self
            .view
            .extensions()
            .any(|(s, required)| required && s.id.eq_ignore_ascii_case(&schema.id))
        {
            return Err(ScimError::InvalidValue(format!(
                "the extension `{}` is required by the {} resource type and cannot be removed",
                schema.id, self.view.resource_type.name
            )));
        }
        for def in &schema.attributes {
            let t = Target {
                def,
                ext: Some(schema),
            };
            if Self::current(root, t).is_some() {
                match def.mutability {
                    Mutability::ReadOnly => return Err(read_only_error(&def.name)),
                    Mutability::Immutable => return Err(immutable_error(&def.name)),
                    _ => {}
                }
            }
        }
        let key = schema.id.as_str();
        self.canonical_root_key(root, key);
        self.touch(root, key);
        root.remove(key);
        Ok(())
    }

    /// `add`/`replace` of a whole attribute. `replace_whole`: a complex single-valued
    /// attribute is replaced rather than merged (path-less `replace`).
    fn write_attr(
        &mut self,
        root: &mut Object,
        op: PatchOp,
        t: Target<'v>,
        value: &Value,
        replace_whole: bool,
    ) -> ScimResult<()> {
        let def = t.def;
        let incoming = self.incoming(def, value.clone(), &def.name)?;
        if def.multi_valued && op == PatchOp::Add {
            return self.append(root, t, incoming);
        }
        let current = Self::current(root, t);
        if def.attr_type == AttributeType::Complex && !def.multi_valued && !replace_whole {
            // RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the "value"
            // parameter are left unchanged."
            let mut merged = current.cloned().unwrap_or(Value::Null);
            match incoming {
                Value::Object(subs) => {
                    let obj = to_object(&mut merged, &def.name)?;
                    for (name, v) in subs {
                        let sd = sub_of(def, &name)?;
                        set_sub(obj, sd, Some(v), &def.name)?;
                    }
                    // Explicit nulls unassign sub-attributes.
                    if let Some(raw) = value.as_object() {
                        for (name, v) in raw {
                            if v.is_null() {
                                let sd = sub_of(def, name)?;
                                set_sub(obj, sd, None, &def.name)?;
                            }
                        }
                    }
                }
                _ if value.is_null() => merged = Value::Null,
                _ => {}
            }
            if def.mutability == Mutability::Immutable && current.is_some_and(|c| *c != merged) {
                return Err(immutable_error(&def.name));
            }
            *self.slot(root, t, false)? = merged;
            return Ok(());
        }
        if def.mutability == Mutability::Immutable && current.is_some_and(|c| *c != incoming) {
            return Err(immutable_error(&def.name));
        }
        *self.slot(root, t, false)? = incoming;
        Ok(())
    }

    /// Appends coerced elements, skipping duplicates (RFC 7644 §3.5.2.1); a new
    /// `"primary": true` clears the others (RFC 7643 §2.4).
    fn append(&mut self, root: &mut Object, t: Target<'v>, incoming: Value) -> ScimResult<()> {
        let new_items = match incoming {
            Value::Array(items) => items,
            Value::Null => return Ok(()),
            other => vec![other],
        };
        let def = t.def;
        let by_value = identified_by_value(def);
        let existing: &[Value] = match Self::current(root, t) {
            Some(Value::Array(items)) => items,
            _ => &[],
        };
        let same_value = |a: &Value, b: &Value| match (a.get("value"), b.get("value")) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        };
        let mut to_add: Vec<Value> = Vec::with_capacity(new_items.len());
        for item in new_items {
            let duplicate = existing
                .iter()
                .chain(to_add.iter())
                .any(|e| *e == item || (by_value && same_value(e, &item)));
            if !duplicate {
                to_add.push(item);
            }
        }
        if to_add.is_empty() {
            return Ok(());
        }
        if def.mutability == Mutability::Immutable && !existing.is_empty() {
            return Err(immutable_error(&def.name));
        }
        let new_primary = to_add.iter().rposition(is_primary);
        let clear_existing = new_primary.is_some() && existing.iter().any(is_primary);
        let items = to_array(self.slot(root, t, !clear_existing)?)?;
        if let Some(keep) = new_primary {
            for (i, item) in to_add.iter_mut().enumerate() {
                if i != keep {
                    clear_primary(item);
                }
            }
            if clear_existing {
                items.iter_mut().for_each(clear_primary);
            }
        }
        items.extend(to_add);
        Ok(())
    }

    /// `remove` of a whole attribute (RFC 7644 §3.5.2.2).
    fn remove_attr(
        &mut self,
        root: &mut Object,
        t: Target<'v>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let def = t.def;
        let Some(current) = Self::current(root, t) else {
            return Ok(());
        };
        let by_value = value.filter(|v| !v.is_null()).filter(|_| {
            self.tol.entra_remove_members_by_value
                && def.multi_valued
                && def.attr_type == AttributeType::Complex
                && def.sub_attribute("value").is_some()
        });
        if let Some(listed) = by_value {
            let ids = listed_values(listed)?;
            let Some(items) = current.as_array() else {
                return Ok(());
            };
            if !items
                .iter()
                .any(|item| item.get("value").is_some_and(|v| ids.contains(&v)))
            {
                return Ok(());
            }
            let items = to_array(self.slot(root, t, false)?)?;
            items.retain(|item| !item.get("value").is_some_and(|v| ids.contains(&v)));
            return Ok(());
        }
        if def.mutability == Mutability::Immutable {
            return Err(immutable_error(&def.name));
        }
        *self.slot(root, t, false)? = Value::Null;
        Ok(())
    }

    /// `attr.sub` without a filter.
    fn on_sub(
        &mut self,
        root: &mut Object,
        op: PatchOp,
        t: Target<'v>,
        sd: &'v AttributeDef,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let def = t.def;
        let path = format!("{}.{}", def.name, sd.name);
        if sd.mutability == Mutability::ReadOnly {
            return Err(read_only_error(&path));
        }
        let new = match op {
            PatchOp::Remove => None,
            _ => {
                let raw = value.ok_or_else(|| missing_value(op))?;
                Some(coerce_attribute(sd, raw.clone(), self.tol, &path)?)
            }
        };
        let current = Self::current(root, t);
        if new.is_none() && current.is_none() {
            return Ok(());
        }
        if def.mutability == Mutability::Immutable && current.is_some() {
            return Err(immutable_error(&def.name));
        }
        if !def.multi_valued {
            let slot = self.slot(root, t, false)?;
            let obj = to_object(slot, &def.name)?;
            return set_sub(obj, sd, new, &def.name);
        }
        let empty = current
            .and_then(Value::as_array)
            .is_none_or(|items| items.is_empty());
        let slot = self.slot(root, t, false)?;
        let items = to_array(slot)?;
        if empty {
            if let Some(v) = new.filter(|v| !v.is_null()) {
                let mut element = Map::new();
                element.insert(sd.name.clone(), v);
                items.push(Value::Object(element));
            }
            return Ok(());
        }
        let sets_primary = sd.name == "primary" && new == Some(Value::Bool(true));
        let count = items.len();
        for (i, item) in items.iter_mut().enumerate() {
            let obj = to_object(item, &def.name)?;
            set_sub(obj, sd, new.clone(), &def.name)?;
            if sets_primary && i + 1 != count {
                clear_primary(item);
            }
        }
        Ok(())
    }

    /// `attr[filter]` and `attr[filter].sub` (RFC 7644 §3.5.2).
    fn on_filtered(
        &mut self,
        root: &mut Object,
        op: PatchOp,
        t: Target<'v>,
        filter: &Filter,
        sd: Option<&'v AttributeDef>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let def = t.def;
        let path = match sd {
            Some(sd) => format!("{}.{}", def.name, sd.name),
            None => def.name.clone(),
        };
        if sd.is_some_and(|sd| sd.mutability == Mutability::ReadOnly) {
            return Err(read_only_error(&path));
        }
        let matched = match Self::current(root, t) {
            Some(Value::Array(items)) => matching(items, def, filter)?,
            Some(other) => matching(std::slice::from_ref(other), def, filter)?,
            None => Vec::new(),
        };
        if op == PatchOp::Remove {
            if matched.is_empty() {
                return Err(ScimError::NoTarget(format!(
                    "no element of `{}` matches the filter (RFC 7644 §3.5.2.2)",
                    def.name
                )));
            }
            if def.mutability == Mutability::Immutable {
                return Err(immutable_error(&def.name));
            }
            let items = to_array(self.slot(root, t, false)?)?;
            match sd {
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&i);
                        i += 1;
                        keep
                    });
                }
                Some(sd) => {
                    for &i in &matched {
                        if let Some(item) = items.get_mut(i) {
                            set_sub(to_object(item, &def.name)?, sd, None, &def.name)?;
                        }
                    }
                }
            }
            return Ok(());
        }
        let raw = value.ok_or_else(|| missing_value(op))?;
        if matched.is_empty() {
            return self.create_element(root, op, t, filter, sd, raw);
        }
        if def.mutability == Mutability::Immutable {
            return Err(immutable_error(&def.name));
        }
        // The change to merge into every matched element, canonicalized.
        let change: Object = match sd {
            Some(sd) => {
                let mut change = Map::new();
                change.insert(
                    sd.name.clone(),
                    coerce_attribute(sd, raw.clone(), self.tol, &path)?,
                );
                change
            }
            None => {
                if !raw.is_object() {
                    return Err(ScimError::InvalidValue(format!(
                        "the value for `{}` with a filter must be an object of its \
                         sub-attributes",
                        def.name
                    )));
                }
                match self.incoming(def, Value::Array(vec![raw.clone()]), &path)? {
                    Value::Array(mut items) if items.len() == 1 => match items.pop() {
                        Some(Value::Object(obj)) => obj,
                        _ => Map::new(),
                    },
                    _ => Map::new(),
                }
            }
        };
        let sets_primary = change.get("primary") == Some(&Value::Bool(true));
        let items = to_array(self.slot(root, t, false)?)?;
        for &i in &matched {
            if let Some(item) = items.get_mut(i) {
                let obj = to_object(item, &def.name)?;
                for (name, v) in &change {
                    set_sub(obj, sub_of(def, name)?, Some(v.clone()), &def.name)?;
                }
            }
        }
        if sets_primary {
            let keep = matched.last().copied();
            for (i, item) in items.iter_mut().enumerate() {
                if Some(i) != keep {
                    clear_primary(item);
                }
            }
        }
        Ok(())
    }

    /// A filtered `add`/`replace` matched nothing: `noTarget`, or, with
    /// [`Tolerances::entra_value_path_creates`], a new element built from the filter's `eq`
    /// conditions plus the value.
    fn create_element(
        &mut self,
        root: &mut Object,
        op: PatchOp,
        t: Target<'v>,
        filter: &Filter,
        sd: Option<&'v AttributeDef>,
        raw: &Value,
    ) -> ScimResult<()> {
        let def = t.def;
        let no_target = || {
            ScimError::NoTarget(format!(
                "no element of `{}` matches the filter (RFC 7644 §3.5.2{})",
                def.name,
                if op == PatchOp::Add { ".1" } else { ".3" }
            ))
        };
        if !self.tol.entra_value_path_creates || def.attr_type != AttributeType::Complex {
            return Err(no_target());
        }
        let mut seed = Map::new();
        if !eq_seed(filter, def, &mut seed) {
            return Err(no_target());
        }
        match (sd, raw) {
            (Some(sd), v) => {
                seed.insert(sd.name.clone(), v.clone());
            }
            (None, Value::Object(subs)) => {
                for (k, v) in subs {
                    seed.insert(k.clone(), v.clone());
                }
            }
            (None, _) => {
                return Err(ScimError::InvalidValue(format!(
                    "the value for `{}` with a filter must be an object of its sub-attributes",
                    def.name
                )));
            }
        }
        let element = self.incoming(def, Value::Array(vec![Value::Object(seed)]), &def.name)?;
        self.append(root, t, element)
    }

    // ----- completion -------------------------------------------------------------------

    /// Drops unassigned values, checks required attributes, syncs `schemas`, and reports
    /// whether anything changed.
    fn finish(&mut self, root: &mut Object) -> ScimResult<bool> {
        let mut extension_touched = false;
        for (key, saved) in &self.saved {
            if let Saved::Value(original) = saved {
                let empty = root.get_mut(key).is_some_and(prune);
                if empty {
                    root.remove(key);
                }
                if let Some(original) = original {
                    self.check_required(key, original, root)?;
                }
                extension_touched |= self.view.extension(key).is_some();
            }
        }
        if extension_touched {
            self.sync_schemas(root);
        }
        Ok(self.saved.iter().any(|(key, saved)| match saved {
            Saved::Value(original) => original.as_ref() != root.get(key),
            Saved::Appended(len) => root
                .get(key)
                .and_then(Value::as_array)
                .is_none_or(|items| items.len() != *len),
        }))
    }

    /// Removing a required attribute is `invalidValue` (RFC 7644 §3.12: "A required value
    /// was missing").
    fn check_required(&self, key: &str, original: &Value, root: &Object) -> ScimResult<()> {
        let view = self.view;
        if let Some((schema, required)) = view
            .extensions()
            .find(|(s, _)| s.id.eq_ignore_ascii_case(key))
        {
            let Some(original) = original.as_object() else {
                return Ok(());
            };
            let now = get_ci(root, &schema.id).and_then(Value::as_object);
            if required && now.is_none() && !original.is_empty() {
                return Err(ScimError::InvalidValue(format!(
                    "the extension `{}` is required by the {} resource type and cannot be \
                     removed",
                    schema.id, view.resource_type.name
                )));
            }
            for def in schema.attributes.iter().filter(|d| d.required) {
                let had = get_ci(original, &def.name).is_some_and(|v| !is_blank(v));
                let has = now
                    .and_then(|n| get_ci(n, &def.name))
                    .is_some_and(|v| !is_blank(v));
                if had && !has {
                    return Err(required_error(&def.name));
                }
            }
            return Ok(());
        }
        let Some(loc) = view.find(Some(&view.core_schema().id), key) else {
            return Ok(());
        };
        let now = get_ci(root, &loc.attr.name).filter(|v| !is_blank(v));
        if loc.attr.required && !is_blank(original) && now.is_none() {
            return Err(required_error(&loc.attr.name));
        }
        Ok(())
    }

    /// `schemas` = the core schema plus exactly the extensions present (RFC 7643 §3).
    fn sync_schemas(&mut self, root: &mut Object) {
        let view = self.view;
        let present = |id: &str| {
            get_ci(root, id)
                .and_then(Value::as_object)
                .is_some_and(|o| !o.is_empty())
        };
        let expected: Vec<&str> = std::iter::once(view.core_schema().id.as_str())
            .chain(
                view.extensions()
                    .filter(|(s, _)| present(&s.id))
                    .map(|(s, _)| s.id.as_str()),
            )
            .collect();
        let same = root
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|current| {
                current.len() == expected.len()
                    && current
                        .iter()
                        .zip(&expected)
                        .all(|(c, e)| c.as_str() == Some(*e))
            });
        if same {
            return;
        }
        let schemas = Value::Array(
            expected
                .into_iter()
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        );
        self.touch(root, "schemas");
        root.insert("schemas".to_owned(), schemas);
    }
}

/// A key of a path-less value that names no attribute: the body "did not conform to the
/// request schema" (`invalidSyntax`, RFC 7644 §3.12), as for unknown attributes in POST/PUT
/// bodies; `invalidPath` is kept for the `path` member itself.
fn key_error(err: ScimError) -> ScimError {
    match err {
        ScimError::InvalidPath(d) => ScimError::InvalidSyntax(d),
        other => other,
    }
}

/// Missing for `required` purposes: unassigned (RFC 7643 §2.5) or the empty string.
fn is_blank(v: &Value) -> bool {
    is_unassigned(v) || v.as_str().is_some_and(str::is_empty)
}

fn required_error(name: &str) -> ScimError {
    ScimError::InvalidValue(format!(
        "`{name}` is required (RFC 7643 §2.2) and cannot be removed"
    ))
}

fn missing_value(op: PatchOp) -> ScimError {
    ScimError::InvalidValue(format!(
        "a PATCH \"{op}\" operation needs a \"value\" (RFC 7644 §3.5.2)"
    ))
}

fn describe(index: usize, operation: &PatchOperation) -> String {
    match &operation.path {
        Some(path) => format!("Operations[{index}] ({} {})", operation.op, path_text(path)),
        None => format!("Operations[{index}] ({})", operation.op),
    }
}

fn attr_path_text(path: &AttrPath) -> String {
    let mut out = String::new();
    if let Some(uri) = &path.uri {
        out.push_str(uri);
        out.push(':');
    }
    out.push_str(&path.name);
    if let Some(sub) = &path.sub_attr {
        out.push('.');
        out.push_str(sub);
    }
    out
}

fn path_text(path: &PatchPath) -> String {
    match path {
        PatchPath::Attr(p) => attr_path_text(p),
        PatchPath::Value { path, sub_attr, .. } => {
            let mut out = attr_path_text(path);
            out.push_str("[…]");
            if let Some(sub) = sub_attr {
                out.push('.');
                out.push_str(sub);
            }
            out
        }
    }
}

fn clear_primary(item: &mut Value) {
    if is_primary(item) {
        if let Some(obj) = item.as_object_mut() {
            obj.insert("primary".to_owned(), Value::Bool(false));
        }
    }
}

/// Sets (`Some`) or removes (`None`/`null`) a sub-attribute, enforcing `immutable`.
fn set_sub(
    obj: &mut Object,
    sd: &AttributeDef,
    new: Option<Value>,
    parent: &str,
) -> ScimResult<()> {
    canonical_key(obj, &sd.name);
    let new = new.filter(|v| !v.is_null());
    let current = obj.get(&sd.name).filter(|v| !v.is_null());
    if sd.mutability == Mutability::Immutable && current.is_some() && current != new.as_ref() {
        return Err(immutable_error(&format!("{parent}.{}", sd.name)));
    }
    match new {
        Some(v) => {
            obj.insert(sd.name.clone(), v);
        }
        None => {
            obj.remove(&sd.name);
        }
    }
    Ok(())
}

/// Indices of the elements matching a `valFilter`; names in the filter are `def`'s
/// sub-attributes, and an element of simple values is its own `value`.
fn matching(items: &[Value], def: &AttributeDef, filter: &Filter) -> ScimResult<Vec<usize>> {
    let facts = ElementFacts { def };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let hit = if item.is_object() {
            filter.matches(item, &facts)?
        } else {
            let mut wrapped = Map::new();
            wrapped.insert("value".to_owned(), item.clone());
            filter.matches(&Value::Object(wrapped), &facts)?
        };
        if hit {
            out.push(i);
        }
    }
    Ok(out)
}

/// The `value`s listed in Entra's `remove members` value: `[{"value": "id"}]`, `["id"]`
/// or a single object.
fn listed_values(listed: &Value) -> ScimResult<Vec<&Value>> {
    let items = match listed {
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(obj) => get_ci(obj, "value").ok_or_else(|| {
                ScimError::InvalidValue(
                    "each member to remove must be an object with a \"value\"".into(),
                )
            }),
            Value::String(_) => Ok(item),
            other => Err(ScimError::InvalidValue(format!(
                "each member to remove must be {{\"value\": \"<id>\"}}, got {other}"
            ))),
        })
        .collect()
}

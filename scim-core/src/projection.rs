//! Attribute projection: `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9)
//! with the `returned` characteristic (RFC 7643 §2.2, §7).
//!
//! A [`Projection`] is parsed once per request from the two query parameters and applied
//! to every resource of the response. The rules:
//!
//! * `returned: never` (e.g. `password`) is never emitted, not even when named.
//! * `returned: always` (e.g. `id`) is always emitted, even when excluded or not named;
//!   `schemas` is always emitted as stored.
//! * `returned: default` is emitted unless excluded, or unless `attributes` is given and
//!   does not name it (or its parent, or its extension).
//! * `returned: request` is emitted only when named in `attributes`.
//! * Names are case-insensitive (RFC 7643 §2.1); output keys stay in schema case. A name
//!   may be `attr`, `attr.sub`, URN-qualified (`<schema URN>:attr[.sub]`, core or extension
//!   schema) or an extension URN alone, meaning the whole extension.
//! * When `attributes` names only sub-attributes (`name.givenName`), the parent complex is
//!   emitted with only those (and its `always` sub-attributes); for multi-valued complex
//!   attributes (`emails.value`) every element is reduced that way.
//! * When both parameters are given, `attributes` wins and `excludedAttributes` is ignored.
//! * Names that match no attribute of the resource type are ignored (they select nothing);
//!   a syntactically malformed name (empty segment, more than one `.`) is `invalidValue`.
//! * An extension object or complex value left empty is omitted.

use crate::error::{ScimError, ScimResult};
use crate::resource::Resource;
use crate::schema::{AttributeDef, AttributeType, ResourceTypeView, Returned, Schema};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// A parsed `attributes` / `excludedAttributes` pair (RFC 7644 §3.4.2.5), ready to be
/// applied to many resources of one resource type.
///
/// Applying expects attribute keys in schema case, as [`Resource`] stores them; keys that
/// match no attribute are kept by the default and `excludedAttributes` projections and
/// dropped by an `attributes` projection.
#[derive(Debug, Clone)]
pub struct Projection {
    top: Level,
    /// When the projection keeps unknown top-level keys: `"key"` (quoted) for every
    /// top-level key it changes (omits or projects); JSON text containing none of them is
    /// emitted unchanged (see [`Projection::keeps_text`]). `None` otherwise. Kept as
    /// prepared searchers: every rendered resource is searched for them.
    changed_keys: Option<Vec<memchr::memmem::Finder<'static>>>,
    /// Whether `meta`, `members` and `groups` are kept whole, and whether they are emitted
    /// at all (asked for every resource rendered, so worked out once).
    whole: [bool; 3],
    emitted: [bool; 3],
}

/// The top-level members [`Projection::keeps_whole`] answers from its cache.
const CACHED_WHOLE: [&str; 3] = ["meta", "members", "groups"];

/// What to do with the attributes of one object (the resource, an extension object or a
/// complex value).
#[derive(Debug, Clone, Default)]
struct Level {
    /// Rules by schema-case key, sorted by key.
    rules: Vec<(String, Rule)>,
    /// Whether keys without a rule (not in the schema) are emitted. When true, applying
    /// clones the object and then patches the keys in `patch`; when false, it builds the
    /// output from the keys in `patch`.
    keep_unknown: bool,
    /// Indices into `rules`: the rules that are not `Whole` (keep mode) or not `Omit`
    /// (select mode).
    patch: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Rule {
    Omit,
    Whole,
    Subs(Box<Level>),
}

impl Level {
    fn new(mut rules: Vec<(String, Rule)>, keep_unknown: bool) -> Level {
        rules.sort_by(|a, b| a.0.cmp(&b.0));
        let patch = rules
            .iter()
            .enumerate()
            .filter(|(_, (_, rule))| match rule {
                Rule::Whole => !keep_unknown,
                Rule::Omit => keep_unknown,
                Rule::Subs(_) => true,
            })
            .map(|(i, _)| i)
            .collect();
        Level {
            rules,
            keep_unknown,
            patch,
        }
    }

    /// `Whole` when this level changes nothing (keep mode, every rule `Whole`).
    fn into_rule(self) -> Rule {
        if self.keep_unknown && self.patch.is_empty() {
            Rule::Whole
        } else {
            Rule::Subs(Box::new(self))
        }
    }

    /// Projects one object; `None` when nothing is left.
    fn apply_object(&self, obj: &Map<String, Value>) -> Option<Map<String, Value>> {
        let out = if self.keep_unknown {
            let mut out = obj.clone();
            for &i in &self.patch {
                let (key, rule) = &self.rules[i];
                match rule {
                    Rule::Whole => {}
                    Rule::Omit => {
                        out.remove(key);
                    }
                    Rule::Subs(level) => {
                        let projected = out.get(key).and_then(|v| level.apply_value(v));
                        match projected {
                            Some(v) => {
                                out.insert(key.clone(), v);
                            }
                            None => {
                                out.remove(key);
                            }
                        }
                    }
                }
            }
            out
        } else {
            let mut out = Map::new();
            for &i in &self.patch {
                let (key, rule) = &self.rules[i];
                let Some(v) = obj.get(key) else {
                    continue;
                };
                let projected = match rule {
                    Rule::Omit => None,
                    Rule::Whole => Some(v.clone()),
                    Rule::Subs(level) => level.apply_value(v),
                };
                if let Some(p) = projected {
                    out.insert(key.clone(), p);
                }
            }
            out
        };
        if out.is_empty() { None } else { Some(out) }
    }

    /// Projects a value governed by this level: an object, or an array of objects
    /// (multi-valued complex). `None` when nothing is left.
    fn apply_value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Object(obj) => self.apply_object(obj).map(Value::Object),
            Value::Array(items) => {
                let out: Vec<Value> = items.iter().filter_map(|v| self.apply_value(v)).collect();
                if out.is_empty() {
                    None
                } else {
                    Some(Value::Array(out))
                }
            }
            other => self.keep_unknown.then(|| other.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Default,
    Include,
    Exclude,
}

/// The names of one parameter, resolved against the resource type.
#[derive(Debug, Default)]
struct Selection {
    /// Whole schemas named by URN alone (lower-case URN).
    schemas: HashSet<String>,
    /// (lower-case schema URN, lower-case attribute name) → named whole?, named sub-attributes
    /// (lower-case).
    attrs: HashMap<(String, String), (bool, HashSet<String>)>,
}

impl Selection {
    fn get(&self, schema: &str, attr: &str) -> Option<&(bool, HashSet<String>)> {
        self.attrs
            .get(&(schema.to_ascii_lowercase(), attr.to_ascii_lowercase()))
    }

    fn whole_schema(&self, schema: &str) -> bool {
        self.schemas.contains(&schema.to_ascii_lowercase())
    }
}

impl Projection {
    /// Parses the `attributes` and `excludedAttributes` query parameters
    /// (RFC 7644 §3.4.2.5; comma-separated attribute names) for resources of `view`.
    /// `None` or an empty string means the parameter is absent.
    ///
    /// # Errors
    ///
    /// `invalidValue` for a malformed attribute name.
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
        view: &ResourceTypeView,
    ) -> ScimResult<Projection> {
        let attributes = attributes.filter(|s| !s.trim().is_empty());
        let excluded = excluded.filter(|s| !s.trim().is_empty());
        let (mode, list) = match (attributes, excluded) {
            (Some(a), _) => (Mode::Include, a),
            (None, Some(e)) => (Mode::Exclude, e),
            (None, None) => return Ok(Self::default_for(view)),
        };
        let selection = parse_selection(list, view)?;
        Ok(Self::build(view, mode, &selection))
    }

    /// The projection without parameters (RFC 7643 §2.2): every attribute except
    /// `returned: never` and `returned: request` ones.
    pub fn default_for(view: &ResourceTypeView) -> Projection {
        Self::build(view, Mode::Default, &Selection::default())
    }

    fn build(view: &ResourceTypeView, mode: Mode, selection: &Selection) -> Projection {
        let keep = mode != Mode::Include;
        let mut rules = schema_rules(
            view.core_schema(),
            view.common_attributes(),
            mode,
            selection,
        );
        rules.push(("schemas".into(), Rule::Whole));
        for (ext, _) in view.extensions() {
            let level = Level::new(schema_rules(ext, &[], mode, selection), keep);
            rules.push((ext.id.clone(), level.into_rule()));
        }
        let top = Level::new(rules, keep);
        let changed_keys = top
            .keep_unknown
            .then(|| {
                top.patch
                    .iter()
                    .map(|&i| {
                        let key = &top.rules[i].0;
                        plain_json(key).then(|| {
                            memchr::memmem::Finder::new(format!("\"{key}\"").as_bytes())
                                .into_owned()
                        })
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .flatten();
        let mut projection = Projection {
            top,
            changed_keys,
            whole: [false; 3],
            emitted: [false; 3],
        };
        projection.whole = CACHED_WHOLE.map(|key| projection.lookup_whole(key));
        projection.emitted = CACHED_WHOLE.map(|key| projection.lookup_emits(key));
        projection
    }

    /// Whether the projection leaves every top-level member of `text` — the JSON text of
    /// an object as this crate writes it (keys unescaped) — as it is: no key it omits or
    /// projects occurs in it as a quoted string anywhere (conservative: a value equal to
    /// such a key also counts). The members can then be copied as they are.
    pub(crate) fn keeps_text(&self, text: &str) -> bool {
        self.changed_keys
            .as_ref()
            .is_some_and(|keys| !keys.iter().any(|k| k.find(text.as_bytes()).is_some()))
    }

    /// Whether the projection emits anything of the top-level member `key` (in schema case).
    pub(crate) fn emits(&self, key: &str) -> bool {
        match CACHED_WHOLE.iter().position(|k| *k == key) {
            Some(i) => self.emitted[i],
            None => self.lookup_emits(key),
        }
    }

    fn lookup_emits(&self, key: &str) -> bool {
        let top = &self.top;
        match top.rules.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => !matches!(top.rules[i].1, Rule::Omit),
            Err(_) => top.keep_unknown,
        }
    }

    /// Whether the projection emits the top-level member `key` (in schema case) whole.
    pub(crate) fn keeps_whole(&self, key: &str) -> bool {
        match CACHED_WHOLE.iter().position(|k| *k == key) {
            Some(i) => self.whole[i],
            None => self.lookup_whole(key),
        }
    }

    fn lookup_whole(&self, key: &str) -> bool {
        let top = &self.top;
        match top.rules.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => matches!(top.rules[i].1, Rule::Whole),
            Err(_) => top.keep_unknown,
        }
    }

    /// Applies the projection to a resource's attributes; the output keeps schema-case keys
    /// in sorted order.
    pub fn apply(&self, attrs: &Map<String, Value>) -> Map<String, Value> {
        self.top.apply_object(attrs).unwrap_or_default()
    }

    /// Applies the projection to a resource (see [`Projection::apply`]).
    pub fn apply_resource(&self, resource: &Resource) -> Map<String, Value> {
        self.apply(resource.attributes())
    }

    /// Applies the projection to a resource and returns the JSON response body.
    pub fn to_json(&self, resource: &Resource) -> Value {
        Value::Object(self.apply(resource.attributes()))
    }
}

fn schema_rules(
    schema: &Schema,
    common: &[AttributeDef],
    mode: Mode,
    selection: &Selection,
) -> Vec<(String, Rule)> {
    let whole = selection.whole_schema(&schema.id);
    schema
        .attributes
        .iter()
        .chain(common)
        .map(|def| {
            let sel = selection.get(&schema.id, &def.name);
            (def.name.clone(), rule_for(def, mode, whole, sel))
        })
        .collect()
}

/// The rule for one attribute (or sub-attribute) `def`; `whole` is whether its schema (or
/// parent) was named as a whole.
fn rule_for(
    def: &AttributeDef,
    mode: Mode,
    whole: bool,
    sel: Option<&(bool, HashSet<String>)>,
) -> Rule {
    let named_whole = whole || sel.is_some_and(|(w, _)| *w);
    let named_subs = sel.map(|(_, s)| s).filter(|s| !s.is_empty());
    match def.returned {
        Returned::Never => return Rule::Omit,
        Returned::Always => return whole_rule(def),
        Returned::Default | Returned::Request => {}
    }
    match mode {
        Mode::Default if def.returned == Returned::Request => Rule::Omit,
        Mode::Default => whole_rule(def),
        Mode::Include if named_whole => whole_rule(def),
        Mode::Include => match named_subs {
            Some(subs) => sub_rule(def, mode, subs),
            None => Rule::Omit,
        },
        Mode::Exclude if def.returned == Returned::Request || named_whole => Rule::Omit,
        Mode::Exclude => match named_subs {
            Some(subs) => sub_rule(def, mode, subs),
            None => whole_rule(def),
        },
    }
}

/// The rule for a complex attribute with some sub-attributes named.
fn sub_rule(def: &AttributeDef, mode: Mode, subs: &HashSet<String>) -> Rule {
    let mut rules = Vec::new();
    for sub in &def.sub_attributes {
        let named = subs.contains(&sub.name.to_ascii_lowercase());
        let rule = match (sub.returned, mode) {
            (Returned::Never, _) => Rule::Omit,
            (Returned::Always, _) => whole_rule(sub),
            (_, Mode::Include) if named => whole_rule(sub),
            (_, Mode::Include) => Rule::Omit,
            (Returned::Request, _) => Rule::Omit,
            (_, _) if named => Rule::Omit,
            (_, _) => whole_rule(sub),
        };
        rules.push((sub.name.clone(), rule));
    }
    Level::new(rules, mode != Mode::Include).into_rule()
}

/// The whole attribute, minus `never` and `request` sub-attributes.
fn whole_rule(def: &AttributeDef) -> Rule {
    if def.attr_type != AttributeType::Complex
        || def
            .sub_attributes
            .iter()
            .all(|s| matches!(s.returned, Returned::Default | Returned::Always))
    {
        return Rule::Whole;
    }
    let rules = def
        .sub_attributes
        .iter()
        .map(|s| {
            let rule = match s.returned {
                Returned::Never | Returned::Request => Rule::Omit,
                _ => whole_rule(s),
            };
            (s.name.clone(), rule)
        })
        .collect();
    Level::new(rules, true).into_rule()
}

/// RFC 7643 §2.1 `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`,
/// and the `$ref` sub-attribute.
fn is_attr_name(name: &str) -> bool {
    name == "$ref"
        || name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_selection(list: &str, view: &ResourceTypeView) -> ScimResult<Selection> {
    let mut selection = Selection::default();
    for raw in list.split(',') {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case("schemas") {
            continue;
        }
        // A schema URN alone: the whole extension (or the whole core schema).
        if let Some(uri) = view.schema_uris().find(|u| u.eq_ignore_ascii_case(name)) {
            selection.schemas.insert(uri.to_ascii_lowercase());
            continue;
        }
        let Some((schema, path)) = split_urn(name, view) else {
            // An unknown URN selects nothing.
            continue;
        };
        let (attr, sub) = match path.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (path, None),
        };
        if !is_attr_name(attr) || sub.is_some_and(|s| !is_attr_name(s)) {
            let hint = if name.contains('[') {
                " (a value filter such as `emails[type eq \"work\"]` cannot select elements \
                 here; name the attribute, e.g. `emails`, or a sub-attribute, e.g. `emails.value`)"
            } else {
                ""
            };
            return Err(ScimError::InvalidValue(format!(
                "malformed attribute name `{name}` in attributes/excludedAttributes \
                 (RFC 7644 §3.9, §3.10){hint}"
            )));
        }
        let Some(location) = view.find(schema, attr) else {
            continue;
        };
        let entry = selection
            .attrs
            .entry((
                location.schema.id.to_ascii_lowercase(),
                location.attr.name.to_ascii_lowercase(),
            ))
            .or_default();
        match sub {
            None => entry.0 = true,
            Some(sub) => {
                entry.1.insert(sub.to_ascii_lowercase());
            }
        }
    }
    Ok(selection)
}

/// Splits a URN-qualified name into (schema URN, rest); an unqualified name gives
/// `(None, name)`; a URN of no schema of the resource type gives `None`.
fn split_urn<'n>(name: &'n str, view: &ResourceTypeView) -> Option<(Option<&'n str>, &'n str)> {
    if !name
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        return Some((None, name));
    }
    for uri in view.schema_uris() {
        let n = uri.len();
        if name.len() > n + 1
            && name.is_char_boundary(n)
            && name[..n].eq_ignore_ascii_case(uri)
            && name.as_bytes()[n] == b':'
        {
            return Some((Some(&name[..n]), &name[n + 1..]));
        }
    }
    None
}

/// One top-level member of a resource being written by [`Projection::write_object`]:
/// still JSON text (straight from storage) or a value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Member<'a> {
    /// A JSON value as text, copied unchanged when the projection keeps it whole.
    Raw(&'a serde_json::value::RawValue),
    /// A parsed value.
    Value(&'a Value),
}

/// Whether `s` needs no escaping in a JSON string (no control character, `"` or `\\`).
/// Checks every byte without branching, which compiles to vector code.
pub(crate) fn plain_json(s: &str) -> bool {
    s.bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'))
}

/// Writes `key` as a JSON string; keys that need no escaping are copied.
fn write_key(out: &mut Vec<u8>, key: &str) -> Result<(), serde_json::Error> {
    if plain_json(key) {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, key)
    }
}

/// The top-level members of a JSON object as text, in document order, without parsing the
/// values (`None` when `text` is not a JSON object whose keys need no unescaping).
pub(crate) fn raw_members(text: &str) -> Option<Vec<(&str, &serde_json::value::RawValue)>> {
    struct Entries<'a>(Vec<(&'a str, &'a serde_json::value::RawValue)>);
    impl<'de> serde::Deserialize<'de> for Entries<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Entries<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                    while let Some(entry) =
                        map.next_entry::<&'de str, &'de serde_json::value::RawValue>()?
                    {
                        out.push(entry);
                    }
                    Ok(Entries(out))
                }
            }
            d.deserialize_map(Visitor)
        }
    }
    serde_json::from_str::<Entries<'_>>(text).ok().map(|e| e.0)
}

impl Projection {
    /// Writes the projection of an object given as its top-level members (in output order,
    /// keys unique) as JSON to `out`: members kept whole are copied as they are (raw text
    /// is not re-parsed), members with sub-attribute rules are projected as
    /// [`Projection::apply`] does. The output equals serializing `apply` of the same object
    /// when the members come in key order.
    pub(crate) fn write_object<'a>(
        &self,
        out: &mut Vec<u8>,
        members: impl IntoIterator<Item = (&'a str, Member<'a>)>,
    ) -> Result<(), serde_json::Error> {
        let top = &self.top;
        out.push(b'{');
        let mut first = true;
        for (key, member) in members {
            let rule = top
                .rules
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| &top.rules[i].1);
            let projected;
            let member = match rule {
                None if !top.keep_unknown => continue,
                None | Some(Rule::Whole) => member,
                Some(Rule::Omit) => continue,
                Some(Rule::Subs(level)) => {
                    let parsed;
                    let value = match member {
                        Member::Value(v) => v,
                        Member::Raw(raw) => {
                            parsed = serde_json::from_str::<Value>(raw.get())?;
                            &parsed
                        }
                    };
                    match level.apply_value(value) {
                        Some(v) => {
                            projected = v;
                            Member::Value(&projected)
                        }
                        None => continue,
                    }
                }
            };
            if !first {
                out.push(b',');
            }
            first = false;
            write_key(out, key)?;
            out.push(b':');
            match member {
                Member::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
                Member::Value(v) => serde_json::to_writer(&mut *out, v)?,
            }
        }
        out.push(b'}');
        Ok(())
    }
}

//! Redaction of captured bodies: no value of an attribute that is never returned
//! (RFC 7643 §2.2 `returned: never`, e.g. `password`) reaches an observer.

use crate::schema::{AttributeDef, Returned, SchemaRegistry};
use serde_json::Value;
use std::borrow::Cow;

/// The text that stands in for a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Removes the values of `returned: never` attributes (RFC 7643 §2.2) from what an
/// observer sees. Built from a schema registry: every attribute of every schema, at any
/// depth, that is never returned is a secret, matched by name case-insensitively
/// (RFC 7643 §2.1), with or without its schema URN. Errs on the side of hiding: a
/// member of any object named like a secret is hidden, wherever it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Lower-case names of the secret attributes.
    secrets: Vec<String>,
}

impl Redactor {
    /// The redactor of `registry`'s schemas.
    pub fn new(registry: &SchemaRegistry) -> Self {
        fn collect(attributes: &[AttributeDef], out: &mut Vec<String>) {
            for attribute in attributes {
                if attribute.returned == Returned::Never {
                    out.push(attribute.name.to_lowercase());
                }
                collect(&attribute.sub_attributes, out);
            }
        }
        let mut secrets = Vec::new();
        for schema in registry.schemas() {
            collect(&schema.attributes, &mut secrets);
        }
        secrets.sort();
        secrets.dedup();
        Self { secrets }
    }

    /// The lower-case names of the attributes this redactor hides.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(String::as_str)
    }

    fn is_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    /// Whether an attribute name or PATCH path (RFC 7644 §3.5.2: `password`,
    /// `urn:…:User:password`, `name.givenName`, `emails[type eq "work"].value`) names a
    /// secret attribute or a sub-attribute of one.
    pub fn names_secret(&self, path: &str) -> bool {
        if self.secrets.is_empty() {
            return false;
        }
        // Value filters say which elements, not which attribute: leave them out.
        let mut outside = String::with_capacity(path.len());
        let mut depth = 0usize;
        for c in path.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                c if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        let unqualified = outside.rsplit(':').next().unwrap_or_default();
        unqualified
            .split('.')
            .any(|segment| self.is_secret(segment.trim()))
    }

    /// Whether free text (a filter, a query string) mentions a secret attribute as a word.
    pub fn mentions_secret(&self, text: &str) -> bool {
        !self.secrets.is_empty()
            && text
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '$'))
                .any(|word| self.is_secret(word))
    }

    /// Hides every secret value in a JSON document: members named like a secret (with or
    /// without a URN), the `value` of an operation whose `path` names one (PATCH, RFC 7644
    /// §3.5.2), and a `filter` that mentions one (RFC 7644 §3.4.3).
    pub fn redact(&self, value: &mut Value) {
        match value {
            Value::Object(members) => {
                let path_is_secret = members
                    .get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|path| self.names_secret(path));
                for (key, member) in members.iter_mut() {
                    let hide = self.names_secret(key)
                        || (path_is_secret && key.eq_ignore_ascii_case("value"))
                        || (key.eq_ignore_ascii_case("filter")
                            && member.as_str().is_some_and(|f| self.mentions_secret(f)));
                    if hide {
                        *member = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact(member);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact(item);
                }
            }
            _ => {}
        }
    }

    /// A captured body as text an observer may keep: `None` when empty; for anything that
    /// is not JSON (which cannot be searched for secrets) only its size; JSON that cannot
    /// hold a secret, as it came; other JSON with every secret hidden (written anew, so
    /// its members come in sorted order).
    pub fn body(&self, body: &[u8]) -> Option<String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        // Most bodies never spell a secret's name: then they need only be known to be JSON
        // (no tree built and written again, which cost about 50 000 instructions for a
        // User's GET, measured), and keep their text.
        if !self.may_hold_secret(body) {
            if let Ok(text) = std::str::from_utf8(body) {
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    return Some(text.trim().to_owned());
                }
            }
        }
        Some(match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                self.redact(&mut value);
                value.to_string()
            }
            Err(_) => format!("[{} bytes that are not JSON; not shown]", body.len()),
        })
    }

    /// Whether JSON text might hold a secret: it spells a secret's name (in any letter
    /// case), or it has a `\\u` escape, which could spell one.
    fn may_hold_secret(&self, body: &[u8]) -> bool {
        !self.secrets.is_empty()
            && (contains(body, b"\\u", false)
                || self
                    .secrets
                    .iter()
                    .any(|secret| contains(body, secret.as_bytes(), true)))
    }

    /// A query string an observer may keep: [`REDACTED`] as a whole when it mentions a
    /// secret attribute (a filter on `password`, say), after percent-decoding.
    pub fn query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        let decoded = percent_encoding::percent_decode_str(query).decode_utf8_lossy();
        if self.mentions_secret(&decoded.replace('+', " ")) {
            Cow::Borrowed(REDACTED)
        } else {
            Cow::Borrowed(query)
        }
    }
}

/// Whether `haystack` contains `needle` (ASCII letters in any case when `fold`): one pass
/// that compares further only where the first byte matches.
fn contains(haystack: &[u8], needle: &[u8], fold: bool) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let same = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    haystack.iter().enumerate().any(|(at, &byte)| {
        same(byte, first)
            && haystack
                .get(at + 1..at + needle.len())
                .is_some_and(|tail| tail.iter().zip(rest).all(|(&a, &b)| same(a, b)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// JSON made of the names and values that matter to redaction.
    fn json_value() -> impl Strategy<Value = Value> {
        let words = prop::sample::select(vec![
            "password",
            "PassWord",
            "userName",
            "path",
            "value",
            "filter",
            "op",
            "x",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "name.givenName",
            "password eq \"a\"",
            "emails[type eq \"work\"]",
            "pass\u{77}ord",
            "é",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            words.clone().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((words.clone(), inner), 0..5).prop_map(|members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        /// Both ways through `body` (kept as sent, or searched and written anew) give the
        /// JSON that redacting the parsed body gives.
        #[test]
        fn body_agrees_with_redact(value in json_value(), pretty in any::<bool>(), escape in any::<bool>()) {
            let r = redactor();
            let mut text = if pretty {
                serde_json::to_string_pretty(&value).unwrap_or_default()
            } else {
                value.to_string()
            };
            if escape {
                text = text.replace("word", "\\u0077ord");
            }
            let mut expected = value.clone();
            r.redact(&mut expected);
            let shown = r.body(text.as_bytes()).unwrap_or_default();
            let shown: Value = serde_json::from_str(&shown).unwrap_or(Value::Null);
            prop_assert_eq!(shown, expected);
        }
    }

    fn redactor() -> Redactor {
        Redactor::new(&SchemaRegistry::default())
    }

    #[test]
    fn finds_needles() {
        assert!(contains(b"a PassWord b", b"password", true));
        assert!(!contains(b"a PassWord b", b"password", false));
        assert!(contains(b"x\\u0041", b"\\u", false));
        assert!(!contains(b"passwor", b"password", true));
        assert!(contains(b"password", b"password", true));
        assert!(contains(b"", b"", true));
    }

    #[test]
    fn the_builtin_registry_hides_password() {
        assert_eq!(redactor().secrets().collect::<Vec<_>>(), ["password"]);
    }

    #[test]
    fn names_and_paths() {
        let r = redactor();
        for secret in [
            "password",
            "PASSWORD",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "password[value eq \"x\"]",
            " password ",
        ] {
            assert!(r.names_secret(secret), "{secret}");
        }
        for plain in [
            "userName",
            "emails[value eq \"password\"].value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "passwords",
            "/Users/password",
        ] {
            assert!(!r.names_secret(plain), "{plain}");
        }
    }

    #[test]
    fn resources_patch_operations_bulk_data_and_filters() {
        let r = redactor();
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {
                    "userName": "bjensen", "password": "t1meMach1ne",
                    "urn:ietf:params:scim:schemas:core:2.0:User:Password": "again"
                }},
                {"op": "replace", "path": "password", "value": "s3cr3t"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "value": {"x": "s3cr3t2"}},
                {"op": "replace", "value": {"password": "s3cr3t3", "displayName": "Babs"}},
                {"op": "replace", "path": "displayName", "value": "password"}
            ],
            "filter": "password eq \"s3cr3t4\""
        });
        r.redact(&mut body);
        let text = body.to_string();
        for secret in [
            "t1meMach1ne",
            "again",
            "s3cr3t\"",
            "s3cr3t2",
            "s3cr3t3",
            "s3cr3t4",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(body["Operations"][0]["data"]["password"], REDACTED);
        assert_eq!(body["Operations"][0]["data"]["userName"], "bjensen");
        assert_eq!(body["Operations"][3]["value"]["displayName"], "Babs");
        // A value that merely reads "password" under another attribute stays.
        assert_eq!(body["Operations"][4]["value"], "password");
    }

    #[test]
    fn bodies_and_queries() {
        let r = redactor();
        assert_eq!(r.body(b""), None);
        assert_eq!(r.body(b" \n"), None);
        assert_eq!(
            r.body(br#"{"userName":"a","password":"p"}"#).as_deref(),
            Some(r#"{"password":"[redacted]","userName":"a"}"#)
        );
        // Without a secret's name the text is kept as it came (member order included).
        assert_eq!(
            r.body(b" {\"userName\": \"a\", \"active\": true}\n")
                .as_deref(),
            Some("{\"userName\": \"a\", \"active\": true}")
        );
        // An escape may spell the name: the body is searched as JSON.
        let escaped = r
            .body(br#"{"pass\u0077ord":"hunter2"}"#)
            .unwrap_or_default();
        assert_eq!(escaped, r#"{"password":"[redacted]"}"#);
        // Not JSON, so not searchable: only its size is shown.
        let broken = r.body(br#"{"password":"hunter2",}"#).unwrap_or_default();
        assert!(!broken.contains("hunter2"), "{broken}");
        assert!(broken.contains("23 bytes"), "{broken}");
        assert_eq!(
            r.query("filter=userName%20eq%20%22a%22"),
            "filter=userName%20eq%20%22a%22"
        );
        assert_eq!(r.query("filter=pass%77ord%20eq%20%22x%22"), REDACTED);
        assert_eq!(r.query("filter=password+eq+%22x%22"), REDACTED);
    }
}

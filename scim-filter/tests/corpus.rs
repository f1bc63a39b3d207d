//! Fixture corpora for the parser (RFC 7644 §3.4.2.2, §3.5.2): every filter of
//! `fixtures/valid_filters.txt` parses and round-trips through `Display`; every filter of
//! `fixtures/invalid_filters.txt` fails with `invalidFilter` at the listed byte offset; and
//! tables of valid and invalid PATCH paths.

// Helpers outside `#[test]` functions may fail loudly too (clippy.toml only covers tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use scim_filter::{
    AttrPath, CompValue, CompareOp, Filter, FilterErrorKind, PatchPath, parse_filter, parse_path,
};

const VALID: &str = include_str!("fixtures/valid_filters.txt");
const INVALID: &str = include_str!("fixtures/invalid_filters.txt");

fn is_comment(line: &str) -> bool {
    let trimmed = line.trim_start_matches([' ', '\t']);
    trimmed.is_empty() && line.is_empty() || line.starts_with('#')
}

fn valid_filters() -> Vec<&'static str> {
    VALID
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn invalid_filters() -> Vec<(usize, &'static str)> {
    INVALID
        .lines()
        .filter(|l| !is_comment(l))
        .map(|l| {
            let (offset, filter) = l.split_once('\t').expect("`<offset>\\t<filter>`");
            (offset.parse().expect("numeric offset"), filter)
        })
        .collect()
}

#[test]
fn valid_corpus_is_big_enough() {
    assert!(valid_filters().len() >= 150, "{}", valid_filters().len());
    assert!(invalid_filters().len() >= 60, "{}", invalid_filters().len());
}

#[test]
fn valid_filters_parse_and_round_trip() {
    let mut failures = Vec::new();
    for text in valid_filters() {
        let parsed = match parse_filter(text) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{text:?}: {e}"));
                continue;
            }
        };
        let printed = parsed.to_string();
        match parse_filter(&printed) {
            Ok(again) if again == parsed => {
                assert_eq!(
                    again.to_string(),
                    printed,
                    "Display is not canonical for {text:?}"
                );
            }
            Ok(again) => failures.push(format!("{text:?}: {printed:?} reads back as {again:?}")),
            Err(e) => failures.push(format!("{text:?}: {printed:?} does not parse: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_filters_fail_at_the_listed_offset() {
    let mut failures = Vec::new();
    for (offset, text) in invalid_filters() {
        match parse_filter(text) {
            Ok(f) => failures.push(format!("{text:?}: parsed as {f:?}")),
            Err(e) => {
                if e.kind != FilterErrorKind::InvalidFilter {
                    failures.push(format!("{text:?}: kind {:?}", e.kind));
                }
                if e.offset != offset {
                    failures.push(format!(
                        "{text:?}: offset {} instead of {offset}: {e}",
                        e.offset
                    ));
                }
                if e.message.is_empty() || e.message.starts_with("could not read") {
                    failures.push(format!("{text:?}: unhelpful message {e}"));
                }
                assert_eq!(e.to_string(), format!("{} at {}", e.message, e.offset));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn attr(name: &str) -> AttrPath {
    AttrPath::new(name)
}

fn eq(path: AttrPath, value: &str) -> Filter {
    Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::String(value.into()),
    }
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[test]
fn valid_patch_paths() {
    let member = "2819c223-7f76-453a-919d-413861904646";
    let table: Vec<(&str, PatchPath)> = vec![
        ("members", PatchPath::Attr(attr("members"))),
        (
            "name.familyName",
            PatchPath::Attr(attr("name").with_sub_attr("familyName")),
        ),
        ("active", PatchPath::Attr(attr("active"))),
        ("userName", PatchPath::Attr(attr("userName"))),
        ("  displayName  ", PatchPath::Attr(attr("displayName"))),
        (
            "NAME.GIVENNAME",
            PatchPath::Attr(attr("NAME").with_sub_attr("GIVENNAME")),
        ),
        (
            "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]",
            PatchPath::Value {
                path: attr("members"),
                filter: eq(attr("value"), member),
                sub_attr: None,
            },
        ),
        (
            "members[value eq \"2819c223-7f76-453a-919d-413861904646\"].displayName",
            PatchPath::Value {
                path: attr("members"),
                filter: eq(attr("value"), member),
                sub_attr: Some("displayName".into()),
            },
        ),
        (
            "emails[type eq \"work\"].value",
            PatchPath::Value {
                path: attr("emails"),
                filter: eq(attr("type"), "work"),
                sub_attr: Some("value".into()),
            },
        ),
        (
            "addresses[type eq \"work\"].locality",
            PatchPath::Value {
                path: attr("addresses"),
                filter: eq(attr("type"), "work"),
                sub_attr: Some("locality".into()),
            },
        ),
        (
            "addresses[type eq \"work\"]",
            PatchPath::Value {
                path: attr("addresses"),
                filter: eq(attr("type"), "work"),
                sub_attr: None,
            },
        ),
        (
            "emails[type eq \"work\" and value ew \"example.com\"]",
            PatchPath::Value {
                path: attr("emails"),
                filter: Filter::And(
                    Box::new(eq(attr("type"), "work")),
                    Box::new(Filter::Compare {
                        path: attr("value"),
                        op: CompareOp::Ew,
                        value: CompValue::String("example.com".into()),
                    }),
                ),
                sub_attr: None,
            },
        ),
        (
            "phoneNumbers[type eq \"mobile\"].value",
            PatchPath::Value {
                path: attr("phoneNumbers"),
                filter: eq(attr("type"), "mobile"),
                sub_attr: Some("value".into()),
            },
        ),
        (
            "members[$ref eq \"https://example.com/v2/Users/1\"]",
            PatchPath::Value {
                path: attr("members"),
                filter: eq(attr("$ref"), "https://example.com/v2/Users/1"),
                sub_attr: None,
            },
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            PatchPath::Attr(attr("employeeNumber").with_uri(ENTERPRISE)),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            PatchPath::Attr(attr("manager").with_uri(ENTERPRISE)),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            PatchPath::Attr(attr("manager").with_uri(ENTERPRISE).with_sub_attr("value")),
        ),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
            PatchPath::Attr(
                attr("name")
                    .with_uri("urn:ietf:params:scim:schemas:core:2.0:User")
                    .with_sub_attr("familyName"),
            ),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            PatchPath::Attr(
                attr("User").with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
            ),
        ),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
            PatchPath::Value {
                path: attr("emails").with_uri("urn:ietf:params:scim:schemas:core:2.0:User"),
                filter: eq(attr("type"), "work"),
                sub_attr: Some("value".into()),
            },
        ),
        (
            "emails[type eq \"work\" and not (primary eq false)].display",
            PatchPath::Value {
                path: attr("emails"),
                filter: Filter::And(
                    Box::new(eq(attr("type"), "work")),
                    Box::new(Filter::Not(Box::new(Filter::Compare {
                        path: attr("primary"),
                        op: CompareOp::Eq,
                        value: CompValue::Bool(false),
                    }))),
                ),
                sub_attr: Some("display".into()),
            },
        ),
    ];
    for (text, expected) in table {
        let parsed = parse_path(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(parsed, expected, "{text:?}");
        let printed = parsed.to_string();
        assert_eq!(
            parse_path(&printed),
            Ok(parsed),
            "{text:?} printed as {printed:?}"
        );
    }
}

#[test]
fn invalid_patch_paths() {
    let table: &[(&str, usize)] = &[
        ("", 0),
        ("   ", 0),
        ("name.", 5),
        (".name", 0),
        ("name..givenName", 5),
        ("name.givenName.x", 14),
        ("1name", 0),
        ("name givenName", 5),
        ("members[", 8),
        ("members[]", 8),
        ("members[value eq \"x\"", 20),
        ("members[value eq \"x\"]]", 21),
        ("members]", 7),
        ("members[value eq]", 16),
        ("members[value eq \"x\"].", 22),
        ("members[value eq \"x\"].display.x", 29),
        ("members[value eq \"x\"][type eq \"y\"]", 21),
        ("members[value[x eq \"y\"]]", 13),
        ("members.value[type eq \"x\"]", 7),
        ("members[value eq \"x\"] pr", 22),
        ("userName eq \"x\"", 9),
        ("title pr", 6),
        ("(members)", 0),
        ("not (members)", 4),
        ("members[value eq \"x]", 17),
        ("urn:ietf:params:scim:schemas:core:2.0:User:", 43),
        ("urn:ietf:params:scim:schemas:core:2.0:User:name.", 48),
        ("emails[type xx \"work\"].value", 12),
    ];
    let mut failures = Vec::new();
    for &(text, offset) in table {
        match parse_path(text) {
            Ok(p) => failures.push(format!("{text:?}: parsed as {p:?}")),
            Err(e) => {
                if e.kind != FilterErrorKind::InvalidPath || e.scim_type() != "invalidPath" {
                    failures.push(format!("{text:?}: kind {:?}", e.kind));
                }
                if e.offset != offset {
                    failures.push(format!(
                        "{text:?}: offset {} instead of {offset}: {e}",
                        e.offset
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

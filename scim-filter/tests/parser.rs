//! Parser behaviour beyond the fixture corpora: operator precedence and associativity
//! (RFC 7644 §3.4.2.2, Table 5), AST shapes, error messages and input limits.

// Helpers outside `#[test]` functions may fail loudly too (clippy.toml only covers tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use scim_filter::{
    AttrPath, CompValue, CompareOp, Filter, FilterErrorKind, Limits, PatchPath, parse_filter,
    parse_filter_with, parse_path, parse_path_with,
};
use serde_json::Number;

fn pr(name: &str) -> Filter {
    Filter::Present(AttrPath::new(name))
}

fn and(l: Filter, r: Filter) -> Filter {
    Filter::And(Box::new(l), Box::new(r))
}

fn or(l: Filter, r: Filter) -> Filter {
    Filter::Or(Box::new(l), Box::new(r))
}

fn not(f: Filter) -> Filter {
    Filter::Not(Box::new(f))
}

fn parse(text: &str) -> Filter {
    parse_filter(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn and_binds_tighter_than_or() {
    assert_eq!(
        parse("a pr and b pr or c pr"),
        or(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("a pr or b pr and c pr"),
        or(pr("a"), and(pr("b"), pr("c")))
    );
    assert_eq!(
        parse("a pr and b pr or c pr and d pr"),
        or(and(pr("a"), pr("b")), and(pr("c"), pr("d")))
    );
    assert_eq!(
        parse("a pr or b pr and c pr or d pr"),
        or(or(pr("a"), and(pr("b"), pr("c"))), pr("d"))
    );
    assert_eq!(
        parse("A PR AND B PR OR C PR"),
        or(and(pr("A"), pr("B")), pr("C"))
    );
}

#[test]
fn both_operators_are_left_associative() {
    assert_eq!(
        parse("a pr and b pr and c pr"),
        and(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("a pr or b pr or c pr"),
        or(or(pr("a"), pr("b")), pr("c"))
    );
}

#[test]
fn parentheses_override_precedence() {
    assert_eq!(
        parse("a pr and (b pr or c pr)"),
        and(pr("a"), or(pr("b"), pr("c")))
    );
    assert_eq!(
        parse("(a pr or b pr) and c pr"),
        and(or(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("a pr and (b pr and c pr)"),
        and(pr("a"), and(pr("b"), pr("c")))
    );
    assert_eq!(parse("((a pr))"), pr("a"));
}

#[test]
fn not_applies_to_its_parentheses_only() {
    assert_eq!(parse("not (a pr) and b pr"), and(not(pr("a")), pr("b")));
    assert_eq!(
        parse("not (a pr or b pr) and c pr"),
        and(not(or(pr("a"), pr("b"))), pr("c"))
    );
    assert_eq!(
        parse("a pr or not (b pr) and c pr"),
        or(pr("a"), and(not(pr("b")), pr("c")))
    );
    assert_eq!(parse("not(a pr)"), not(pr("a")));
    assert_eq!(parse("NOT  (  a pr  )"), not(pr("a")));
}

#[test]
fn display_adds_only_the_needed_parentheses() {
    let cases = [
        (or(and(pr("a"), pr("b")), pr("c")), "a pr and b pr or c pr"),
        (or(pr("a"), and(pr("b"), pr("c"))), "a pr or b pr and c pr"),
        (
            and(or(pr("a"), pr("b")), pr("c")),
            "(a pr or b pr) and c pr",
        ),
        (
            and(pr("a"), or(pr("b"), pr("c"))),
            "a pr and (b pr or c pr)",
        ),
        (
            and(pr("a"), and(pr("b"), pr("c"))),
            "a pr and (b pr and c pr)",
        ),
        (or(pr("a"), or(pr("b"), pr("c"))), "a pr or (b pr or c pr)"),
        (
            and(and(pr("a"), pr("b")), pr("c")),
            "a pr and b pr and c pr",
        ),
        (not(or(pr("a"), pr("b"))), "not (a pr or b pr)"),
        (and(not(pr("a")), pr("b")), "not (a pr) and b pr"),
    ];
    for (tree, text) in cases {
        assert_eq!(tree.to_string(), text);
        assert_eq!(parse(text), tree, "{text}");
    }
}

#[test]
fn attribute_paths() {
    let Filter::Present(p) =
        parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr")
    else {
        panic!()
    };
    assert_eq!(
        p.uri.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(p.name, "employeeNumber");
    assert_eq!(p.sub_attr, None);

    let Filter::Present(p) = parse("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName pr")
    else {
        panic!()
    };
    assert_eq!(
        p.uri.as_deref(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    assert_eq!(p.name, "name");
    assert_eq!(p.sub_attr.as_deref(), Some("familyName"));

    let Filter::Present(p) = parse("name.familyName pr") else {
        panic!()
    };
    assert_eq!(p, AttrPath::new("name").with_sub_attr("familyName"));

    let Filter::ValuePath { path, filter } = parse(r#"members[$ref eq "x"]"#) else {
        panic!()
    };
    assert_eq!(path, AttrPath::new("members"));
    let Filter::Compare { path, .. } = *filter else {
        panic!()
    };
    assert_eq!(path.name, "$ref");
}

#[test]
fn value_paths_keep_sub_attributes_out_of_the_path() {
    let Filter::ValuePath { path, filter } =
        parse(r#"emails[type eq "work" and not (value ew "example.org")]"#)
    else {
        panic!()
    };
    assert_eq!(path.sub_attr, None);
    assert!(matches!(*filter, Filter::And(..)));

    let PatchPath::Value { path, sub_attr, .. } =
        parse_path(r#"emails[type eq "work"].value"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(path, AttrPath::new("emails"));
    assert_eq!(sub_attr.as_deref(), Some("value"));
}

#[test]
fn values() {
    let value = |text: &str| match parse(&format!("x eq {text}")) {
        Filter::Compare {
            value,
            op: CompareOp::Eq,
            ..
        } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("null"), CompValue::Null);
    assert_eq!(value("NULL"), CompValue::Null);
    assert_eq!(value("True"), CompValue::Bool(true));
    assert_eq!(value("FALSE"), CompValue::Bool(false));
    assert_eq!(value("42"), CompValue::Number(Number::from(42u64)));
    assert_eq!(value("-7"), CompValue::Number(Number::from(-7i64)));
    assert_eq!(
        value("1.5"),
        CompValue::Number(Number::from_f64(1.5).unwrap())
    );
    assert_eq!(
        value("-2.5e3"),
        CompValue::Number(Number::from_f64(-2500.0).unwrap())
    );
    assert_eq!(
        value(r#""a\"b\\c\/d""#),
        CompValue::String("a\"b\\c/d".into())
    );
    assert_eq!(
        value(r#""\b\f\n\r\t""#),
        CompValue::String("\u{8}\u{c}\n\r\t".into())
    );
    assert_eq!(value(r#""\u00e9\u00C9""#), CompValue::String("éÉ".into()));
    assert_eq!(value(r#""\ud83d\ude00""#), CompValue::String("😀".into()));
    assert_eq!(value(r#""日本""#), CompValue::String("日本".into()));
}

#[test]
fn every_operator_in_every_case() {
    let ops = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("lt", CompareOp::Lt),
        ("ge", CompareOp::Ge),
        ("le", CompareOp::Le),
    ];
    for (text, op) in ops {
        let upper = text.to_uppercase();
        let mixed: String = text
            .chars()
            .enumerate()
            .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
            .collect();
        for spelling in [text.to_owned(), upper, mixed] {
            let Filter::Compare { op: parsed, .. } = parse(&format!("x {spelling} 1")) else {
                panic!()
            };
            assert_eq!(parsed, op);
        }
        assert_eq!(op.to_string(), text);
    }
}

fn error(text: &str) -> (usize, String) {
    let e = parse_filter(text).expect_err(text);
    assert_eq!(e.kind, FilterErrorKind::InvalidFilter);
    (e.offset, e.to_string())
}

#[test]
fn error_messages_say_what_was_expected() {
    assert_eq!(
        error(r#"userName xx "a""#),
        (
            9,
            "expected a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr` after `userName` at 9"
                .into()
        )
    );
    assert_eq!(
        error("userName eq"),
        (
            11,
            "expected a value (string, number, true, false or null) after `eq` at 11".into()
        )
    );
    assert_eq!(error("").1, "the filter is empty at 0");
    let contains = |text: &str, needle: &str| {
        let (_, message) = error(text);
        assert!(message.contains(needle), "{text:?}: {message}");
    };
    contains(r#"userName eq "abc"#, "unterminated string");
    contains(r#"userName eq "a\qb""#, "invalid escape `\\q`");
    contains(r#"userName eq "\ud800""#, "surrogate");
    contains("(a pr", "`)`");
    contains("a pr)", "unbalanced parentheses");
    contains(r#"emails[type eq "work""#, "`]`");
    contains(r#"emails[type eq "work"]]"#, "unbalanced brackets");
    contains(r#"a pr "x""#, "`pr` takes no value");
    contains("a pr and", "after `and`");
    contains(
        r#"not userName eq "x""#,
        "`not` must be followed by a filter in parentheses",
    );
    contains("userName eq bjensen", "double quotes");
    contains(r#"emails[type[value eq "x"]]"#, "cannot be nested");
    contains(r#"emails.type[value eq "x"]"#, "sub-attribute");
    contains(
        r#"userName eq "a" x"#,
        "expected `and`, `or` or the end of the filter",
    );
    contains("age eq 1.", "not a valid JSON number");
    contains("age eq 1e400", "out of range");
}

#[test]
fn path_errors_are_invalid_path() {
    for text in [
        "",
        "name.",
        "members[value eq]",
        "a b",
        "emails[type eq \"x\"].a.b",
    ] {
        let e = parse_path(text).expect_err(text);
        assert_eq!(e.kind, FilterErrorKind::InvalidPath, "{text:?}");
        assert_eq!(e.scim_type(), "invalidPath");
    }
    assert_eq!(parse_path("").unwrap_err().message, "the path is empty");
}

#[test]
fn length_limit() {
    let limits = Limits::new(16, 32);
    assert!(parse_filter_with("abcdefghijklm pr", &limits).is_ok());
    let e = parse_filter_with("abcdefghijklmn pr", &limits).unwrap_err();
    assert_eq!(e.offset, 16);
    assert_eq!(e.kind, FilterErrorKind::InvalidFilter);
    let e = parse_path_with("abcdefghijklmnopq", &limits).unwrap_err();
    assert_eq!((e.offset, e.kind), (16, FilterErrorKind::InvalidPath));

    // 1 MB of `a pr and `: rejected by the default limit, not a crash.
    let long = "a pr and ".repeat(1024 * 1024 / 9);
    let e = parse_filter(&long).unwrap_err();
    assert_eq!(e.offset, Limits::default().max_length);
    assert!(e.message.contains("limit"), "{e}");
}

#[test]
fn depth_limit() {
    let nested = |depth: usize| format!("{}a pr{}", "(".repeat(depth), ")".repeat(depth));
    assert!(parse_filter(&nested(32)).is_ok());
    let e = parse_filter(&nested(33)).unwrap_err();
    assert_eq!(e.offset, 32);
    assert!(e.message.contains("nested"), "{e}");

    let limits = Limits::new(8192, 3);
    assert!(parse_filter_with(&nested(3), &limits).is_ok());
    assert_eq!(
        parse_filter_with(&nested(4), &limits).unwrap_err().offset,
        3
    );
    assert!(parse_filter_with("not (not (emails[type pr]))", &limits).is_ok());
    assert_eq!(
        parse_filter_with("not (not (not (emails[type pr])))", &limits)
            .unwrap_err()
            .offset,
        21
    );
    assert_eq!(
        parse_path_with("emails[((type pr))]", &limits).unwrap(),
        parse_path("emails[((type pr))]").unwrap()
    );
    assert_eq!(
        parse_path_with("emails[(((type pr)))]", &limits)
            .unwrap_err()
            .offset,
        9
    );

    // Brackets inside strings do not count.
    let in_string = format!("x eq \"{}\"", "(".repeat(100));
    assert!(parse_filter(&in_string).is_ok());
}

#[test]
fn huge_inputs_fail_cleanly() {
    // 100 000 nested parentheses: over the default length limit ...
    let deep = format!("{}a pr{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(parse_filter(&deep).is_err());
    assert!(parse_path(&deep).is_err());
    // ... and, with the length limit lifted, over the depth limit (checked before parsing).
    let unlimited = Limits::new(usize::MAX, usize::MAX);
    let e = parse_filter_with(&deep, &unlimited).unwrap_err();
    assert!(e.message.contains("nested"), "{e}");
    let brackets = format!("{}a pr{}", "emails[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_filter_with(&brackets, &unlimited).is_err());
    let nots = format!("{}a pr{}", "not (".repeat(100_000), ")".repeat(100_000));
    assert!(parse_filter_with(&nots, &unlimited).is_err());

    // 1 MB of `a pr and …` with the length limit lifted: too many operators, not a crash.
    let long = format!("{}a pr", "a pr and ".repeat(1024 * 1024 / 9));
    let e = parse_filter_with(&long, &unlimited).unwrap_err();
    assert!(e.message.contains("operators"), "{e}");
}

#[test]
fn long_flat_chains_up_to_the_default_length() {
    for op in ["and", "or"] {
        let mut text = String::from("a pr");
        while text.len() + op.len() + 6 <= Limits::default().max_length {
            text.push_str(&format!(" {op} a pr"));
        }
        let filter = parse(&text);
        let printed = filter.to_string();
        assert_eq!(printed, text);
        assert_eq!(parse(&printed), filter);
    }
    // The deepest tree the hard operator cap allows is still fine to print, compare and drop.
    let unlimited = Limits::new(usize::MAX, usize::MAX);
    let text = format!("{}a pr", "a pr and ".repeat(1024));
    let filter = parse_filter_with(&text, &unlimited).unwrap();
    assert_eq!(filter.to_string(), text);
    assert_eq!(filter.clone(), filter);
    let text = format!("{}a pr", "a pr and ".repeat(1025));
    assert!(parse_filter_with(&text, &unlimited).is_err());
}

#[test]
fn deepest_nesting_allowed_is_fine_to_print_and_drop() {
    let unlimited = Limits::new(usize::MAX, usize::MAX);
    let text = format!("{}a pr{}", "not (".repeat(128), ")".repeat(128));
    let filter = parse_filter_with(&text, &unlimited).unwrap();
    assert_eq!(filter.to_string(), text);
    assert_eq!(
        parse_filter_with(&filter.to_string(), &unlimited).unwrap(),
        filter
    );
    assert!(!format!("{filter:?}").is_empty());
    let text = format!("{}a pr{}", "not (".repeat(129), ")".repeat(129));
    assert!(parse_filter_with(&text, &unlimited).is_err());
}

#[test]
fn schema_uri_prefix_must_be_a_urn() {
    // RFC 7643 §3 and §10: SCIM schema URIs are URNs; other schemes are not a URI prefix.
    let path = scim_filter::parse_path("urn:example:schemas:Custom:attr").unwrap();
    assert_eq!(
        path,
        scim_filter::PatchPath::Attr(
            scim_filter::AttrPath::new("attr").with_uri("urn:example:schemas:Custom")
        )
    );
    let err = scim_filter::parse_filter("http:example:attr pr").unwrap_err();
    assert_eq!(err.kind, scim_filter::FilterErrorKind::InvalidFilter);
    assert_eq!(err.offset, 4);
}

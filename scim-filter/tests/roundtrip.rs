//! Property test: for arbitrary syntax trees, `Display` prints text that the parser reads
//! back to the same tree (RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths).

// Helpers outside `#[test]` functions may fail loudly too (clippy.toml only covers tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use proptest::prelude::*;
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath, parse_filter, parse_path};
use serde_json::Number;

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
        1 => Just("$ref".to_owned()),
        // Keywords are valid attribute names too.
        1 => prop::sample::select(vec!["and", "or", "not", "pr", "eq", "true", "null", "AND", "Not"])
            .prop_map(str::to_owned),
    ]
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:core:2.0:Group".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "(urn|URN|Urn)(:[a-zA-Z0-9._~%-]{1,8}){1,5}",
    ]
}

fn attr_path(with_sub: bool) -> impl Strategy<Value = AttrPath> {
    let sub = if with_sub {
        prop::option::of(attr_name()).boxed()
    } else {
        Just(None).boxed()
    };
    (prop::option::of(uri()), attr_name(), sub).prop_map(|(uri, name, sub_attr)| AttrPath {
        uri,
        name,
        sub_attr,
    })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ])
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<u64>().prop_map(Number::from),
        any::<i64>().prop_map(Number::from),
        // Simple decimals, as they appear in filters.
        (-100_000i64..100_000, 0u32..6).prop_filter_map("finite", |(m, scale)| {
            Number::from_f64(m as f64 / 10f64.powi(scale as i32))
        }),
        // Any finite double: its shortest text form reads back to the same double.
        any::<f64>().prop_filter_map("finite", Number::from_f64),
    ]
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        number().prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        "[\"\\\\/ a-z\u{0}-\u{1f}éü😀]{0,12}".prop_map(CompValue::String),
    ]
}

fn attr_exp() -> impl Strategy<Value = Filter> {
    prop_oneof![
        attr_path(true).prop_map(Filter::Present),
        (attr_path(true), compare_op(), comp_value())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
    ]
}

/// `valFilter`: attribute expressions combined with and/or/not, no nested value paths.
fn val_filter() -> impl Strategy<Value = Filter> {
    attr_exp().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
        ]
    })
}

fn value_path() -> impl Strategy<Value = Filter> {
    (attr_path(false), val_filter()).prop_map(|(path, filter)| Filter::ValuePath {
        path,
        filter: Box::new(filter),
    })
}

/// The Entra ID extension: `valuePath "." ATTRNAME` and a `pr` or comparison.
fn element_test() -> impl Strategy<Value = Filter> {
    let test = prop_oneof![
        attr_name().prop_map(|name| Filter::Present(AttrPath::new(name))),
        (attr_name(), compare_op(), comp_value()).prop_map(|(name, op, value)| Filter::Compare {
            path: AttrPath::new(name),
            op,
            value
        }),
    ];
    (attr_path(false), val_filter(), test).prop_map(|(path, filter, test)| Filter::ElementTest {
        path,
        filter: Box::new(filter),
        test: Box::new(test),
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![3 => attr_exp(), 1 => value_path(), 1 => element_test()].prop_recursive(
        5,
        48,
        2,
        |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (inner.clone(), inner.clone())
                    .prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            ]
        },
    )
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path(true).prop_map(PatchPath::Attr),
        (
            attr_path(false),
            val_filter(),
            prop::option::of(attr_name())
        )
            .prop_map(|(path, filter, sub_attr)| PatchPath::Value {
                path,
                filter,
                sub_attr
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn filters_round_trip(f in filter()) {
        let text = f.to_string();
        let parsed = parse_filter(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "text: {}", text);
    }

    #[test]
    fn patch_paths_round_trip(p in patch_path()) {
        let text = p.to_string();
        let parsed = parse_path(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&p), "text: {}", text);
    }

    #[test]
    fn attr_paths_round_trip(path in attr_path(true)) {
        let text = path.to_string();
        prop_assert_eq!(parse_path(&text), Ok(PatchPath::Attr(path)), "text: {}", text);
    }

    /// Whatever the input, the parser returns (no panic), and what it accepts prints in a
    /// canonical form that reads back to the same tree.
    #[test]
    fn arbitrary_text_never_panics(text in "[a-z \"()\\[\\]\\\\.:$0-9-]{0,40}") {
        if let Ok(f) = parse_filter(&text) {
            prop_assert_eq!(parse_filter(&f.to_string()), Ok(f));
        }
        if let Ok(p) = parse_path(&text) {
            prop_assert_eq!(parse_path(&p.to_string()), Ok(p));
        }
    }
}

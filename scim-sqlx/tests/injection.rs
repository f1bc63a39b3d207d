//! SQL injection: filters carrying quotes, `%`, `_`, backslashes, `--`, `;` and U+0000 match
//! literally (through the engine, on both databases) and change nothing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::{InsecureNoAuthentication, Method, NoSessionsToRevoke, ScimEngine, ScimRequest};
use scim_sqlx::SqlStore;
use serde_json::json;

const NAMES: &[&str] = &[
    "o'brien",
    "100%",
    "a_b",
    "back\\slash",
    "quote\"d",
    "x'); DROP TABLE scim_resources; --",
    "semi;colon",
    "--comment",
    "%",
    "_",
    "plain",
];

fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn list(engine: &ScimEngine, filter: &str) -> (u16, Vec<String>) {
    let req = ScimRequest::new(Method::Get, "/Users")
        .with_query(format!("filter={}&count=1000", enc(filter)));
    let res = engine.handle(req).await;
    let names = res.json()["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|u| u["userName"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (res.status, names)
}

async fn run(store: SqlStore) {
    let engine = ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap();
    for name in NAMES {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "displayName": name, "title": name});
        let req = ScimRequest::new(Method::Post, "/Users").with_body(body.to_string().into_bytes());
        assert_eq!(engine.handle(req).await.status, 201, "{name}");
    }
    let q = |s: &str| serde_json::to_string(s).unwrap();
    for name in NAMES {
        for attr in ["userName", "displayName", "title"] {
            let (status, found) = list(&engine, &format!("{attr} eq {}", q(name))).await;
            assert_eq!(
                (status, found),
                (200, vec![name.to_string()]),
                "{attr} eq {name}"
            );
            let (_, found) = list(&engine, &format!("{attr} co {}", q(name))).await;
            let expected: Vec<String> = NAMES
                .iter()
                .filter(|n| n.contains(name))
                .map(|n| n.to_string())
                .collect();
            let mut found_sorted = found.clone();
            found_sorted.sort();
            let mut expected_sorted = expected.clone();
            expected_sorted.sort();
            assert_eq!(
                found_sorted, expected_sorted,
                "{attr} co {name}: `%` and `_` are no wildcards"
            );
            let (_, found) = list(&engine, &format!("{attr} sw {}", q(name))).await;
            assert!(
                found.iter().all(|f| f.starts_with(name)),
                "{attr} sw {name}: {found:?}"
            );
        }
    }
    for payload in ["nul\u{0}", "\u{0}", "a\u{0}' OR '1'='1"] {
        let (status, found) = list(&engine, &format!("userName eq {}", q(payload))).await;
        assert_eq!((status, found.len()), (200, 0), "{payload:?}");
    }
    let (status, found) = list(&engine, r#"userName eq "x' OR '1'='1""#).await;
    assert_eq!((status, found.len()), (200, 0));
    let (status, all) = list(&engine, "userName pr").await;
    assert_eq!(
        (status, all.len()),
        (200, NAMES.len()),
        "nothing was dropped or changed"
    );
}

#[tokio::test]
async fn sqlite_filters_match_literally() {
    run(common::sqlite().await).await;
}

#[tokio::test]
async fn postgres_filters_match_literally() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    run(common::postgres(&server).await).await;
}

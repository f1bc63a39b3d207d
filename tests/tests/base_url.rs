//! Where `Location` and `meta.location` come from (RFC 7644 §3.1) on both adapters, under
//! each `BaseUrl` mode, with and without forwarding headers (RFC 7239 `Forwarded`,
//! `X-Forwarded-*`): forwarded facts count only in the trust-proxy mode, and the scheme is
//! the connection's, never the request's. Also: both adapters hand the engine the raw path,
//! which decodes it the same way for both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Method;
use scim_core::http::BaseUrl;
use scim_tests::{TestServer, send, start_actix_configured, start_axum_configured};
use serde_json::json;
use std::sync::Arc;

/// The forwarding headers of one case.
const CASES: &[(&str, &[(&str, &str)])] = &[
    ("none", &[]),
    (
        "x-forwarded",
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "proxy.example.com"),
        ],
    ),
    (
        "forwarded",
        &[
            (
                "forwarded",
                "for=192.0.2.60;proto=https;host=\"idp-facing.example.org\", for=10.0.0.1;proto=http",
            ),
            ("x-forwarded-host", "ignored.example.com"),
        ],
    ),
    (
        "bogus",
        &[
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "evil.example/x?y"),
        ],
    ),
];

/// The base URL each mode must report for each case.
fn expected(mode: &BaseUrl, case: &str, server: &TestServer) -> String {
    match (mode, case) {
        (BaseUrl::Fixed(_), _) => "https://scim.example.com/v2".to_owned(),
        (BaseUrl::FromRequestTrustingForwardedHeaders, "x-forwarded") => {
            "https://proxy.example.com/scim/v2".to_owned()
        }
        (BaseUrl::FromRequestTrustingForwardedHeaders, "forwarded") => {
            "https://idp-facing.example.org/scim/v2".to_owned()
        }
        _ => server.base.clone(),
    }
}

async fn check_modes(adapter: &str) {
    let modes = [
        BaseUrl::FromRequest,
        BaseUrl::FromRequestTrustingForwardedHeaders,
        BaseUrl::Fixed("https://scim.example.com/v2/".into()),
    ];
    for mode in modes {
        let store = Arc::new(scim_core::MemoryStore::new());
        let server = match adapter {
            "axum" => start_axum_configured(store, mode.clone()).await,
            _ => start_actix_configured(store, mode.clone()).await,
        };
        assert!(
            server.base.starts_with("http://127.0.0.1:"),
            "{}",
            server.base
        );
        for (i, (case, headers)) in CASES.iter().enumerate() {
            let want = expected(&mode, case, &server);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("forwarded-{i}"),
            });
            let mut request = server.with_body(Method::POST, "/Users", &body);
            for (name, value) in *headers {
                request = request.header(*name, *value);
            }
            let created = send(request).await;
            created.expect_status(201);
            let location = created.header("location").expect("Location");
            let what = format!("{adapter} {mode:?} {case}");
            assert!(
                location.starts_with(&format!("{want}/Users/")),
                "{what}: Location {location}, want it under {want}"
            );
            assert_eq!(
                created.json()["meta"]["location"],
                location.as_str(),
                "{what}"
            );
            let mut request = server.request(Method::GET, "/ServiceProviderConfig");
            for (name, value) in *headers {
                request = request.header(*name, *value);
            }
            let config = send(request).await;
            config.expect_status(200);
            assert_eq!(
                config.json()["meta"]["location"],
                format!("{want}/ServiceProviderConfig"),
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn axum_reports_forwarded_facts_only_when_trusting_a_proxy() {
    check_modes("axum").await;
}

#[tokio::test]
async fn actix_reports_forwarded_facts_only_when_trusting_a_proxy() {
    check_modes("actix").await;
}

/// Each path, sent as written, gets the same status on both adapters: the engine decodes
/// `%XX` escapes (unreserved or not) before routing.
#[tokio::test]
async fn both_adapters_route_encoded_paths_alike() {
    let cases: &[(&str, u16)] = &[
        (
            "/Schemas/urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser",
            200,
        ),
        ("/Us%65rs", 200),
        ("/%55sers?count=1", 200),
        ("/ResourceTypes/%55ser", 200),
        ("/Users/no%20such%20id", 404),
        ("/Users/a%2Fb", 404),
    ];
    for adapter in ["axum", "actix"] {
        let store = Arc::new(scim_core::MemoryStore::new());
        let server = match adapter {
            "axum" => start_axum_configured(store, BaseUrl::FromRequest).await,
            _ => start_actix_configured(store, BaseUrl::FromRequest).await,
        };
        for (path, status) in cases {
            let response = server.get(path).await;
            assert_eq!(
                response.status, *status,
                "{adapter} GET {path}: {}",
                response.text
            );
        }
        let schema = server
            .get("/Schemas/urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser")
            .await;
        assert_eq!(
            schema.json()["id"],
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "{adapter}"
        );
    }
}

//! Robustness: whatever a client sends, the engine answers with a SCIM response, never a
//! panic and never a 5xx for a client mistake (house rule; RFC 7644 §3.12).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimRequest,
};
use serde_json::{Value, json};

/// Arbitrary JSON, biased towards SCIM-looking keys so validation gets past the first check.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("userName".to_owned()),
        Just("displayName".to_owned()),
        Just("active".to_owned()),
        Just("emails".to_owned()),
        Just("members".to_owned()),
        Just("name".to_owned()),
        Just("value".to_owned()),
        Just("type".to_owned()),
        Just("primary".to_owned()),
        Just("schemas".to_owned()),
        Just("Operations".to_owned()),
        Just("op".to_owned()),
        Just("path".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "[a-zA-Z$.:\\[\\] \"]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("True".to_owned()),
            Just("add".to_owned()),
            Just("Replace".to_owned()),
            Just("remove".to_owned()),
            Just("emails[type eq \"work\"].value".to_owned()),
            Just("members[value eq \"x\"]".to_owned()),
            Just("urn:ietf:params:scim:api:messages:2.0:PatchOp".to_owned()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_owned()),
            ".{0,16}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Get),
        Just(Method::Post),
        Just(Method::Put),
        Just(Method::Patch),
        Just(Method::Delete),
        Just(Method::Other),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/Users".to_owned()),
        Just("/Groups".to_owned()),
        Just("/Users/KNOWN".to_owned()),
        Just("/Groups/KNOWN_GROUP".to_owned()),
        Just("/Users/.search".to_owned()),
        Just("/.search".to_owned()),
        Just("/Bulk".to_owned()),
        Just("/Me".to_owned()),
        Just("/Schemas".to_owned()),
        Just("/ResourceTypes/User".to_owned()),
        "/[a-zA-Z./%]{0,20}",
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("filter=userName%20eq%20%22a%22".to_owned()),
        Just("count=-5&startIndex=0".to_owned()),
        Just("sortBy=emails.value&sortOrder=descending".to_owned()),
        Just("attributes=name.givenName,urn:x".to_owned()),
        Just("cursor=".to_owned()),
        Just("cursor=garbage".to_owned()),
        "[a-zA-Z=&%+\"]{0,30}",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_client_request_yields_a_server_error(
        requests in prop::collection::vec((method(), path(), query(), json_value()), 1..6)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let engine = ScimEngine::builder(MemoryStore::new())
                .authenticator(InsecureNoAuthentication::for_tenant("t"))
                .revoker(NoSessionsToRevoke)
                .build()
                .unwrap();
            let user = engine
                .handle(ScimRequest::new(Method::Post, "/Users").with_body(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "known", "emails": [{"value": "k@example.com", "type": "work"}]}).to_string(),
                ))
                .await;
            assert_eq!(user.status, 201);
            let user_id = user.json()["id"].as_str().unwrap().to_owned();
            let group = engine
                .handle(ScimRequest::new(Method::Post, "/Groups").with_body(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g", "members": [{"value": user_id}]}).to_string(),
                ))
                .await;
            assert_eq!(group.status, 201);
            let group_id = group.json()["id"].as_str().unwrap().to_owned();
            for (method, path, query, body) in requests {
                let path = path.replace("KNOWN_GROUP", &group_id).replace("KNOWN", &user_id);
                let mut request = ScimRequest::new(method, path.clone()).with_body(body.to_string());
                request.query = query.clone();
                let response = engine.handle(request).await;
                // 501 is the documented answer for /Me without a bound user.
                assert!(
                    response.status < 500 || response.status == 501,
                    "{method:?} {path}?{query:?} {body} → {} {}",
                    response.status,
                    String::from_utf8_lossy(&response.body)
                );
                if !response.body.is_empty() {
                    let parsed: Value = serde_json::from_slice(&response.body).unwrap();
                    if response.status >= 400 {
                        assert_eq!(parsed["status"], json!(response.status.to_string()));
                    }
                }
            }
        });
    }
}

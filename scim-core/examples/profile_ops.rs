//! A bounded driver for instruction-count profiling (`valgrind --tool=callgrind`) of
//! `ScimEngine::handle` over `MemoryStore`, with the users the HTTP load test preloads.
//!
//! `cargo build --release -p scim-core --example profile_ops`, then
//! `valgrind --tool=callgrind target/release/examples/profile_ops <op> <iterations>` with
//! `<op>` one of `get`, `filter`, `patch`, `post`, `page`, `none` (setup only, to subtract).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use scim_core::schema::SchemaRegistry;
use scim_core::store::{ResourceMeta, StoredResource};
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, Principal, RequestContext,
    ScimEngine, ScimRequest, Store,
};
use serde_json::json;

const BASE: &str = "http://127.0.0.1:8081/scim/v2";
const TENANT: &str = "bench";
const USERS: usize = 1_000;

fn user_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "none".into());
    let iterations: usize = args.next().map_or(1_000, |n| n.parse().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    let ctx = RequestContext::new(Principal::new(TENANT, "preload"), BASE);
    rt.block_on(async {
        for i in 0..USERS {
            let mut attrs = json!({
                "userName": format!("user{i}"),
                "externalId": format!("ext-{i}"),
                "name": {
                    "givenName": format!("Given{i}"),
                    "familyName": format!("Family{i}"),
                    "formatted": format!("Given{i} Family{i}"),
                },
                "displayName": format!("User {i}"),
                "active": true,
                "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
            });
            attrs["schemas"] = json!([view.core_schema().id]);
            let attributes = attrs.as_object().cloned().unwrap();
            let meta = ResourceMeta::created_at(ctx.now);
            let user = StoredResource::from_map(user_id(i), meta, attributes, Vec::new());
            store.create(&ctx, view, &user).await.unwrap();
        }
    });
    let engine = ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant(TENANT))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap();
    let mut bytes = 0usize;
    for i in 0..iterations {
        let req = match op.as_str() {
            "get" => ScimRequest::new(Method::Get, format!("/Users/{}", user_id(i % USERS))),
            "filter" => ScimRequest::new(Method::Get, "/Users")
                .with_query(format!("filter=userName%20eq%20%22user{}%22", i % USERS)),
            "patch" => {
                let body = format!(
                    r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"replace","path":"displayName","value":"Name run-{i}"}}]}}"#
                );
                ScimRequest::new(Method::Patch, format!("/Users/{}", user_id(i % USERS)))
                    .with_header("content-type", "application/scim+json")
                    .with_body(body.into_bytes())
            }
            "post" => {
                let body = format!(
                    r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new{i}","externalId":"new-ext-{i}","name":{{"givenName":"G{i}","familyName":"F{i}"}},"displayName":"New {i}","active":true,"emails":[{{"value":"new{i}@example.com","type":"work","primary":true}}]}}"#
                );
                ScimRequest::new(Method::Post, "/Users")
                    .with_header("content-type", "application/scim+json")
                    .with_body(body.into_bytes())
            }
            "page" => ScimRequest::new(Method::Get, "/Users").with_query("count=100"),
            _ => break,
        };
        let res = rt.block_on(engine.handle(req.with_base_url(BASE)));
        assert!(res.status < 300, "status {}", res.status);
        bytes += res.body.len();
    }
    println!("{op}: {iterations} requests, {bytes} response bytes");
}

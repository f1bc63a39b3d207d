//! `SqlStore`'s copies for `Store::cached_copy`: it keeps what it created, read or wrote,
//! drops what it deleted, and keeps nothing when given no memory for copies; on both
//! databases. (How the engine uses a stale copy is tested in scim-core's
//! `tests/cached_copies.rs` and across two servers in the examples' replica test.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::{
    InsecureNoAuthentication, Method, NoSessionsToRevoke, Principal, RequestContext, ScimEngine,
    ScimRequest, Store,
};
use scim_sqlx::SqlStore;
use serde_json::{Value, json};

async fn send(engine: &ScimEngine, method: Method, path: &str, body: Option<Value>) -> u16 {
    let mut req = ScimRequest::new(method, path);
    if let Some(body) = body {
        req = req.with_body(body.to_string().into_bytes());
    }
    engine.handle(req).await.status
}

/// The store's copy of the User `id`: (version, displayName).
fn copy_of(engine: &ScimEngine, store: &SqlStore, id: &str) -> Option<(String, Value)> {
    let ctx = RequestContext::new(Principal::new("t", "test"), "https://example.com");
    let view = engine.registry().resource_type("User").unwrap();
    let copy = store.cached_copy(&ctx, view, id)?;
    let display = copy.attributes().unwrap().get("displayName").cloned();
    Some((copy.version().to_string(), display.unwrap_or(Value::Null)))
}

async fn run(store: SqlStore, keeps_copies: bool) {
    let engine = ScimEngine::builder(store.clone())
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap();
    let res = engine
        .handle(
            ScimRequest::new(Method::Post, "/Users").with_body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(res.status, 201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let created = copy_of(&engine, &store, &id);

    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Babs"}],
    });
    let path = format!("/Users/{id}");
    assert_eq!(send(&engine, Method::Patch, &path, Some(patch)).await, 200);
    let written = copy_of(&engine, &store, &id);
    assert_eq!(send(&engine, Method::Get, &path, None).await, 200);
    let read = copy_of(&engine, &store, &id);
    assert_eq!(send(&engine, Method::Delete, &path, None).await, 204);
    let deleted = copy_of(&engine, &store, &id);

    if keeps_copies {
        let v1 = created.expect("a copy of what was created");
        assert_eq!(v1.1, Value::Null);
        let v2 = written.expect("a copy of what was written");
        assert_eq!(v2.1, "Babs");
        assert_ne!(v1.0, v2.0, "the written version");
        assert_eq!(read, Some(v2), "a read keeps the same");
    } else {
        assert_eq!((created, written, read), (None, None, None));
    }
    assert_eq!(deleted, None, "no copy of a deleted resource");
}

#[tokio::test]
async fn sqlite_keeps_copies_of_what_it_read_or_wrote() {
    run(common::sqlite().await, true).await;
    let none = SqlStore::connect(&common::sqlite_url())
        .await
        .unwrap()
        .with_copy_cache_bytes(0);
    run(none, false).await;
}

#[tokio::test]
async fn postgres_keeps_copies_of_what_it_read_or_wrote() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    run(common::postgres(&server).await, true).await;
    let url = common::postgres_url(&server).await;
    let options = scim_sqlx::Options::default()
        .max_connections(4)
        .copy_cache_bytes(0);
    run(SqlStore::connect_with(&url, &options).await.unwrap(), false).await;
}

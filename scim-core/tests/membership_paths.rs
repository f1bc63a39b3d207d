//! Membership PATCHes (RFC 7644 §3.5.2): a store without `modify_members` gets the same
//! change through read-modify-write, and `If-Match` compares the same way on the members
//! path and the general path (a strong `"2"` matches a stored `W/"2"` on both).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::store::suite::RequiredOnly;
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimRequest,
    ScimResponse, Store,
};
use serde_json::{Value, json};

fn engine(store: impl Store) -> ScimEngine {
    ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

async fn send(
    engine: &ScimEngine,
    method: Method,
    path: &str,
    body: Value,
    if_match: Option<&str>,
) -> ScimResponse {
    let mut req = ScimRequest::new(method, path).with_body(body.to_string().into_bytes());
    if let Some(tag) = if_match {
        req = req.with_header("if-match", tag);
    }
    engine.handle(req).await
}

fn ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

#[tokio::test]
async fn modify_members_unsupported_falls_back_to_read_modify_write() {
    let store = MemoryStore::new();
    let engine = engine(RequiredOnly(store.clone()));
    let group = send(
        &engine,
        Method::Post,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}),
        None,
    )
    .await;
    let gid = group.json()["id"].as_str().unwrap().to_owned();
    let add =
        ops(json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]));
    let res = send(&engine, Method::Patch, &format!("/Groups/{gid}"), add, None).await;
    assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.header("etag"), Some(r#"W/"2""#));
    let remove = ops(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
    let res = send(
        &engine,
        Method::Patch,
        &format!("/Groups/{gid}"),
        remove.clone(),
        None,
    )
    .await;
    assert_eq!((res.status, res.header("etag")), (204, Some(r#"W/"3""#)));
    // Removing a non-member is a no-op on this path too (the fast path's semantics).
    let res = send(
        &engine,
        Method::Patch,
        &format!("/Groups/{gid}"),
        remove,
        None,
    )
    .await;
    assert_eq!((res.status, res.header("etag")), (204, Some(r#"W/"3""#)));
    let got = engine
        .handle(ScimRequest::new(Method::Get, format!("/Groups/{gid}")))
        .await
        .json();
    assert_eq!(got["members"].as_array().unwrap().len(), 1);
    assert_eq!(got["members"][0]["value"], "u2");
}

#[tokio::test]
async fn if_match_compares_alike_on_the_members_path_and_the_general_path() {
    for engine in [
        engine(MemoryStore::new()),
        engine(RequiredOnly(MemoryStore::new())),
    ] {
        let group = send(
            &engine,
            Method::Post,
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}),
            None,
        )
        .await;
        let path = format!("/Groups/{}", group.json()["id"].as_str().unwrap());
        let members = ops(json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]));
        let rename = ops(json!([{"op": "replace", "path": "displayName", "value": "H"}]));
        // Strong and weak forms of the current tag match on both paths …
        assert_eq!(
            send(
                &engine,
                Method::Patch,
                &path,
                members.clone(),
                Some(r#""1""#)
            )
            .await
            .status,
            204
        );
        assert_eq!(
            send(
                &engine,
                Method::Patch,
                &path,
                rename.clone(),
                Some(r#""2""#)
            )
            .await
            .status,
            200
        );
        let members2 = ops(json!([{"op": "add", "path": "members", "value": [{"value": "u2"}]}]));
        assert_eq!(
            send(&engine, Method::Patch, &path, members2, Some(r#"W/"3""#))
                .await
                .status,
            204
        );
        // … and a stale or foreign tag is 412 on both.
        for tag in [r#""abc""#, r#"W/"1""#] {
            assert_eq!(
                send(&engine, Method::Patch, &path, members.clone(), Some(tag))
                    .await
                    .status,
                412,
                "{tag}"
            );
            assert_eq!(
                send(&engine, Method::Patch, &path, rename.clone(), Some(tag))
                    .await
                    .status,
                412,
                "{tag}"
            );
        }
    }
}

//! Token revocation (the `TokenRevoker` contract): users left inactive or deleted are
//! revoked after the store write and before the 2xx answer; a revoker failure is a 503 and
//! the IdP's retry completes the revocation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engine_support;

use engine_support::*;
use scim_core::{DeletePolicy, Method, RevocationReason};
use serde_json::json;

fn one(tenant: &str, id: &str, reason: RevocationReason) -> Vec<Call> {
    vec![(tenant.to_owned(), vec![id.to_owned()], reason)]
}

#[tokio::test]
async fn patch_active_false_revokes() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["active"], json!(false));
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
}

#[tokio::test]
async fn entra_replace_false_revokes() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["active"], json!(false));
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
    // Path-less form (Okta).
    recorder.clear();
    let res = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
}

#[tokio::test]
async fn put_active_false_revokes() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = call(
        &engine,
        Method::Put,
        &format!("/Users/{id}"),
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "active": false})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
}

#[tokio::test]
async fn active_users_and_groups_are_not_revoked() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "active", "value": true}]),
    )
    .await;
    call(
        &engine,
        Method::Put,
        &format!("/Users/{id}"),
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"})),
    )
    .await;
    let gid = create_group(&engine, "g", &[&id]).await;
    patch_call(
        &engine,
        &format!("/Groups/{gid}"),
        json!([{"op": "replace", "path": "displayName", "value": "h"}]),
    )
    .await;
    call(&engine, Method::Delete, &format!("/Groups/{gid}"), None).await;
    assert!(recorder.calls().is_empty());
}

#[tokio::test]
async fn already_inactive_users_are_revoked_again() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    let deactivate = json!([{"op": "replace", "path": "active", "value": false}]);
    patch_call(&engine, &path, deactivate.clone()).await;
    let version = get(&engine, &path).await.header("etag").unwrap().to_owned();
    recorder.clear();
    // The IdP retries: a no-op write, but the revocation runs again.
    let res = patch_call(&engine, &path, deactivate).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("etag"),
        Some(version.as_str()),
        "no-op keeps the version"
    );
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
    // Any request that leaves the user inactive revokes.
    recorder.clear();
    patch_call(
        &engine,
        &path,
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await;
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
}

#[tokio::test]
async fn delete_revokes_and_a_retried_delete_revokes_again() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    assert_eq!(call(&engine, Method::Delete, &path, None).await.status, 204);
    assert_eq!(recorder.calls(), one("t1", &id, RevocationReason::Deleted));
    recorder.clear();
    assert_error(&call(&engine, Method::Delete, &path, None).await, 404, None);
    assert_eq!(recorder.calls(), one("t1", &id, RevocationReason::Deleted));
}

#[tokio::test]
async fn revoker_failure_is_503_and_the_retry_completes() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    recorder.fail(true);
    let deactivate = json!([{"op": "replace", "path": "active", "value": false}]);
    let res = patch_call(&engine, &path, deactivate.clone()).await;
    assert_error(&res, 503, None);
    assert!(recorder.calls().is_empty());
    // The write stays.
    assert_eq!(get(&engine, &path).await.json()["active"], json!(false));
    recorder.fail(false);
    let res = patch_call(&engine, &path, deactivate).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        recorder.calls(),
        one("t1", &id, RevocationReason::Deactivated)
    );
}

#[tokio::test]
async fn revoker_failure_on_delete_then_retry_revokes() {
    let (engine, recorder) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    recorder.fail(true);
    assert_error(&call(&engine, Method::Delete, &path, None).await, 503, None);
    assert_error(&get(&engine, &path).await, 404, None);
    recorder.fail(false);
    assert_error(&call(&engine, Method::Delete, &path, None).await, 404, None);
    assert_eq!(recorder.calls(), one("t1", &id, RevocationReason::Deleted));
}

#[tokio::test]
async fn deactivate_policy_revokes_as_deleted_also_on_retry() {
    let (engine, recorder) = engine_with(|b| b.delete_policy(DeletePolicy::Deactivate));
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    recorder.fail(true);
    assert_error(&call(&engine, Method::Delete, &path, None).await, 503, None);
    recorder.fail(false);
    assert_eq!(call(&engine, Method::Delete, &path, None).await.status, 204);
    assert_eq!(recorder.calls(), one("t1", &id, RevocationReason::Deleted));
    assert_eq!(get(&engine, &path).await.json()["active"], json!(false));
}

#[tokio::test]
async fn bulk_revokes_in_one_batch_per_reason() {
    let (engine, recorder) = engine();
    let a = create_user(&engine, "a").await;
    let b = create_user(&engine, "b").await;
    let c = create_user(&engine, "c").await;
    let deactivate = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    let res = call(
        &engine,
        Method::Post,
        "/Bulk",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "PATCH", "path": format!("/Users/{a}"), "data": deactivate},
                {"method": "PATCH", "path": format!("/Users/{b}"), "data": deactivate},
                {"method": "DELETE", "path": format!("/Users/{c}")},
            ]
        })),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        recorder.calls(),
        vec![
            ("t1".to_owned(), vec![a, b], RevocationReason::Deactivated),
            ("t1".to_owned(), vec![c], RevocationReason::Deleted),
        ]
    );
}

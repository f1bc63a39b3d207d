//! `POST /Bulk` end to end through `ScimEngine::handle` (RFC 7644 §3.7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use scim_core::{
    EngineConfig, InsecureNoAuthentication, MemoryStore, Method, RequestContext, RevocationError,
    RevocationReason, ScimEngine, ScimRequest, ScimResponse, TokenRevoker,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const BASE: &str = "https://example.com/scim/v2";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One revocation call: the user ids and the reason.
type Revocation = (Vec<String>, RevocationReason);

/// Records every revocation call.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Revocation>>>);

#[async_trait]
impl TokenRevoker for Recorder {
    async fn revoke(
        &self,
        _ctx: &RequestContext,
        user_ids: &[String],
        reason: RevocationReason,
    ) -> Result<scim_core::Revoked, RevocationError> {
        self.0.lock().unwrap().push((user_ids.to_vec(), reason));
        Ok(scim_core::Revoked::uncounted())
    }
}

fn engine_with(config: EngineConfig) -> (ScimEngine, Recorder) {
    let recorder = Recorder::default();
    let engine = ScimEngine::builder(MemoryStore::new())
        .authenticator(InsecureNoAuthentication::for_tenant("acme"))
        .revoker(recorder.clone())
        .config(config)
        .build()
        .unwrap();
    (engine, recorder)
}

fn engine() -> (ScimEngine, Recorder) {
    engine_with(EngineConfig::default())
}

async fn send(
    engine: &ScimEngine,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> ScimResponse {
    let mut request = ScimRequest::new(method, path).with_base_url(BASE);
    if let Some(body) = body {
        request = request
            .with_header("content-type", "application/scim+json")
            .with_body(serde_json::to_vec(&body).unwrap());
    }
    engine.handle(request).await
}

async fn bulk(engine: &ScimEngine, body: Value) -> ScimResponse {
    send(engine, Method::Post, "/Bulk", Some(body)).await
}

fn bulk_body(operations: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

/// The `Operations` of a successful Bulk response.
fn results(response: &ScimResponse) -> Vec<Value> {
    assert_eq!(response.status, 200, "{}", response.json());
    let body = response.json();
    assert_eq!(body["schemas"], json!([BULK_RESPONSE]));
    body["Operations"].as_array().unwrap().clone()
}

async fn create_user(engine: &ScimEngine, user_name: &str) -> String {
    let response = send(
        engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": [USER], "userName": user_name, "active": true})),
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.json());
    response.json()["id"].as_str().unwrap().to_owned()
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn rfc7644_example_creates_user_then_group_with_the_user_as_member() {
    let (engine, _) = engine();
    let response = bulk(
        &engine,
        bulk_body(json!([
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": [USER], "userName": "Alice"}},
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                      "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
        ])),
    )
    .await;
    let results = results(&response);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["method"], "POST");
    assert_eq!(results[0]["bulkId"], "qwerty");
    assert_eq!(results[0]["status"], "201");
    let user_location = results[0]["location"].as_str().unwrap();
    assert!(
        user_location.starts_with(&format!("{BASE}/Users/")),
        "{user_location}"
    );
    assert!(results[0]["version"].as_str().unwrap().starts_with("W/\""));
    assert_eq!(results[1]["bulkId"], "ytrewq");
    assert_eq!(results[1]["status"], "201");
    let user_id = user_location.rsplit('/').next().unwrap();
    let group_location = results[1]["location"].as_str().unwrap();
    let group_id = group_location.rsplit('/').next().unwrap();

    let group = send(&engine, Method::Get, &format!("/Groups/{group_id}"), None).await;
    assert_eq!(group.status, 200);
    assert_eq!(member_ids(&group.json()), [user_id.to_owned()]);
    let user = send(&engine, Method::Get, &format!("/Users/{user_id}"), None).await;
    assert_eq!(user.json()["groups"][0]["value"], group_id);
}

#[tokio::test]
async fn forward_references_are_resolved() {
    let (engine, _) = engine();
    let response = bulk(
        &engine,
        bulk_body(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "Admins",
                      "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u1",
             "data": {"schemas": [USER], "userName": "u1"}},
            {"method": "PATCH", "path": "/Groups/bulkId:g",
             "data": {"schemas": [PATCH_OP],
                      "Operations": [{"op": "replace", "path": "displayName", "value": "Root"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u2",
             "data": {"schemas": [USER], "userName": "u2"}},
        ])),
    )
    .await;
    let results = results(&response);
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "201", "200", "201"], "{results:?}");
    // Results come back in request order.
    let bulk_ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["bulkId"].as_str())
        .collect();
    assert_eq!(bulk_ids, ["g", "u1", "u2"]);
    let id_of = |i: usize| {
        results[i]["location"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let group = send(&engine, Method::Get, &format!("/Groups/{}", id_of(0)), None).await;
    assert_eq!(group.json()["displayName"], "Root");
    let mut expected = vec![id_of(1), id_of(3)];
    expected.sort();
    assert_eq!(member_ids(&group.json()), expected);
    assert_eq!(
        results[2]["location"],
        format!("{BASE}/Groups/{}", id_of(0))
    );
}

#[tokio::test]
async fn circular_references_fail_with_409_and_create_nothing() {
    let (engine, _) = engine();
    let response = bulk(
        &engine,
        bulk_body(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"schemas": [GROUP], "displayName": "A", "members": [{"value": "bulkId:b", "type": "Group"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"schemas": [GROUP], "displayName": "B", "members": [{"value": "bulkId:a", "type": "Group"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "c",
             "data": {"schemas": [USER], "userName": "independent"}},
        ])),
    )
    .await;
    let results = results(&response);
    for result in &results[..2] {
        assert_eq!(result["status"], "409");
        assert_eq!(result["response"]["status"], "409");
        assert!(
            result["response"]["detail"]
                .as_str()
                .unwrap()
                .contains("circular bulkId reference"),
            "{result}"
        );
    }
    assert_eq!(results[2]["status"], "201");
    let groups = send(&engine, Method::Get, "/Groups", None).await;
    assert_eq!(groups.json()["totalResults"], 0);
}

#[tokio::test]
async fn unknown_bulk_id_fails_that_operation_with_409() {
    let (engine, _) = engine();
    let response = bulk(
        &engine,
        bulk_body(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:ghost"}]}},
        ])),
    )
    .await;
    let results = results(&response);
    assert_eq!(results[0]["status"], "409");
    assert!(
        results[0]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("ghost")
    );
    assert!(results[0].get("location").is_none());
}

#[tokio::test]
async fn fail_on_errors_1_stops_after_the_first_error() {
    let (engine, _) = engine();
    create_user(&engine, "taken").await;
    let mut body = bulk_body(json!([
        {"method": "POST", "path": "/Users", "bulkId": "dup",
         "data": {"schemas": [USER], "userName": "taken"}},
        {"method": "POST", "path": "/Users", "bulkId": "never",
         "data": {"schemas": [USER], "userName": "never-created"}},
    ]));
    body["failOnErrors"] = json!(1);
    let results = results(&bulk(&engine, body).await);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["status"], "409");
    assert_eq!(results[0]["response"]["scimType"], "uniqueness");
    let users = send(&engine, Method::Get, "/Users", None).await;
    assert_eq!(users.json()["totalResults"], 1);
}

#[tokio::test]
async fn without_fail_on_errors_every_operation_runs() {
    let (engine, _) = engine();
    create_user(&engine, "taken").await;
    let results = results(
        &bulk(
            &engine,
            bulk_body(json!([
                {"method": "POST", "path": "/Users", "bulkId": "dup",
                 "data": {"schemas": [USER], "userName": "taken"}},
                {"method": "POST", "path": "/Users", "bulkId": "ok",
                 "data": {"schemas": [USER], "userName": "fresh"}},
            ])),
        )
        .await,
    );
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["status"], "409");
    assert_eq!(results[1]["status"], "201");
}

#[tokio::test]
async fn max_operations_exceeded_is_413() {
    let mut config = EngineConfig::default();
    config.bulk.max_operations = 2;
    let (engine, _) = engine_with(config);
    let op = json!({"method": "DELETE", "path": "/Users/nope"});
    let response = bulk(&engine, bulk_body(json!([op, op, op]))).await;
    assert_eq!(response.status, 413);
    let body = response.json();
    assert_eq!(body["status"], "413");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("maxOperations is 2"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_method_and_unknown_paths_fail_per_operation() {
    let (engine, _) = engine();
    let results = results(
        &bulk(
            &engine,
            bulk_body(json!([
                {"method": "GET", "path": "/Users"},
                {"method": "DELETE", "path": "/Users/does-not-exist"},
                {"method": "POST", "path": "/Devices", "bulkId": "d", "data": {"name": "x"}},
                {"method": "POST", "path": "/Users", "data": {"schemas": [USER], "userName": "no-bulk-id"}},
                {"method": "DELETE", "path": "/Bulk"},
            ])),
        )
        .await,
    );
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["400", "404", "404", "400", "400"], "{results:?}");
    for result in &results {
        assert_eq!(
            result["response"]["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(result["response"]["status"], result["status"]);
    }
    assert_eq!(
        results[1]["location"],
        format!("{BASE}/Users/does-not-exist")
    );
}

#[tokio::test]
async fn version_is_if_match() {
    let (engine, _) = engine();
    let id = create_user(&engine, "versioned").await;
    let patch = json!({"schemas": [PATCH_OP],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "V"}]});
    let first = results(
        &bulk(
            &engine,
            bulk_body(json!([
                {"method": "PATCH", "path": format!("/Users/{id}"), "version": "W/\"stale\"", "data": patch},
            ])),
        )
        .await,
    );
    assert_eq!(first[0]["status"], "412", "{first:?}");
    let current = send(&engine, Method::Get, &format!("/Users/{id}"), None).await;
    let etag = current.json()["meta"]["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = results(
        &bulk(
            &engine,
            bulk_body(json!([
                {"method": "PATCH", "path": format!("/Users/{id}"), "version": etag, "data": patch},
            ])),
        )
        .await,
    );
    assert_eq!(second[0]["status"], "200", "{second:?}");
    assert_ne!(second[0]["version"], json!(etag));
}

#[tokio::test]
async fn deactivating_three_users_revokes_once_with_all_three() {
    let (engine, recorder) = engine();
    let mut ids = Vec::new();
    for name in ["ann", "bob", "cid"] {
        ids.push(create_user(&engine, name).await);
    }
    let deactivate = json!({"schemas": [PATCH_OP],
                            "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let operations: Vec<Value> = ids
        .iter()
        .map(|id| json!({"method": "PATCH", "path": format!("/Users/{id}"), "data": deactivate}))
        .collect();
    let results = results(&bulk(&engine, bulk_body(Value::Array(operations))).await);
    assert!(results.iter().all(|r| r["status"] == "200"), "{results:?}");
    let calls = recorder.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (mut revoked, reason) = calls[0].clone();
    revoked.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(revoked, expected);
    assert_eq!(reason, RevocationReason::Deactivated);
}

#[tokio::test]
async fn deletes_and_deactivations_revoke_once_per_reason() {
    let (engine, recorder) = engine();
    let a = create_user(&engine, "a").await;
    let b = create_user(&engine, "b").await;
    let c = create_user(&engine, "c").await;
    let deactivate = json!({"schemas": [PATCH_OP],
                            "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let results = results(
        &bulk(
            &engine,
            bulk_body(json!([
                {"method": "DELETE", "path": format!("/Users/{a}")},
                {"method": "PATCH", "path": format!("/Users/{b}"), "data": deactivate},
                {"method": "DELETE", "path": format!("/Users/{c}")},
            ])),
        )
        .await,
    );
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["204", "200", "204"]);
    let calls = recorder.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let deleted = calls
        .iter()
        .find(|(_, r)| *r == RevocationReason::Deleted)
        .unwrap();
    let mut deleted_ids = deleted.0.clone();
    deleted_ids.sort();
    let mut expected = vec![a, c];
    expected.sort();
    assert_eq!(deleted_ids, expected);
    let deactivated = calls
        .iter()
        .find(|(_, r)| *r == RevocationReason::Deactivated)
        .unwrap();
    assert_eq!(deactivated.0, [b]);
}

#[tokio::test]
async fn envelope_errors_are_request_errors() {
    let (engine, _) = engine();
    let response = bulk(&engine, json!({"Operations": []})).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["scimType"], "invalidSyntax");
    let response = bulk(&engine, json!({"schemas": [BULK_REQUEST]})).await;
    assert_eq!(response.status, 400);
    let response = bulk(&engine, bulk_body(json!([]))).await;
    assert_eq!(results(&response), Vec::<Value>::new());
}

#[tokio::test]
async fn a_duplicate_answered_with_the_existing_user_lends_its_id_to_bulk_id_references() {
    let mut config = EngineConfig::default();
    config.duplicate_policy = scim_core::DuplicatePolicy::ReturnExisting;
    let (engine, _) = engine_with(config);
    let existing = create_user(&engine, "bjensen").await;
    let response = bulk(
        &engine,
        bulk_body(json!([
            {"method": "POST", "path": "/Users", "bulkId": "again",
             "data": {"schemas": [USER], "userName": "BJensen"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "Staff",
                      "members": [{"type": "User", "value": "bulkId:again"}]}},
        ])),
    )
    .await;
    let results = results(&response);
    assert_eq!(results[0]["status"], "200");
    assert_eq!(
        results[0]["location"],
        format!("{BASE}/Users/{existing}").as_str()
    );
    assert_eq!(results[1]["status"], "201", "{}", results[1]);
    let group_location = results[1]["location"].as_str().unwrap();
    let group_id = group_location.rsplit('/').next().unwrap();
    let group = send(&engine, Method::Get, &format!("/Groups/{group_id}"), None).await;
    assert_eq!(member_ids(&group.json()), [existing]);
}

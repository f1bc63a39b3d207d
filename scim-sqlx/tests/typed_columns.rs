//! Which attributes live in typed, indexed columns: a Group's `displayName` does (IdPs look
//! Groups up by it), a User's does not (so that renaming a User changes no indexed column
//! and PostgreSQL updates the row in place). Filters and sorts on a User's `displayName`
//! read the JSON and answer as before, on both databases.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::{InsecureNoAuthentication, Method, NoSessionsToRevoke, ScimEngine, ScimRequest};
use scim_sqlx::SqlStore;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

async fn send(engine: &ScimEngine, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = match path.split_once('?') {
        Some((path, query)) => ScimRequest::new(method, path).with_query(query),
        None => ScimRequest::new(method, path),
    };
    if let Some(body) = body {
        req = req.with_body(body.to_string().into_bytes());
    }
    let res = engine.handle(req).await;
    assert!(res.status < 300, "{path}: {} {}", res.status, res.json());
    res.json()
}

/// `(resource_type, display_name, display_name_folded)` of every row.
async fn display_columns(store: &SqlStore) -> Vec<(String, Option<String>, Option<String>)> {
    let sql = "SELECT resource_type, display_name, display_name_folded FROM scim_resources ORDER BY resource_type";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        _ => panic!("a store on neither database"),
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

async fn run(store: SqlStore) {
    let engine = ScimEngine::builder(store.clone())
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap();
    let babs = send(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "bjensen", "displayName": "Babs"})),
    )
    .await;
    let babs = babs["id"].as_str().unwrap().to_owned();
    let aaron = send(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "aaron", "displayName": "Aaron"})),
    )
    .await;
    let aaron = aaron["id"].as_str().unwrap().to_owned();
    let admins = send(
        &engine,
        Method::Post,
        "/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "Admins"})),
    )
    .await;
    let admins = admins["id"].as_str().unwrap().to_owned();
    send(
        &engine,
        Method::Patch,
        &format!("/Users/{babs}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Ärger Babs"}],
        })),
    )
    .await;

    assert_eq!(
        display_columns(&store).await,
        vec![
            ("Group".into(), Some("Admins".into()), Some("admins".into())),
            ("User".into(), None, None),
            ("User".into(), None, None),
        ]
    );

    // Case-insensitive equality and sorting on a User's displayName, from the JSON.
    let found = send(
        &engine,
        Method::Get,
        "/Users?filter=displayName%20eq%20%22%C3%A4RGER%20BABS%22",
        None,
    )
    .await;
    assert_eq!(ids(&found), [babs.as_str()], "{found}");
    let sorted = send(&engine, Method::Get, "/Users?sortBy=displayName", None).await;
    assert_eq!(ids(&sorted), [aaron.as_str(), babs.as_str()], "{sorted}");
    let groups = send(
        &engine,
        Method::Get,
        "/Groups?filter=displayName%20eq%20%22ADMINS%22",
        None,
    )
    .await;
    assert_eq!(ids(&groups), [admins.as_str()], "{groups}");
}

#[tokio::test]
async fn sqlite_keeps_a_users_display_name_in_the_json() {
    run(common::sqlite().await).await;
}

#[tokio::test]
async fn postgres_keeps_a_users_display_name_in_the_json() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    run(common::postgres(&server).await).await;
}

//! Which attributes live in typed, indexed columns: a Group's `displayName` does (IdPs look
//! Groups up by it), a User's does not (so that renaming a User changes no indexed column
//! and PostgreSQL updates the row in place), and a User's folded `userName` is its unique
//! key only. Filters and sorts on them answer as before, on both databases, and a Group
//! lookup by `displayName` still uses its (partial) index.
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

/// `(resource_type, display_name, display_name_folded, user_name_folded, unique_key)` of
/// every row, Groups first.
async fn typed_columns(store: &SqlStore) -> Vec<Columns> {
    let sql = "SELECT resource_type, display_name, display_name_folded, user_name_folded, unique_key FROM scim_resources ORDER BY resource_type, unique_key";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        _ => panic!("a store on neither database"),
    }
}

/// The plan of a Group lookup by folded displayName, as the filter compiler writes it.
async fn group_lookup_plan(store: &SqlStore) -> String {
    let lookup = "SELECT r.id FROM scim_resources r WHERE r.tenant = 't' AND r.resource_type = 'Group' AND r.display_name_folded = 'admins'";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {lookup}"))
                    .fetch_all(pool)
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
        (_, Some(pool)) => {
            // A few rows: make the planner show whether it can use the index at all.
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {lookup}"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            sqlx::query("RESET enable_seqscan")
                .execute(&mut *conn)
                .await
                .unwrap();
            rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
        }
        _ => panic!("a store on neither database"),
    }
}

type Columns = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

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

    // A User's folded userName is its unique key, and nowhere else.
    let user = |key: &str| ("User".into(), None, None, None, Some(key.into()));
    assert_eq!(
        typed_columns(&store).await,
        vec![
            (
                "Group".into(),
                Some("Admins".into()),
                Some("admins".into()),
                None,
                None
            ),
            user("aaron"),
            user("bjensen"),
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
    let found = send(
        &engine,
        Method::Get,
        "/Users?filter=userName%20eq%20%22BJensen%22",
        None,
    )
    .await;
    assert_eq!(ids(&found), [babs.as_str()], "{found}");
    // The index holds only rows with a value, and a lookup by value still uses it.
    let plan = group_lookup_plan(&store).await;
    assert!(plan.contains("scim_resources_display_name"), "{plan}");
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

//! Uniqueness beyond `userName` (RFC 7643 §2.1 `uniqueness: server`): a User extension with
//! a unique case-exact `badge` and a unique case-insensitive `alias`. The first unique
//! attribute lives in `scim_resources.unique_key`, the others in `scim_unique`; every one is
//! enforced on create, replace and PATCH, released on delete and when the value changes, on
//! both databases.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::schema::{AttributeDef, Schema, SchemaRegistry, Uniqueness};
use scim_core::{InsecureNoAuthentication, Method, NoSessionsToRevoke, ScimEngine, ScimRequest};
use scim_sqlx::SqlStore;
use serde_json::{Value, json};

const BADGES: &str = "urn:example:params:scim:schemas:extension:badges:2.0:User";

fn engine(store: SqlStore) -> ScimEngine {
    let badges = Schema::new(
        BADGES,
        "Badges",
        vec![
            AttributeDef::string("badge")
                .case_exact()
                .uniqueness(Uniqueness::Server),
            AttributeDef::string("alias").uniqueness(Uniqueness::Server),
        ],
    );
    let registry = SchemaRegistry::builder()
        .schema(badges)
        .extend("User", BADGES, false)
        .build()
        .unwrap();
    ScimEngine::builder(store)
        .registry(registry)
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

fn user(name: &str, badge: &str, alias: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", BADGES],
        "userName": name,
        BADGES: {"badge": badge, "alias": alias},
    })
}

async fn send(
    engine: &ScimEngine,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = ScimRequest::new(method, path);
    if let Some(body) = body {
        req = req.with_body(body.to_string().into_bytes());
    }
    let res = engine.handle(req).await;
    let body = if res.body.is_empty() {
        Value::Null
    } else {
        res.json()
    };
    (res.status, body)
}

async fn assert_taken(engine: &ScimEngine, method: Method, path: &str, body: Value, what: &str) {
    let (status, body) = send(engine, method, path, Some(body)).await;
    assert_eq!(status, 409, "{what}: {body}");
    assert_eq!(body["scimType"], "uniqueness", "{what}: {body}");
}

async fn run(store: SqlStore) {
    let engine = engine(store);
    let (status, a) = send(
        &engine,
        Method::Post,
        "/Users",
        Some(user("a", "B-1", "Ace")),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    let a_id = a["id"].as_str().unwrap().to_owned();

    // Each unique attribute on its own, on create.
    assert_taken(
        &engine,
        Method::Post,
        "/Users",
        user("A", "B-2", "other"),
        "userName folded",
    )
    .await;
    assert_taken(
        &engine,
        Method::Post,
        "/Users",
        user("b", "B-1", "other"),
        "badge",
    )
    .await;
    assert_taken(
        &engine,
        Method::Post,
        "/Users",
        user("b", "B-2", "ACE"),
        "alias folded",
    )
    .await;
    // caseExact: another case of the badge is another value.
    let (status, b) = send(
        &engine,
        Method::Post,
        "/Users",
        Some(user("b", "b-1", "Bee")),
    )
    .await;
    assert_eq!(status, 201, "{b}");
    let b_id = b["id"].as_str().unwrap().to_owned();

    // On replace and PATCH.
    let b_path = format!("/Users/{b_id}");
    assert_taken(
        &engine,
        Method::Put,
        &b_path,
        user("b", "b-1", "ace"),
        "alias on PUT",
    )
    .await;
    assert_taken(
        &engine,
        Method::Put,
        &b_path,
        user("a", "b-1", "Bee"),
        "userName on PUT",
    )
    .await;
    let patch = |attribute: &str, value: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": format!("{BADGES}:{attribute}"), "value": value}],
        })
    };
    assert_taken(
        &engine,
        Method::Patch,
        &b_path,
        patch("badge", "B-1"),
        "badge on PATCH",
    )
    .await;
    // A failed write changed nothing.
    let (_, stored) = send(&engine, Method::Get, &b_path, None).await;
    assert_eq!(
        stored[BADGES],
        json!({"badge": "b-1", "alias": "Bee"}),
        "{stored}"
    );
    // Keeping one's own values is no conflict.
    let (status, body) = send(&engine, Method::Put, &b_path, Some(user("B", "b-1", "BEE"))).await;
    assert_eq!(status, 200, "{body}");

    // A changed value is released; a deleted user releases all of them.
    let (status, body) = send(
        &engine,
        Method::Patch,
        &format!("/Users/{a_id}"),
        Some(patch("alias", "Ace2")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        &engine,
        Method::Post,
        "/Users",
        Some(user("c", "C-1", "ace")),
    )
    .await;
    assert_eq!(status, 201, "the released alias: {body}");
    let (status, _) = send(&engine, Method::Delete, &format!("/Users/{a_id}"), None).await;
    assert_eq!(status, 204);
    let (status, body) = send(
        &engine,
        Method::Post,
        "/Users",
        Some(user("a", "B-1", "Ace2")),
    )
    .await;
    assert_eq!(
        status, 201,
        "userName, badge and alias of the deleted user: {body}"
    );
}

#[tokio::test]
async fn sqlite_unique_attributes() {
    run(common::sqlite().await).await;
}

#[tokio::test]
async fn postgres_unique_attributes() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    run(common::postgres(&server).await).await;
}

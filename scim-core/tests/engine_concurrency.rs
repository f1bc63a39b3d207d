//! Concurrent writes through the engine (RFC 7644 §3.14): member adds to one group,
//! PATCHes without `If-Match` (compare-and-swap retried, nothing lost), and PUTs racing
//! with the same `If-Match` (one wins, the rest get 412).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engine_support;

use engine_support::*;
use scim_core::Method;
use serde_json::{Value, json};

const TASKS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_member_adds_are_all_kept() {
    let (engine, _) = engine();
    let mut users = Vec::new();
    for i in 0..TASKS {
        users.push(create_user(&engine, &format!("u{i}")).await);
    }
    let gid = create_group(&engine, "g", &[]).await;
    let path = format!("/Groups/{gid}");
    let mut handles = Vec::new();
    for user in &users {
        let (engine, path, user) = (engine.clone(), path.clone(), user.clone());
        handles.push(tokio::spawn(async move {
            patch_call(
                &engine,
                &path,
                json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
            )
            .await
            .status
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 204);
    }
    let group = get(&engine, &path).await.json();
    let mut members: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    users.sort();
    assert_eq!(members, users);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_without_if_match_lose_nothing() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let (engine, path) = (engine.clone(), path.clone());
        handles.push(tokio::spawn(async move {
            let ops = if i % 2 == 0 {
                json!([{"op": "add", "path": "emails", "value": [{"value": format!("e{i}@example.com"), "type": "work"}]}])
            } else {
                json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": format!("+1-555-{i:04}")}]}])
            };
            patch_call(&engine, &path, ops).await.status
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 200);
    }
    let user = get(&engine, &path).await.json();
    let count = |attr: &str| user[attr].as_array().map_or(0, Vec::len);
    assert_eq!(count("emails"), TASKS / 2, "{user}");
    assert_eq!(count("phoneNumbers"), TASKS / 2, "{user}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_with_the_same_if_match_one_wins() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    let etag = get(&engine, &path).await.header("etag").unwrap().to_owned();
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let (engine, path, etag) = (engine.clone(), path.clone(), etag.clone());
        handles.push(tokio::spawn(async move {
            let req = with_json(
                request(Method::Put, &path).with_header("If-Match", etag),
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "title": format!("title {i}")}),
            );
            engine.handle(req).await.status
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 412).count(),
        TASKS - 1,
        "{statuses:?}"
    );
    let title = get(&engine, &path).await.json()["title"].clone();
    assert!(matches!(title, Value::String(_)));
}

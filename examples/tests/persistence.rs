//! The example servers on a real database, end to end over HTTP:
//!
//! * durability: writes through a server on SQLite, SIGKILL while writers are mid-request,
//!   restart on the same file; every acknowledged create, PATCH, DELETE and member add is there;
//! * replicas: two servers (one axum, one actix) on one database (PostgreSQL, and SQLite
//!   shared by two processes) serve one tenant consistently: concurrent member adds lose
//!   nothing, racing `If-Match` PUTs give one winner and 412s, racing creates of one userName
//!   in different letter cases give one 201, and a session revoked through one is dead on the
//!   other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

async fn create_group(api: &Api, name: &str) -> String {
    let (status, _, body) = try_send(api.request(Method::POST, "/Groups").json(&json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
    })))
    .await
    .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn add_member(api: &Api, group: &str, user: &str) -> reqwest::RequestBuilder {
    api.request(Method::PATCH, &format!("/Groups/{group}"))
        .json(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
        }))
}

fn set_display_name(api: &Api, user: &str, value: &str) -> reqwest::RequestBuilder {
    api.request(Method::PATCH, &format!("/Users/{user}"))
        .json(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": value}],
        }))
}

/// The member ids of a group.
async fn members_of(api: &Api, group: &str) -> BTreeSet<String> {
    let (status, _, body) = try_send(api.request(Method::GET, &format!("/Groups/{group}")))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What the writers had acknowledged (a 2xx received) when the server was killed.
#[derive(Debug, Default)]
struct Acknowledged {
    created: BTreeSet<String>,
    /// The highest `displayName` version (`vN`) acknowledged per user.
    display: BTreeMap<String, u32>,
    members: BTreeSet<String>,
    deleted: BTreeSet<String>,
    /// Deletes sent (acknowledged or in flight when the server died).
    delete_sent: BTreeSet<String>,
    /// Creates sent but not acknowledged (at most one per writer).
    unacknowledged_creates: usize,
    writes: usize,
}

const WRITERS: usize = 4;
/// Writes acknowledged before the kill (the writers keep going while it happens).
const WRITES_BEFORE_KILL: usize = 400;

/// One writer: create, rename, join the group, rename again, and delete every third user,
/// until the server dies. Returns an error for an answer that is neither 2xx nor a dead
/// server.
async fn writer(
    api: Api,
    group: String,
    n: usize,
    acked: Arc<Mutex<Acknowledged>>,
) -> Result<(), String> {
    for i in 0..1_000 {
        let user_name = format!("w{n}-{i}-{}@example.com", uuid::Uuid::new_v4().simple());
        let request = api.request(Method::POST, "/Users").json(&json!({
            "schemas": [USER_SCHEMA],
            "userName": user_name,
        }));
        let Ok((status, _, body)) = try_send(request).await else {
            acked.lock().unwrap().unacknowledged_creates += 1;
            return Ok(());
        };
        if status != StatusCode::CREATED {
            return Err(format!("create: {status} {body}"));
        }
        let id = body["id"].as_str().unwrap().to_owned();
        {
            let mut acked = acked.lock().unwrap();
            acked.created.insert(id.clone());
            acked.writes += 1;
        }
        for step in 0..3 {
            let request = match step {
                0 => set_display_name(&api, &id, "v1"),
                1 => add_member(&api, &group, &id),
                _ => set_display_name(&api, &id, "v2"),
            };
            let Ok((status, _, body)) = try_send(request).await else {
                return Ok(());
            };
            if !status.is_success() {
                return Err(format!("step {step}: {status} {body}"));
            }
            let mut acked = acked.lock().unwrap();
            match step {
                0 => acked.display.insert(id.clone(), 1),
                1 => acked.members.insert(id.clone()).then_some(0),
                _ => acked.display.insert(id.clone(), 2),
            };
            acked.writes += 1;
        }
        if i % 3 == 0 {
            acked.lock().unwrap().delete_sent.insert(id.clone());
            let request = api.request(Method::DELETE, &format!("/Users/{id}"));
            let Ok((status, _, body)) = try_send(request).await else {
                return Ok(());
            };
            if status != StatusCode::NO_CONTENT {
                return Err(format!("delete: {status} {body}"));
            }
            let mut acked = acked.lock().unwrap();
            acked.deleted.insert(id);
            acked.writes += 1;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let token = random_token();
    let database_url = sqlite_url();
    let mut server = Server::start_on(AXUM, &database_url, &["--token", &token]);
    let api = server.api(&token);
    let group = create_group(&api, "survivors").await;

    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut writers = JoinSet::new();
    for n in 0..WRITERS {
        writers.spawn(writer(api.clone(), group.clone(), n, Arc::clone(&acked)));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().writes < WRITES_BEFORE_KILL {
        assert!(Instant::now() < deadline, "the writers are too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL while the writers are sending: no shutdown, no flush.
    server.kill();
    while let Some(result) = writers.join_next().await {
        if let Err(why) = result.unwrap() {
            panic!("a write before the kill failed: {why}");
        }
    }
    let acked = Arc::try_unwrap(acked).unwrap().into_inner().unwrap();
    assert!(acked.writes >= WRITES_BEFORE_KILL);
    eprintln!(
        "killed after {} acknowledged writes: {} creates, {} member adds, {} deletes ({} sent), {} creates in flight",
        acked.writes,
        acked.created.len(),
        acked.members.len(),
        acked.deleted.len(),
        acked.delete_sent.len(),
        acked.unacknowledged_creates
    );

    let server = Server::start_on(AXUM, &database_url, &["--token", &token]);
    let api = server.api(&token);
    let members = members_of(&api, &group).await;
    let mut alive = BTreeSet::new();
    for id in &acked.created {
        let (status, _, body) = try_send(api.request(Method::GET, &format!("/Users/{id}")))
            .await
            .unwrap();
        if acked.deleted.contains(id) {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "acknowledged delete of {id} lost"
            );
            continue;
        }
        if status == StatusCode::NOT_FOUND {
            assert!(
                acked.delete_sent.contains(id),
                "acknowledged create of {id} lost"
            );
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        alive.insert(id.clone());
        if let Some(version) = acked.display.get(id) {
            let stored = body["displayName"].as_str().unwrap_or_default();
            let stored: u32 = stored.trim_start_matches('v').parse().unwrap_or(0);
            assert!(
                stored >= *version,
                "acknowledged PATCH of {id} to v{version} lost (stored {body})"
            );
        }
        if acked.members.contains(id) {
            assert!(members.contains(id), "acknowledged member add of {id} lost");
        }
    }
    // The group holds no member that is gone (deletes cascade in the same transaction).
    for member in &members {
        let (status, _, _) = try_send(api.request(Method::GET, &format!("/Users/{member}")))
            .await
            .unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "member {member} of the group is gone"
        );
    }
    // Nothing beyond the in-flight creates appeared.
    let (_, _, list) = try_send(api.request(Method::GET, "/Users?count=0"))
        .await
        .unwrap();
    let total = usize::try_from(list["totalResults"].as_u64().unwrap()).unwrap();
    assert!(
        total >= alive.len() && total <= alive.len() + acked.unacknowledged_creates,
        "{total} users stored, {} acknowledged alive, {} creates in flight",
        alive.len(),
        acked.unacknowledged_creates
    );
    // And the restarted server keeps working.
    let id = server.create_user(&token, &unique("after-restart")).await;
    assert!(!acked.created.contains(&id));
}

/// Two servers (axum and actix) on one database serve one tenant consistently.
async fn replicas_agree(database_url: &str) {
    let token = random_token();
    let a = Server::start_on(AXUM, database_url, &["--token", &token]);
    let b = Server::start_on(ACTIX, database_url, &["--token", &token]);
    let replicas = [a.api(&token), b.api(&token)];

    // Concurrent member adds through both lose nothing.
    let group = create_group(&replicas[0], "replicated").await;
    let mut users = Vec::new();
    for i in 0..24 {
        users.push(replicas[i % 2].clone());
    }
    let mut ids = BTreeSet::new();
    for (i, api) in users.iter().enumerate() {
        let user_name = unique(&format!("member{i}"));
        let (status, _, body) = try_send(api.request(Method::POST, "/Users").json(&json!({
            "schemas": [USER_SCHEMA],
            "userName": user_name,
        })))
        .await
        .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    let mut adds = JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        let request = add_member(&replicas[i % 2], &group, id);
        adds.spawn(try_send(request));
    }
    while let Some(result) = adds.join_next().await {
        let (status, _, body) = result.unwrap().unwrap();
        assert!(status.is_success(), "member add: {status} {body}");
    }
    for api in &replicas {
        assert_eq!(
            members_of(api, &group).await,
            ids,
            "members seen through one replica"
        );
    }

    // 16 racing If-Match PUTs through both: one winner, 15 × 412.
    let target = a.create_user(&token, &unique("contested")).await;
    let (status, headers, user) =
        try_send(replicas[1].request(Method::GET, &format!("/Users/{target}")))
            .await
            .unwrap();
    assert_eq!(status, StatusCode::OK);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let mut puts = JoinSet::new();
    for i in 0..16 {
        let mut body = user.clone();
        body["displayName"] = json!(format!("writer-{i}"));
        let request = replicas[i % 2]
            .request(Method::PUT, &format!("/Users/{target}"))
            .header("If-Match", &etag)
            .json(&body);
        puts.spawn(async move { (i, try_send(request).await) });
    }
    let mut winners = Vec::new();
    while let Some(result) = puts.join_next().await {
        let (i, response) = result.unwrap();
        let (status, _, body) = response.unwrap();
        match status {
            StatusCode::OK => winners.push(i),
            StatusCode::PRECONDITION_FAILED => {}
            other => panic!("racing PUT: {other} {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let (_, headers, stored) =
        try_send(replicas[0].request(Method::GET, &format!("/Users/{target}")))
            .await
            .unwrap();
    assert_eq!(stored["displayName"], format!("writer-{}", winners[0]));
    assert_ne!(headers["etag"].to_str().unwrap(), etag);

    // The copy one replica keeps of a User it read (`Store::cached_copy`) never shows once
    // the other replica wrote: the answer has the other's change, its new group, and an
    // `If-Match` with the other's ETag succeeds.
    let copied = a.create_user(&token, &unique("copied")).await;
    let (status, _, body) = try_send(replicas[1].request(Method::GET, &format!("/Users/{copied}")))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, headers, body) = try_send(set_display_name(&replicas[0], &copied, "through a"))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, body) = try_send(add_member(&replicas[0], &group, &copied))
        .await
        .unwrap();
    assert!(status.is_success(), "member add: {status} {body}");
    let (status, _, body) = try_send(
        replicas[1]
            .request(Method::PATCH, &format!("/Users/{copied}"))
            .header("If-Match", &etag)
            .json(&json!({
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "nickName", "value": "through b"}],
            })),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "through a", "{body}");
    assert_eq!(body["nickName"], "through b", "{body}");
    assert_eq!(body["groups"][0]["value"], group.as_str(), "{body}");
    let (_, _, stored) = try_send(replicas[0].request(Method::GET, &format!("/Users/{copied}")))
        .await
        .unwrap();
    assert_eq!(stored["displayName"], "through a", "{stored}");
    assert_eq!(stored["nickName"], "through b", "{stored}");
    assert_eq!(stored["meta"]["version"], body["meta"]["version"]);

    // Racing creates of one userName in different letter cases: one 201, the rest 409.
    let base = format!("Racer-{}@Example.com", uuid::Uuid::new_v4().simple());
    let variants = [
        base.clone(),
        base.to_lowercase(),
        base.to_uppercase(),
        base.replace('R', "r"),
        base.replace("Example", "EXAMPLE"),
        base.replace("Racer", "rACER"),
        base.to_lowercase().replace('e', "E"),
        base.to_uppercase().replace('A', "a"),
    ];
    let mut creates = JoinSet::new();
    for (i, user_name) in variants.iter().enumerate() {
        let request = replicas[i % 2]
            .request(Method::POST, "/Users")
            .json(&json!({
                "schemas": [USER_SCHEMA],
                "userName": user_name,
            }));
        creates.spawn(try_send(request));
    }
    let mut created = 0;
    while let Some(result) = creates.join_next().await {
        let (status, _, body) = result.unwrap().unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(body["scimType"], "uniqueness", "{body}"),
            other => panic!("racing create: {other} {body}"),
        }
    }
    assert_eq!(created, 1, "creates of {base} in different cases");
    let filter = format!(
        "/Users?filter=userName%20eq%20%22{}%22",
        base.to_lowercase()
    );
    let (_, _, list) = try_send(replicas[1].request(Method::GET, &filter))
        .await
        .unwrap();
    assert_eq!(list["totalResults"], 1, "{list}");

    // A session started on one replica, revoked through the other, is dead on both.
    let user_name = unique("roaming");
    let user = a.create_user(&token, &user_name).await;
    let session = a.session(&user_name).await;
    for server in [&a, &b] {
        let (status, body) = server.me(&session).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the session on {}: {body}",
            server.origin
        );
    }
    let (status, _, body) = try_send(set_active(&replicas[1], &user, false))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    for server in [&a, &b] {
        let (status, body) = server.me(&session).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "the revoked session on {}: {body}",
            server.origin
        );
    }
}

fn set_active(api: &Api, user: &str, active: bool) -> reqwest::RequestBuilder {
    api.request(Method::PATCH, &format!("/Users/{user}"))
        .json(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": active}],
        }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_postgres_agree() {
    let Some(server) = postgres_server() else {
        return;
    };
    replicas_agree(&postgres_url(&server).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_one_sqlite_file_agree() {
    replicas_agree(&sqlite_url()).await;
}

//! Scale on SQLite (figures in BENCHMARKS.md): a `userName eq` and an `externalId eq` filter
//! on 1 000 and on 1 000 000 users (the target: at most 1.5× slower at 1M), and adding one
//! member to a 1 000-member and to a 100 000-member Group (the target: at most 2×), each as
//! a whole request through the engine (`ScimEngine::handle`: parse, resolve, query, render)
//! with the store's default options (`synchronous = FULL`: every commit is on disk).
//!
//! `cargo bench -p scim-sqlx --bench scale`. The databases are built once (the 1M one takes
//! a few minutes) under `target/scim-bench/` and reused; delete them to rebuild.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::store::{Member, ResourceMeta, StoredResource};
use scim_core::{
    InsecureNoAuthentication, Method, NoSessionsToRevoke, Principal, RequestContext, ScimEngine,
    ScimRequest, Store,
};
use scim_sqlx::{Options, SqlStore};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TENANT: &str = "bench";
const BIG_GROUP: &str = "group-100000";
const SMALL_GROUP: &str = "group-1000";

fn user_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("scim-bench")
}

/// The database with `users` users (and, for the big one, the two groups), built if missing.
async fn database(users: usize) -> String {
    let dir = data_dir();
    let path = dir.join(format!("scale-{users}.db"));
    let done = dir.join(format!("scale-{users}.done"));
    let url = format!("sqlite://{}", path.display());
    if done.exists() {
        return url;
    }
    let _ = std::fs::remove_file(&path);
    // Seeding only: commits need not reach the disk one by one.
    let store = SqlStore::connect_with(&url, &Options::default().full_sync(false))
        .await
        .unwrap();
    let engine = engine(store.clone());
    let users_view = engine.registry().resource_type("User").unwrap();
    let groups_view = engine.registry().resource_type("Group").unwrap();
    let ctx = RequestContext::new(Principal::new(TENANT, "seed"), "");
    let started = Instant::now();
    for i in 0..users {
        let attributes = json!({
            "schemas": [users_view.core_schema().id],
            "userName": format!("user{i}@example.com"),
            "externalId": format!("ext-{i}"),
            "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
            "displayName": format!("User {i}"),
            "active": true,
            "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        });
        let record = StoredResource::from_map(
            user_id(i),
            ResourceMeta::created_at(ctx.now),
            attributes.as_object().cloned().unwrap(),
            Vec::new(),
        );
        store.create(&ctx, users_view, &record).await.unwrap();
        if i % 100_000 == 99_999 {
            eprintln!("seeded {} users in {:?}", i + 1, started.elapsed());
        }
    }
    for (id, members) in [(SMALL_GROUP, 1_000), (BIG_GROUP, 100_000)] {
        if members > users {
            continue;
        }
        let attributes = json!({"schemas": [groups_view.core_schema().id], "displayName": id});
        let record = StoredResource::from_map(
            id.to_owned(),
            ResourceMeta::created_at(ctx.now),
            attributes.as_object().cloned().unwrap(),
            (0..members)
                .map(|i| Member::new(user_id(i)).with_type("User"))
                .collect(),
        );
        store.create(&ctx, groups_view, &record).await.unwrap();
    }
    eprintln!("seeded {users} users in {:?}", started.elapsed());
    std::fs::write(&done, b"").unwrap();
    url
}

fn engine(store: SqlStore) -> ScimEngine {
    ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant(TENANT))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

fn filter_request(attribute: &str, value: &str) -> ScimRequest {
    ScimRequest::new(Method::Get, "/Users")
        .with_query(format!("filter={attribute}%20eq%20%22{value}%22"))
}

fn patch_members(group: &str, op: &str, user: &str) -> ScimRequest {
    let body = match op {
        "add" => json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
        }),
        _ => json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}],
        }),
    };
    ScimRequest::new(Method::Patch, format!("/Groups/{group}"))
        .with_body(body.to_string().into_bytes())
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let small = runtime.block_on(database(1_000));
    let large = runtime.block_on(database(1_000_000));
    let small = engine(runtime.block_on(SqlStore::connect(&small)).unwrap());
    let large = engine(runtime.block_on(SqlStore::connect(&large)).unwrap());

    let mut filters = c.benchmark_group("sqlite filter eq");
    filters.measurement_time(Duration::from_secs(5));
    for (label, engine, users) in [("1k", &small, 1_000usize), ("1M", &large, 1_000_000)] {
        for attribute in ["userName", "externalId"] {
            let mut i = 0usize;
            filters.bench_function(format!("{attribute} {label}"), |b| {
                b.to_async(&runtime).iter(|| {
                    // A different user each time, spread over the whole table.
                    i = (i + 7_919) % users;
                    let value = match attribute {
                        "userName" => format!("USER{i}@example.com"),
                        _ => format!("ext-{i}"),
                    };
                    async move {
                        let res = engine.handle(filter_request(attribute, &value)).await;
                        assert_eq!(res.status, 200);
                        assert_eq!(res.json()["totalResults"], 1);
                    }
                });
            });
        }
    }
    filters.finish();

    let mut members = c.benchmark_group("sqlite add one member");
    members
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    for (label, group) in [
        ("1k-member group", SMALL_GROUP),
        ("100k-member group", BIG_GROUP),
    ] {
        // Users past 200 000 are in neither group: each iteration adds one (timed) and
        // removes it again (not timed), so the group keeps its size.
        let mut next = 200_000usize;
        members.bench_function(label, |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                let engine = &large;
                let start = next;
                next += usize::try_from(iterations).unwrap();
                async move {
                    let mut total = Duration::ZERO;
                    for k in 0..usize::try_from(iterations).unwrap() {
                        let user = user_id(start + k);
                        let started = Instant::now();
                        let res = engine.handle(patch_members(group, "add", &user)).await;
                        total += started.elapsed();
                        assert!(res.status == 200 || res.status == 204, "{}", res.status);
                        let res = engine.handle(patch_members(group, "remove", &user)).await;
                        assert!(res.status == 200 || res.status == 204, "{}", res.status);
                    }
                    total
                }
            });
        });
    }
    members.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

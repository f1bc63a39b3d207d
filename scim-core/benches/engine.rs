//! Protocol engine throughput without HTTP (RFC 7644 §3): `ScimEngine::handle` over the
//! reference `MemoryStore`, driven by a current-thread tokio runtime.
//!
//! * GET by id on a 1 000-user tenant.
//! * `GET /Users?filter=userName eq "…"` on 1 000 and 1 000 000 users (answered from the
//!   store's unique index, so flat).
//! * PATCH adding one member to a group of 1 000 and of 100 000 members (the membership
//!   fast path: `Store::modify_members`, flat). Every iteration adds a new member, so the
//!   group grows by the iteration count during a run.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use scim_core::schema::SchemaRegistry;
use scim_core::store::{Member, ResourceMeta, StoredResource};
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, Principal, RequestContext,
    ScimEngine, ScimRequest, Store,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::Runtime;

const BASE: &str = "https://example.com/scim/v2";
const TENANT: &str = "bench";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn ctx() -> RequestContext {
    RequestContext::new(Principal::new(TENANT, "bench"), BASE)
}

fn engine(store: &MemoryStore) -> ScimEngine {
    ScimEngine::builder(store.clone())
        .authenticator(InsecureNoAuthentication::for_tenant(TENANT))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

fn stamped(
    view: &scim_core::schema::ResourceTypeView,
    id: String,
    mut attrs: Value,
    members: Vec<Member>,
) -> StoredResource {
    attrs["schemas"] = json!([view.core_schema().id]);
    let attributes = attrs.as_object().cloned().unwrap();
    StoredResource::from_map(
        id,
        ResourceMeta::created_at(chrono::Utc::now()),
        attributes,
        members,
    )
}

/// A store with `n` users `user0` … straight through the `Store` API (fast seeding).
fn users(rt: &Runtime, n: usize) -> MemoryStore {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    let ctx = ctx();
    rt.block_on(async {
        for i in 0..n {
            let user = stamped(
                view,
                format!("id-{i}"),
                json!({"userName": format!("user{i}"), "active": true, "displayName": format!("User {i}")}),
                Vec::new(),
            );
            store.create(&ctx, view, &user).await.unwrap();
        }
    });
    store
}

/// A store holding one group `g` with `n` members.
fn group(rt: &Runtime, n: usize) -> MemoryStore {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("Group").unwrap();
    let store = MemoryStore::new();
    let members: Vec<Member> = (0..n)
        .map(|i| Member::new(format!("m-{i}")).with_type("User"))
        .collect();
    let group = stamped(view, "g".into(), json!({"displayName": "big"}), members);
    rt.block_on(store.create(&ctx(), view, &group)).unwrap();
    store
}

fn handle(rt: &Runtime, engine: &ScimEngine, request: ScimRequest) -> u16 {
    rt.block_on(engine.handle(request)).status
}

fn bench_get(c: &mut Criterion) {
    let rt = runtime();
    let store = users(&rt, 1_000);
    let engine = engine(&store);
    c.bench_function("engine/get_by_id/1k_users", |b| {
        b.iter(|| {
            let req = ScimRequest::new(Method::Get, "/Users/id-500").with_base_url(BASE);
            assert_eq!(handle(&rt, &engine, black_box(req)), 200);
        });
    });
}

fn bench_filter(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("engine/filter_userName_eq");
    for (label, n) in [("1k_users", 1_000usize), ("1M_users", 1_000_000)] {
        let store = users(&rt, n);
        let engine = engine(&store);
        let query = format!("filter=userName%20eq%20%22user{}%22", n / 2);
        group.bench_with_input(BenchmarkId::from_parameter(label), &query, |b, query| {
            b.iter(|| {
                let req = ScimRequest::new(Method::Get, "/Users")
                    .with_query(query.as_str())
                    .with_base_url(BASE);
                let res = rt.block_on(engine.handle(black_box(req)));
                assert_eq!(res.status, 200);
            });
        });
    }
    group.finish();
}

fn bench_add_member(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("engine/patch_add_one_member");
    for (label, n) in [("1k_members", 1_000usize), ("100k_members", 100_000)] {
        let store = self::group(&rt, n);
        let engine = engine(&store);
        let next = AtomicUsize::new(n);
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": format!("m-{i}")}]}],
                });
                let req = ScimRequest::new(Method::Patch, "/Groups/g")
                    .with_base_url(BASE)
                    .with_header("content-type", "application/scim+json")
                    .with_body(serde_json::to_vec(&body).unwrap());
                assert_eq!(handle(&rt, &engine, black_box(req)), 204);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_get, bench_filter, bench_add_member);
criterion_main!(benches);

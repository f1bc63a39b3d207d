//! `MemoryStore` benchmarks (RFC 7644 §3.4.1 get, §3.4.2 query, §3.5.2 membership PATCH):
//! `get` by id and `userName eq` at 1 000 and 1 000 000 users (both must stay flat), the
//! first unfiltered page of 100 at 1 000 000 users, and adding one member to groups of
//! 1 000 and 100 000 members. Prints the load time and resident memory of 1 000 000 users.
//!
//! `cargo bench -p scim-core --bench store -- --measurement-time 3 --warm-up-time 1`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use scim_core::schema::{ResourceTypeView, SchemaRegistry};
use scim_core::store::{
    Member, MembershipChange, Page, Query, ResolvedFilter, ResourceMeta, StoredResource,
};
use scim_core::{MemoryStore, Principal, RequestContext, Store};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const BASE: &str = "https://example.com/scim/v2";

fn ctx() -> RequestContext {
    RequestContext::new(Principal::new("bench", "bench"), BASE)
}

fn build(
    view: &ResourceTypeView,
    id: String,
    mut body: serde_json::Value,
    members: Vec<Member>,
) -> StoredResource {
    body["schemas"] = json!([view.core_schema().id]);
    let attributes = body.as_object().cloned().unwrap();
    StoredResource::from_map(
        id,
        ResourceMeta::created_at(chrono::Utc::now()),
        attributes,
        members,
    )
}

/// A typical IdP-provisioned user (Okta / Entra shape).
fn user(view: &ResourceTypeView, i: usize) -> StoredResource {
    build(
        view,
        format!("{i:08x}-7f76-453a-919d-413861904646"),
        json!({
            "userName": format!("user{i}@example.com"),
            "externalId": format!("00u{i:010}"),
            "name": {"givenName": "Barbara", "familyName": format!("Jensen{i}")},
            "displayName": format!("Barbara Jensen {i}"),
            "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
            "active": true
        }),
        Vec::new(),
    )
}

fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

fn load(rt: &Runtime, view: &ResourceTypeView, n: usize) -> MemoryStore {
    let store = MemoryStore::new();
    let ctx = ctx();
    let before = rss_mib();
    let started = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            store.create(&ctx, view, &user(view, i)).await.unwrap();
        }
    });
    let after = rss_mib();
    eprintln!(
        "loaded {n} users in {:.1?}; VmRSS {before} MiB -> {after} MiB (+{} MiB)",
        started.elapsed(),
        after.saturating_sub(before)
    );
    store
}

fn users(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let ctx = ctx();
    for n in [1_000, 1_000_000] {
        let store = load(&rt, view, n);
        // One full scan (a filter no index serves), timed once: too slow for criterion.
        let scan = scim_filter::parse_filter(r#"displayName co "Jensen 999""#).unwrap();
        let scan = ResolvedFilter::resolve(&scan, view).unwrap();
        let started = Instant::now();
        let query = Query::new(
            view,
            Page::Offset {
                offset: 0,
                limit: 100,
            },
        )
        .with_filter(&scan);
        let page = rt.block_on(store.query(&ctx, &query)).unwrap();
        eprintln!(
            "scan filter `{}` over {n} users: {} matches in {:.1?}",
            scan.filter(),
            page.total,
            started.elapsed()
        );
        let mut group = c.benchmark_group("memory_store_users");
        let probe = n / 2 + 1;
        let id = format!("{probe:08x}-7f76-453a-919d-413861904646");
        group.bench_with_input(BenchmarkId::new("get_by_id", n), &id, |b, id| {
            b.iter(|| {
                let r = rt.block_on(store.get(&ctx, view, black_box(id))).unwrap();
                black_box(r)
            })
        });
        let filter =
            scim_filter::parse_filter(&format!(r#"userName eq "USER{probe}@example.com""#))
                .unwrap();
        let filter = ResolvedFilter::resolve(&filter, view).unwrap();
        group.bench_with_input(BenchmarkId::new("username_eq", n), &filter, |b, f| {
            b.iter(|| {
                let query = Query::new(
                    view,
                    Page::Offset {
                        offset: 0,
                        limit: 100,
                    },
                )
                .with_filter(f);
                let page = rt.block_on(store.query(&ctx, &query)).unwrap();
                assert_eq!(page.total, 1);
                black_box(page)
            })
        });
        group.bench_function(BenchmarkId::new("first_page_of_100", n), |b| {
            b.iter(|| {
                let query = Query::new(
                    view,
                    Page::Offset {
                        offset: 0,
                        limit: 100,
                    },
                );
                black_box(rt.block_on(store.query(&ctx, &query)).unwrap())
            })
        });
        group.finish();
        drop(store);
    }
}

fn membership(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let registry = SchemaRegistry::default();
    let groups = registry.resource_type("Group").unwrap();
    let ctx = ctx();
    let mut group = c.benchmark_group("memory_store_members");
    for n in [1_000, 100_000] {
        let store = MemoryStore::new();
        let members: Vec<_> = (0..n)
            .map(|i| Member::new(format!("m{i}")).with_type("User"))
            .collect();
        let g = build(
            groups,
            "g".into(),
            json!({"displayName": "Everyone"}),
            members,
        );
        rt.block_on(store.create(&ctx, groups, &g)).unwrap();
        let mut next = 0u64;
        group.bench_function(BenchmarkId::new("add_one_member", n), |b| {
            // Times the adds only; the members are removed again (untimed) so the group
            // keeps its size.
            b.iter_custom(|iters| {
                let ids: Vec<String> = (0..iters)
                    .map(|_| {
                        next += 1;
                        format!("new{next}")
                    })
                    .collect();
                let mut spent = Duration::ZERO;
                for id in &ids {
                    let change = MembershipChange::adding(vec![Member::new(id)]);
                    let started = Instant::now();
                    let out = rt
                        .block_on(store.modify_members(&ctx, groups, "g", &change, None))
                        .unwrap();
                    spent += started.elapsed();
                    assert!(out.changed);
                }
                let change = MembershipChange::removing(ids);
                rt.block_on(store.modify_members(&ctx, groups, "g", &change, None))
                    .unwrap();
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, users, membership);
criterion_main!(benches);

//! The reference `MemoryStore` (RFC 7644 §3.3–§3.6): the shared store contract suite, plus
//! checks of its index fast paths and of paging over many users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use scim_core::schema::{ResourceTypeView, SchemaRegistry};
use scim_core::store::{MembershipChange, Page, Query, QueryPage, Sort, SortOrder, suite};
use scim_core::{MemoryStore, Principal, RequestContext, Resource, Store, StoreError, Tolerances};
use scim_filter::{AttrPath, parse_filter};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_honours_the_store_contract() {
    if let Err(failure) = suite::run_all(MemoryStore::new).await {
        panic!("{failure}");
    }
}

fn registry() -> SchemaRegistry {
    SchemaRegistry::default()
}

fn ctx(tenant: &str) -> RequestContext {
    RequestContext::new(
        Principal::new(tenant, "test"),
        "https://example.com/scim/v2",
    )
}

fn build(view: &ResourceTypeView, id: &str, body: Value) -> Resource {
    let mut r = Resource::from_client(view, body, &Tolerances::default()).unwrap();
    r.set_id(id);
    scim_core::meta::stamp_created(
        &mut r,
        view,
        "https://example.com/scim/v2",
        chrono::Utc::now(),
    )
    .unwrap();
    r
}

fn ids(page: &QueryPage) -> Vec<String> {
    page.resources
        .iter()
        .map(|r| r.id().unwrap().to_owned())
        .collect()
}

async fn load_users(store: &MemoryStore, users: &ResourceTypeView, n: usize) {
    let ctx = ctx("big");
    for i in 0..n {
        let user = build(
            users,
            &format!("u{i:06}"),
            json!({
                "userName": format!("User{i:06}@Example.com"),
                "externalId": format!("ext{}", i % 5000),
                "active": i % 3 != 0,
                "title": if i % 7 == 0 { "Lead" } else { "Member" },
            }),
        );
        store.create(&ctx, users, user).await.unwrap();
    }
}

async fn run(store: &MemoryStore, query: &Query<'_>) -> QueryPage {
    store.query(&ctx("big"), query).await.unwrap()
}

/// Index-served filters give exactly what a scan gives (`not (not (F))` is never served
/// from an index), in the same order, at 20 000 users.
#[tokio::test]
async fn index_fast_paths_agree_with_scans_at_20k_users() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    load_users(&store, users, 20_000).await;
    assert_eq!(store.len("big", users), 20_000);
    let filters = [
        r#"userName eq "user012345@example.com""#,
        r#"userName eq "USER000000@EXAMPLE.COM""#,
        r#"userName eq "nobody""#,
        r#"id eq "u019999""#,
        r#"id eq "U019999""#,
        r#"externalId eq "ext42""#,
        r#"externalId eq "EXT42""#,
        r#"externalId eq "ext42" and active eq true"#,
        r#"active eq false and externalId eq "ext4999""#,
        r#"title eq "lead" and externalId eq "ext7" and active eq true"#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user000007@example.com""#,
    ];
    for filter in filters {
        let f = parse_filter(filter).unwrap();
        let scan = parse_filter(&format!("not (not ({filter}))")).unwrap();
        let page = Page::Index {
            start_index: 1,
            count: 100,
        };
        let fast = run(&store, &Query::all(users, page.clone()).with_filter(&f)).await;
        let slow = run(&store, &Query::all(users, page).with_filter(&scan)).await;
        assert_eq!(fast.total_results, slow.total_results, "{filter}");
        assert_eq!(ids(&fast), ids(&slow), "{filter}");
    }
    let f = parse_filter(r#"externalId eq "ext42""#).unwrap();
    let page = run(
        &store,
        &Query::all(
            users,
            Page::Index {
                start_index: 1,
                count: 100,
            },
        )
        .with_filter(&f),
    )
    .await;
    assert_eq!(
        page.total_results, 4,
        "ext42 is shared by u000042, u005042, …"
    );
    assert_eq!(ids(&page), ["u000042", "u005042", "u010042", "u015042"]);
}

/// Cursor and index paging over 20 000 users visit each exactly once, in creation order.
#[tokio::test]
async fn paging_walks_20k_users() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    load_users(&store, users, 20_000).await;

    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = run(
            &store,
            &Query::all(
                users,
                Page::Cursor {
                    cursor: cursor.take(),
                    count: 1000,
                },
            ),
        )
        .await;
        assert_eq!(page.total_results, 20_000);
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..20_000).map(|i| format!("u{i:06}")).collect();
    assert_eq!(seen, expected);

    let mut seen = Vec::new();
    for start in (1..=20_000).step_by(999) {
        let page = run(
            &store,
            &Query::all(
                users,
                Page::Index {
                    start_index: start,
                    count: 999,
                },
            ),
        )
        .await;
        seen.extend(ids(&page));
    }
    assert_eq!(seen, expected);

    // A filtered, sorted cursor walk.
    let f = parse_filter(r#"title eq "Lead""#).unwrap();
    let sort = Sort::new(AttrPath::new("userName"), SortOrder::Descending);
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let query = Query::all(
            users,
            Page::Cursor {
                cursor: cursor.take(),
                count: 250,
            },
        )
        .with_filter(&f)
        .with_sort(&sort);
        let page = run(&store, &query).await;
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..20_000).step_by(7).map(|i| format!("u{i:06}")).collect();
    expected.reverse();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_cursor_of_another_sort_is_rejected() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    load_users(&store, users, 10).await;
    let sort = Sort::new(AttrPath::new("userName"), SortOrder::Ascending);
    let first = run(
        &store,
        &Query::all(
            users,
            Page::Cursor {
                cursor: None,
                count: 3,
            },
        )
        .with_sort(&sort),
    )
    .await;
    let cursor = first.next_cursor.unwrap();
    let err = store
        .query(
            &ctx("big"),
            &Query::all(
                users,
                Page::Cursor {
                    cursor: Some(cursor),
                    count: 3,
                },
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidCursor(_)), "{err:?}");
    let scim: scim_core::ScimError = err.into();
    assert_eq!(scim.status(), 400);
}

#[tokio::test]
async fn clones_share_data_and_debug_stays_small() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    let clone = store.clone();
    load_users(&store, users, 3).await;
    assert_eq!(clone.len("big", users), 3);
    assert!(clone.is_empty("other", users));
    assert_eq!(format!("{store:?}"), "MemoryStore { tenants: 1 }");
}

#[tokio::test]
async fn unique_detail_names_attribute_and_value() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    let c = ctx("t");
    store
        .create(&c, users, build(users, "1", json!({"userName": "bjensen"})))
        .await
        .unwrap();
    let err = store
        .create(&c, users, build(users, "2", json!({"userName": "BJENSEN"})))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "userName `BJENSEN` is already taken");
    let err = store
        .create(&c, users, build(users, "1", json!({"userName": "other"})))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Uniqueness(_)), "{err:?}");
}

/// Groups: members keep insertion order; derived `groups` are sorted by group id;
/// `modify_members` on a non-group type is refused; chained versions look like ETags.
#[tokio::test]
async fn groups_and_members() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let groups = registry.resource_type("Group").unwrap();
    let store = MemoryStore::new();
    let c = ctx("t");
    for id in ["u3", "u1", "u2"] {
        store
            .create(&c, users, build(users, id, json!({"userName": id})))
            .await
            .unwrap();
    }
    for (gid, name) in [("g2", "Beta"), ("g1", "Alpha")] {
        let group = build(
            groups,
            gid,
            json!({"displayName": name, "members": [{"value": "u3"}, {"value": "u1"}]}),
        );
        store.create(&c, groups, group).await.unwrap();
    }
    let change = MembershipChange::adding(vec![json!({"value": "u2", "type": "User"})]);
    let out = store
        .modify_members(&c, groups, "g1", &change, None)
        .await
        .unwrap();
    assert!(out.changed);
    assert!(
        out.version.starts_with("W/\"") && out.version.len() == 36,
        "{}",
        out.version
    );
    let g1 = store.get(&c, groups, "g1").await.unwrap().unwrap();
    let order: Vec<&str> = g1
        .get("members")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["u3", "u1", "u2"]);
    assert_eq!(g1.get("members").unwrap()[2]["type"], "User");

    let u1 = store.get(&c, users, "u1").await.unwrap().unwrap();
    assert_eq!(
        u1.get("groups").unwrap(),
        &json!([
            {"value": "g1", "display": "Alpha", "type": "direct"},
            {"value": "g2", "display": "Beta", "type": "direct"}
        ])
    );
    let err = store
        .modify_members(&c, users, "u1", &change, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");

    // A Group that is itself a member disappears from the other group when deleted.
    let nested = MembershipChange::adding(vec![json!({"value": "g2", "type": "Group"})]);
    store
        .modify_members(&c, groups, "g1", &nested, None)
        .await
        .unwrap();
    store.delete(&c, groups, "g2", None).await.unwrap();
    let g1 = store.get(&c, groups, "g1").await.unwrap().unwrap();
    let members: BTreeSet<&str> = g1
        .get("members")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, BTreeSet::from(["u1", "u2", "u3"]));
    let u1 = store.get(&c, users, "u1").await.unwrap().unwrap();
    assert_eq!(u1.get("groups").unwrap().as_array().unwrap().len(), 1);
}

/// Loads one million users and prints the memory they take and how fast the indexed
/// paths are. Slow (a minute or more in a release build); run it with
/// `cargo test -p scim-core --release --test memory_store -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "loads one million users; run with --release --ignored --nocapture"]
async fn holds_a_million_users() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    let before = rss_kib();
    let started = std::time::Instant::now();
    load_users(&store, users, 1_000_000).await;
    let loaded = started.elapsed();
    let after = rss_kib();
    println!(
        "1M users loaded in {loaded:?}; RSS {} MiB -> {} MiB (~{} bytes per user)",
        before / 1024,
        after / 1024,
        (after.saturating_sub(before)) * 1024 / 1_000_000
    );
    let f = parse_filter(r#"userName eq "USER999999@example.com""#).unwrap();
    let t = std::time::Instant::now();
    let page = run(
        &store,
        &Query::all(
            users,
            Page::Index {
                start_index: 1,
                count: 10,
            },
        )
        .with_filter(&f),
    )
    .await;
    println!("userName eq at 1M: {:?}", t.elapsed());
    assert_eq!(ids(&page), ["u999999"]);
    let t = std::time::Instant::now();
    let page = run(
        &store,
        &Query::all(
            users,
            Page::Index {
                start_index: 1,
                count: 100,
            },
        ),
    )
    .await;
    println!("first page of 100 at 1M: {:?}", t.elapsed());
    assert_eq!(page.total_results, 1_000_000);
    assert_eq!(page.resources.len(), 100);
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

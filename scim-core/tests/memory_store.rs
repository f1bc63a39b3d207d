//! `MemoryStore` beyond the contract suite (which `store_suite.rs` runs): its indexes agree
//! with scans at 20 000 users, paging walks them all, Groups and memberships, one million
//! users (ignored by default).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::schema::{ResourceTypeView, SchemaRegistry};
use scim_core::store::{
    Member, MembershipChange, Page, Position, Query, QueryPage, ResolvedFilter, ResolvedSort,
    ResourceMeta, SortOrder, StoreError, StoredResource,
};
use scim_core::{MemoryStore, Principal, RequestContext, Store};
use scim_filter::{AttrPath, parse_filter};
use serde_json::{Value, json};

fn registry() -> SchemaRegistry {
    SchemaRegistry::default()
}

fn ctx(tenant: &str) -> RequestContext {
    RequestContext::new(
        Principal::new(tenant, "test"),
        "https://example.com/scim/v2",
    )
}

fn build(
    view: &ResourceTypeView,
    id: &str,
    mut body: Value,
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

fn ids(page: &QueryPage) -> Vec<String> {
    page.resources.iter().map(|r| r.id().to_owned()).collect()
}

fn resolved(view: &ResourceTypeView, filter: &str) -> ResolvedFilter {
    ResolvedFilter::resolve(&parse_filter(filter).unwrap(), view).unwrap()
}

async fn load_users(store: &MemoryStore, users: &ResourceTypeView, n: usize) {
    let ctx = ctx("big");
    for i in 0..n {
        let user = build(
            users,
            &format!("u{i:06}"),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("user{i:06}@example.com"),
                "externalId": format!("ext{}", i % 5000),
                "active": i % 3 != 0,
                "title": if i % 7 == 0 { "Lead" } else { "Member" },
            }),
            Vec::new(),
        );
        store.create(&ctx, users, &user).await.unwrap();
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
        let fast = resolved(users, filter);
        let slow = resolved(users, &format!("not (not ({filter}))"));
        let page = Page::Offset {
            offset: 0,
            limit: 100,
        };
        let fast = run(&store, &Query::new(users, page).with_filter(&fast)).await;
        let slow = run(&store, &Query::new(users, page).with_filter(&slow)).await;
        assert_eq!(fast.total, slow.total, "{filter}");
        assert_eq!(ids(&fast), ids(&slow), "{filter}");
    }
    let f = resolved(users, r#"externalId eq "ext42""#);
    let page = run(&store, &Query::new(users, Page::All).with_filter(&f)).await;
    assert_eq!(page.total, 4, "ext42 is shared by u000042, u005042, …");
    assert_eq!(ids(&page), ["u000042", "u005042", "u010042", "u015042"]);
}

/// Keyset and offset paging over 20 000 users visit each exactly once, in `id` order; a
/// filtered, sorted keyset walk too.
#[tokio::test]
async fn paging_walks_20k_users() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let store = MemoryStore::new();
    load_users(&store, users, 20_000).await;
    let expected: Vec<String> = (0..20_000).map(|i| format!("u{i:06}")).collect();

    let mut seen = Vec::new();
    let mut position: Option<Position> = None;
    loop {
        let page = match &position {
            None => Page::Offset {
                offset: 0,
                limit: 1000,
            },
            Some(p) => Page::After {
                position: p,
                limit: 1000,
            },
        };
        let page = run(&store, &Query::new(users, page)).await;
        assert_eq!(page.total, 20_000);
        let Some(last) = page.resources.last() else {
            break;
        };
        position = Some(Position::new(last.id(), None));
        seen.extend(ids(&page));
    }
    assert_eq!(seen, expected);

    let mut seen = Vec::new();
    for offset in (0..20_000).step_by(999) {
        let page = run(
            &store,
            &Query::new(users, Page::Offset { offset, limit: 999 }),
        )
        .await;
        seen.extend(ids(&page));
    }
    assert_eq!(seen, expected);

    let f = resolved(users, r#"title eq "Lead""#);
    let sort =
        ResolvedSort::resolve(&AttrPath::new("userName"), SortOrder::Descending, users).unwrap();
    let mut seen = Vec::new();
    let mut position: Option<Position> = None;
    loop {
        let page = match &position {
            None => Page::Offset {
                offset: 0,
                limit: 250,
            },
            Some(p) => Page::After {
                position: p,
                limit: 250,
            },
        };
        let page = run(
            &store,
            &Query::new(users, page).with_filter(&f).with_sort(&sort),
        )
        .await;
        let Some(last) = page.resources.last() else {
            break;
        };
        let value = sort.value_of(&last.filter_json(users).unwrap());
        position = Some(Position::new(last.id(), value));
        seen.extend(ids(&page));
    }
    let mut expected: Vec<String> = (0..20_000).step_by(7).map(|i| format!("u{i:06}")).collect();
    expected.reverse();
    assert_eq!(seen, expected);
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
        .create(
            &c,
            users,
            &build(users, "1", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}), vec![]),
        )
        .await
        .unwrap();
    let err = store
        .create(
            &c,
            users,
            &build(users, "2", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJENSEN"}), vec![]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "userName `BJENSEN` is already taken");
    let err = store
        .create(
            &c,
            users,
            &build(users, "1", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "other"}), vec![]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Uniqueness(_)), "{err:?}");
}

/// Groups: members keep insertion order; memberships follow every change; a Group that is
/// itself a member leaves when deleted; Users have no members to change.
#[tokio::test]
async fn groups_and_members() {
    let registry = registry();
    let users = registry.resource_type("User").unwrap();
    let groups = registry.resource_type("Group").unwrap();
    let store = MemoryStore::new();
    let c = ctx("t");
    for id in ["u3", "u1", "u2"] {
        store
            .create(
                &c,
                users,
                &build(users, id, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": id}), vec![]),
            )
            .await
            .unwrap();
    }
    for (gid, name) in [("g2", "Beta"), ("g1", "Alpha")] {
        let group = build(
            groups,
            gid,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}),
            vec![Member::new("u3"), Member::new("u1")],
        );
        store.create(&c, groups, &group).await.unwrap();
    }
    let change = MembershipChange::adding(vec![Member::new("u2").with_type("User")]);
    let out = store
        .modify_members(&c, groups, "g1", &change, None)
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.meta.version.get(), 2);
    let g1 = store.get(&c, groups, "g1").await.unwrap().unwrap();
    let order: Vec<&str> = g1.members().iter().map(|m| m.value.as_str()).collect();
    assert_eq!(order, ["u3", "u1", "u2"]);
    assert_eq!(g1.members()[2].member_type.as_deref(), Some("User"));

    let mut found = store.memberships(&c, groups, &["u1"]).await.unwrap();
    found.sort();
    let pairs: Vec<(&str, Option<&str>)> = found
        .iter()
        .map(|m| (m.group.as_str(), m.display.as_deref()))
        .collect();
    assert_eq!(pairs, [("g1", Some("Alpha")), ("g2", Some("Beta"))]);
    let err = store
        .modify_members(&c, users, "u1", &change, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");

    // `members.value eq` is answered from the reverse index, exactly.
    let f = resolved(groups, r#"members.value eq "u2""#);
    let page = store
        .query(&c, &Query::new(groups, Page::All).with_filter(&f))
        .await
        .unwrap();
    assert_eq!(ids(&page), ["g1"]);
    let f = resolved(groups, r#"members.value eq "U2""#);
    let page = store
        .query(&c, &Query::new(groups, Page::All).with_filter(&f))
        .await
        .unwrap();
    assert!(page.resources.is_empty(), "member ids compare exactly");

    let nested = MembershipChange::adding(vec![Member::new("g2").with_type("Group")]);
    store
        .modify_members(&c, groups, "g1", &nested, None)
        .await
        .unwrap();
    store.delete(&c, groups, "g2", None).await.unwrap();
    let g1 = store.get(&c, groups, "g1").await.unwrap().unwrap();
    let members: Vec<&str> = g1.members().iter().map(|m| m.value.as_str()).collect();
    assert_eq!(members, ["u3", "u1", "u2"]);
    assert_eq!(g1.version().get(), 4, "added g2, then lost it");
    assert_eq!(
        store.memberships(&c, groups, &["u1"]).await.unwrap().len(),
        1
    );
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
    let f = resolved(users, r#"userName eq "USER999999@example.com""#);
    let t = std::time::Instant::now();
    let page = run(
        &store,
        &Query::new(
            users,
            Page::Offset {
                offset: 0,
                limit: 10,
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
        &Query::new(
            users,
            Page::Offset {
                offset: 0,
                limit: 100,
            },
        ),
    )
    .await;
    println!("first page of 100 at 1M: {:?}", t.elapsed());
    assert_eq!(page.total, 1_000_000);
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

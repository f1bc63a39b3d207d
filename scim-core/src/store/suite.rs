//! A reusable conformance suite for any [`Store`] (RFC 7644 §3.3–§3.6, §3.4.2, §3.14).
//!
//! Every store — the reference [`MemoryStore`](super::MemoryStore), a host's SQL store —
//! must honour the same contract (see [`Store`]). [`run_all`] checks it: create / get /
//! replace / delete round trips, tenant isolation (RFC 7644 §6), `userName` uniqueness
//! compared case-insensitively (RFC 7643 §4.1.1) also under 16 concurrent creates,
//! compare-and-swap on `meta.version` (RFC 7644 §3.14), Group membership changes and the
//! derived `groups` of Users (RFC 7643 §4.1.2, §4.2), filters (RFC 7644 §3.4.2.2, answered
//! identically whether or not a store serves them from an index), sorting (§3.4.2.3), index
//! paging (§3.4.2.4) and cursor paging (RFC 9865; skipped when the store answers
//! [`StoreError::Unsupported`]).
//!
//! Run it from a test with a multi-threaded runtime, so the concurrency check really runs
//! in parallel. `make_store` is called once per check and must return an empty store:
//!
//! ```no_run
//! use scim_core::MemoryStore;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn memory_store_honours_the_store_contract() {
//!     if let Err(failure) = scim_core::store::suite::run_all(MemoryStore::new).await {
//!         panic!("{failure}");
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! The suite uses the built-in User and Group resource types of
//! [`SchemaRegistry::default`] and the tenants `suite-a` and `suite-b`.

use super::{MembershipChange, Page, Query, QueryPage, Sort, SortOrder, Store, StoreError};
use crate::context::{Principal, RequestContext};
use crate::resource::Resource;
use crate::schema::{ResourceTypeView, SchemaRegistry};
use crate::tolerance::Tolerances;
use scim_filter::{AttrPath, Filter};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A failed check of [`run_all`]: which contract rule a store broke, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store contract check `{check}` failed: {message}")]
#[non_exhaustive]
pub struct SuiteFailure {
    /// The check's name, e.g. `uniqueness_is_case_insensitive`.
    pub check: &'static str,
    /// What went wrong.
    pub message: String,
}

type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!(
                "{}: got `{:?}`, expected `{:?}`",
                format!($($msg)+),
                left,
                right
            ));
        }
    }};
}

/// Attaches what was being done to an unexpected store error.
trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Context<T> for Result<T, StoreError> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error {e:?}"))
    }
}

impl<T> Context<T> for crate::error::ScimResult<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.ok_or_else(|| format!("{what}: missing"))
    }
}

/// Runs every check against stores made by `make_store` (a fresh, empty store per check)
/// and returns the first failure (RFC 7644 §3.3–§3.6 contract of [`Store`]).
///
/// # Errors
///
/// The first [`SuiteFailure`].
pub async fn run_all<S, F>(make_store: F) -> Result<(), SuiteFailure>
where
    S: Store,
    F: Fn() -> S,
{
    let fx = Fixture::new().map_err(|message| SuiteFailure {
        check: "fixture",
        message,
    })?;
    macro_rules! check {
        ($name:ident) => {
            $name(&make_store(), &fx)
                .await
                .map_err(|message| SuiteFailure {
                    check: stringify!($name),
                    message,
                })?;
        };
    }
    check!(create_get_replace_delete_round_trip);
    check!(tenants_are_isolated);
    check!(uniqueness_is_case_insensitive);
    uniqueness_holds_under_concurrency(Arc::new(make_store()), &fx)
        .await
        .map_err(|message| SuiteFailure {
            check: "uniqueness_holds_under_concurrency",
            message,
        })?;
    check!(replace_and_delete_are_compare_and_swap);
    check!(unknown_ids_are_not_found);
    check!(membership_add_remove_and_no_op);
    check!(derived_groups_follow_membership);
    check!(deleting_removes_memberships);
    check!(filters_match_exactly);
    check!(sorting_follows_rfc_7644);
    check!(index_paging);
    check!(cursor_paging_visits_everything_once);
    check!(json_reads_match_resource_reads);
    Ok(())
}

/// Shared test data: the built-in User and Group types and two tenants.
struct Fixture {
    users: ResourceTypeView,
    groups: ResourceTypeView,
    a: RequestContext,
    b: RequestContext,
}

impl Fixture {
    fn new() -> Result<Self, String> {
        let registry = SchemaRegistry::default();
        Ok(Self {
            users: registry
                .resource_type("User")
                .ctx("User resource type")?
                .clone(),
            groups: registry
                .resource_type("Group")
                .ctx("Group resource type")?
                .clone(),
            a: RequestContext::new(
                Principal::new("suite-a", "suite"),
                "https://a.example/scim/v2",
            ),
            b: RequestContext::new(
                Principal::new("suite-b", "suite"),
                "https://b.example/scim/v2",
            ),
        })
    }

    fn users(&self) -> &ResourceTypeView {
        &self.users
    }

    fn groups(&self) -> &ResourceTypeView {
        &self.groups
    }

    /// A new resource of `view` from a client body, with a fresh `id` and `meta`.
    fn build(&self, view: &ResourceTypeView, body: Value) -> Result<Resource, String> {
        let mut r = Resource::from_client(view, body, &Tolerances::default()).ctx("from_client")?;
        r.set_id(uuid::Uuid::new_v4().to_string());
        crate::meta::stamp_created(&mut r, view, &self.a.base_url, chrono::Utc::now())
            .ctx("stamp_created")?;
        Ok(r)
    }

    fn user(&self, user_name: &str) -> Result<Resource, String> {
        self.build(self.users(), json!({ "userName": user_name }))
    }

    fn group(&self, display: &str, members: &[&str]) -> Result<Resource, String> {
        let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
        self.build(
            self.groups(),
            json!({ "displayName": display, "members": members }),
        )
    }

    /// `existing` with the client body `body` applied as a PUT would (new version).
    fn replacement(
        &self,
        view: &ResourceTypeView,
        existing: &Resource,
        body: Value,
    ) -> Result<Resource, String> {
        let new = Resource::from_client(view, body, &Tolerances::default()).ctx("from_client")?;
        let mut new = new.keep_server_owned(existing, view);
        crate::meta::stamp_modified(&mut new, existing, chrono::Utc::now());
        Ok(new)
    }
}

fn id_of(r: &Resource) -> Result<String, String> {
    r.id().map(str::to_owned).ctx("resource id")
}

fn version_of(r: &Resource) -> Result<String, String> {
    crate::meta::version(r)
        .map(str::to_owned)
        .ctx("meta.version")
}

fn ids(page: &QueryPage) -> Vec<String> {
    page.resources
        .iter()
        .filter_map(|r| r.id().map(str::to_owned))
        .collect()
}

fn member_ids(group: &Resource) -> BTreeSet<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|v| v.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn group_ids(user: &Resource) -> BTreeSet<String> {
    user.get("groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(|v| v.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn parse(filter: &str) -> Result<Filter, String> {
    scim_filter::parse_filter(filter).map_err(|e| format!("parse `{filter}`: {e}"))
}

fn all(count: usize) -> Page {
    Page::Index {
        start_index: 1,
        count,
    }
}

async fn run_filter<S: Store>(
    store: &S,
    ctx: &RequestContext,
    view: &ResourceTypeView,
    filter: &str,
) -> Result<Vec<String>, String> {
    let f = parse(filter)?;
    let page = store
        .query(ctx, &Query::all(view, all(10_000)).with_filter(&f))
        .await
        .ctx(&format!("query `{filter}`"))?;
    ensure_eq!(
        page.total_results,
        page.resources.len(),
        "totalResults of `{filter}`"
    );
    Ok(ids(&page))
}

async fn create_get_replace_delete_round_trip<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let user = fx.build(
        users,
        json!({
            "userName": "bjensen",
            "externalId": "701984",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "active": true
        }),
    )?;
    let id = id_of(&user)?;
    let created = store
        .create(&fx.a, users, user.clone())
        .await
        .ctx("create")?;
    ensure_eq!(created, user, "create returns the resource as given");
    let got = store.get(&fx.a, users, &id).await.ctx("get")?;
    ensure_eq!(got.as_ref(), Some(&user), "get returns the stored resource");
    ensure!(
        store
            .get(&fx.a, users, "no-such-id")
            .await
            .ctx("get unknown")?
            .is_none(),
        "get of an unknown id returns None"
    );

    let old_version = version_of(&user)?;
    let new = fx.replacement(
        users,
        &user,
        json!({"userName": "bjensen", "displayName": "Babs", "active": false}),
    )?;
    let new_version = version_of(&new)?;
    ensure!(
        new_version != old_version,
        "fixture: PUT changes the version"
    );
    let replaced = store
        .replace(&fx.a, users, new.clone(), &old_version)
        .await
        .ctx("replace")?;
    ensure_eq!(
        version_of(&replaced)?,
        new_version,
        "replace keeps the new version"
    );
    let got = store.get(&fx.a, users, &id).await.ctx("get")?.ctx("get")?;
    ensure_eq!(got, new, "get after replace");
    ensure!(
        got.get("emails").is_none(),
        "replace drops omitted attributes"
    );

    store
        .delete(&fx.a, users, &id, Some(&new_version))
        .await
        .ctx("delete")?;
    ensure!(
        store.get(&fx.a, users, &id).await.ctx("get")?.is_none(),
        "get after delete returns None"
    );
    let page = store
        .query(&fx.a, &Query::all(users, all(10)))
        .await
        .ctx("query")?;
    ensure_eq!(page.total_results, 0, "no users after delete");

    // Delete without a version.
    let other = fx.user("other")?;
    let other_id = id_of(&other)?;
    store.create(&fx.a, users, other).await.ctx("create")?;
    store
        .delete(&fx.a, users, &other_id, None)
        .await
        .ctx("delete without version")?;
    ensure!(
        store
            .get(&fx.a, users, &other_id)
            .await
            .ctx("get")?
            .is_none(),
        "deleted without version"
    );

    // Groups round-trip with their members.
    let member = fx.user("member")?;
    let member_id = id_of(&member)?;
    store
        .create(&fx.a, users, member)
        .await
        .ctx("create member")?;
    let group = fx.group("Tour Guides", &[&member_id])?;
    let gid = id_of(&group)?;
    let created = store
        .create(&fx.a, fx.groups(), group.clone())
        .await
        .ctx("create group")?;
    ensure_eq!(created, group, "create group returns it as given");
    let got = store.get(&fx.a, fx.groups(), &gid).await.ctx("get group")?;
    ensure_eq!(got, Some(group), "get group");
    Ok(())
}

async fn tenants_are_isolated<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let in_a = fx.user("bjensen")?;
    let in_b = fx.user("bjensen")?;
    let (id_a, id_b) = (id_of(&in_a)?, id_of(&in_b)?);
    let version_a = version_of(&in_a)?;
    store
        .create(&fx.a, users, in_a.clone())
        .await
        .ctx("create in A")?;
    store
        .create(&fx.b, users, in_b)
        .await
        .ctx("the same userName in another tenant")?;
    ensure!(
        store.get(&fx.b, users, &id_a).await.ctx("get")?.is_none(),
        "tenant B sees tenant A's user"
    );
    ensure!(
        store.get(&fx.a, users, &id_b).await.ctx("get")?.is_none(),
        "tenant A sees tenant B's user"
    );
    let in_b_page = store
        .query(&fx.b, &Query::all(users, all(10)))
        .await
        .ctx("query B")?;
    ensure_eq!(
        ids(&in_b_page),
        vec![id_b.clone()],
        "tenant B lists only its user"
    );
    ensure_eq!(
        run_filter(store, &fx.b, users, r#"userName eq "bjensen""#).await?,
        vec![id_b.clone()],
        "filter in tenant B"
    );
    let stolen = fx.replacement(users, &in_a, json!({"userName": "mallory"}))?;
    ensure!(
        matches!(
            store.replace(&fx.b, users, stolen, &version_a).await,
            Err(StoreError::NotFound(_))
        ),
        "replace of tenant A's user from tenant B must be NotFound"
    );
    ensure!(
        matches!(
            store.delete(&fx.b, users, &id_a, None).await,
            Err(StoreError::NotFound(_))
        ),
        "delete of tenant A's user from tenant B must be NotFound"
    );
    ensure!(
        store.get(&fx.a, users, &id_a).await.ctx("get")?.is_some(),
        "tenant A's user survives tenant B's attempts"
    );
    Ok(())
}

async fn uniqueness_is_case_insensitive<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let first = fx.user("bjensen")?;
    let first_id = id_of(&first)?;
    let first_version = version_of(&first)?;
    store
        .create(&fx.a, users, first.clone())
        .await
        .ctx("create")?;
    match store.create(&fx.a, users, fx.user("BJensen")?).await {
        Err(StoreError::Uniqueness(detail)) => {
            ensure!(
                detail.contains("userName") && detail.to_lowercase().contains("bjensen"),
                "the uniqueness detail names the attribute and value, got `{detail}`"
            );
        }
        other => return Err(format!("create of `BJensen` after `bjensen`: {other:?}")),
    }
    let second = fx.user("jsmith")?;
    let second_version = version_of(&second)?;
    store
        .create(&fx.a, users, second.clone())
        .await
        .ctx("create")?;
    let clash = fx.replacement(users, &second, json!({"userName": "BJENSEN"}))?;
    ensure!(
        matches!(
            store.replace(&fx.a, users, clash, &second_version).await,
            Err(StoreError::Uniqueness(_))
        ),
        "replace to a taken userName must fail with Uniqueness"
    );
    // Changing only the case of one's own userName is allowed.
    let recased = fx.replacement(users, &first, json!({"userName": "BJensen"}))?;
    let recased_version = version_of(&recased)?;
    store
        .replace(&fx.a, users, recased, &first_version)
        .await
        .ctx("re-casing one's own userName")?;
    store
        .delete(&fx.a, users, &first_id, Some(&recased_version))
        .await
        .ctx("delete")?;
    store
        .create(&fx.a, users, fx.user("bjensen")?)
        .await
        .ctx("a deleted user's userName is free again")?;
    Ok(())
}

async fn uniqueness_holds_under_concurrency<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    const TASKS: usize = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let mut handles = Vec::with_capacity(TASKS);
    for i in 0..TASKS {
        // Every task uses a different spelling of the same name.
        let name: String = "concurrent"
            .chars()
            .enumerate()
            .map(|(j, c)| {
                if (i >> (j % 4)) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let user = fx.user(&name)?;
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        let (ctx, view) = (fx.a.clone(), fx.users().clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store.create(&ctx, &view, user).await
        }));
    }
    let (mut ok, mut taken) = (0, 0);
    for handle in handles {
        match handle.await {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(StoreError::Uniqueness(_))) => taken += 1,
            Ok(Err(other)) => return Err(format!("concurrent create: unexpected {other:?}")),
            Err(join) => return Err(format!("concurrent create task failed: {join}")),
        }
    }
    ensure_eq!(
        (ok, taken),
        (1, TASKS - 1),
        "(successes, uniqueness errors)"
    );
    let found = run_filter(&*store, &fx.a, fx.users(), r#"userName eq "CONCURRENT""#).await?;
    ensure_eq!(found.len(), 1, "users named `concurrent`");
    Ok(())
}

async fn replace_and_delete_are_compare_and_swap<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let user = fx.user("cas")?;
    let id = id_of(&user)?;
    let v1 = version_of(&user)?;
    store
        .create(&fx.a, users, user.clone())
        .await
        .ctx("create")?;
    let second = fx.replacement(users, &user, json!({"userName": "cas", "title": "two"}))?;
    let v2 = version_of(&second)?;
    store
        .replace(&fx.a, users, second.clone(), &v1)
        .await
        .ctx("replace")?;
    let stale = fx.replacement(users, &user, json!({"userName": "cas", "title": "lost"}))?;
    ensure!(
        matches!(
            store.replace(&fx.a, users, stale, &v1).await,
            Err(StoreError::VersionMismatch)
        ),
        "replace with a stale version must fail with VersionMismatch"
    );
    ensure!(
        matches!(
            store.delete(&fx.a, users, &id, Some(&v1)).await,
            Err(StoreError::VersionMismatch)
        ),
        "delete with a stale version must fail with VersionMismatch"
    );
    let got = store.get(&fx.a, users, &id).await.ctx("get")?;
    ensure_eq!(got, Some(second), "the losing writes changed nothing");
    store
        .delete(&fx.a, users, &id, Some(&v2))
        .await
        .ctx("delete with the current version")?;
    Ok(())
}

async fn unknown_ids_are_not_found<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let ghost = fx.user("ghost")?;
    let version = version_of(&ghost)?;
    ensure!(
        matches!(
            store.replace(&fx.a, users, ghost, &version).await,
            Err(StoreError::NotFound(_))
        ),
        "replace of an unknown id must be NotFound"
    );
    ensure!(
        matches!(
            store.delete(&fx.a, users, "no-such-id", None).await,
            Err(StoreError::NotFound(_))
        ),
        "delete of an unknown id must be NotFound"
    );
    let change = MembershipChange::adding(vec![json!({"value": "x"})]);
    ensure!(
        matches!(
            store
                .modify_members(&fx.a, fx.groups(), "no-such-group", &change, None)
                .await,
            Err(StoreError::NotFound(_))
        ),
        "modify_members of an unknown group must be NotFound"
    );
    Ok(())
}

async fn membership_add_remove_and_no_op<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let mut uids = Vec::new();
    for name in ["m1", "m2", "m3"] {
        let u = fx.user(name)?;
        uids.push(id_of(&u)?);
        store.create(&fx.a, users, u).await.ctx("create user")?;
    }
    let group = fx.group("Engineering", &[&uids[0]])?;
    let gid = id_of(&group)?;
    let v0 = version_of(&group)?;
    store
        .create(&fx.a, groups, group)
        .await
        .ctx("create group")?;

    let add = MembershipChange::adding(vec![json!({"value": uids[1], "type": "User"})]);
    let out = store
        .modify_members(&fx.a, groups, &gid, &add, Some(&v0))
        .await
        .ctx("add m2")?;
    ensure!(out.changed, "adding a new member is a change");
    ensure!(out.version != v0, "adding a member changes the version");
    let got = store
        .get(&fx.a, groups, &gid)
        .await
        .ctx("get")?
        .ctx("group")?;
    ensure_eq!(
        version_of(&got)?,
        out.version,
        "outcome version is the stored version"
    );
    ensure_eq!(
        member_ids(&got),
        BTreeSet::from([uids[0].clone(), uids[1].clone()]),
        "members after add"
    );
    let v1 = out.version;

    let again = store
        .modify_members(&fx.a, groups, &gid, &add, None)
        .await
        .ctx("add m2 again")?;
    ensure!(!again.changed, "adding an existing member is a no-op");
    ensure_eq!(again.version, v1, "a no-op keeps the version");
    let got = store
        .get(&fx.a, groups, &gid)
        .await
        .ctx("get")?
        .ctx("group")?;
    ensure_eq!(
        got.get("members").and_then(Value::as_array).map(Vec::len),
        Some(2),
        "members are not duplicated"
    );
    let none = MembershipChange::removing(vec!["not-a-member".into()]);
    let out = store
        .modify_members(&fx.a, groups, &gid, &none, None)
        .await
        .ctx("remove a non-member")?;
    ensure!(
        !out.changed && out.version == v1,
        "removing a non-member is a no-op"
    );

    ensure!(
        matches!(
            store
                .modify_members(&fx.a, groups, &gid, &add, Some(&v0))
                .await,
            Err(StoreError::VersionMismatch)
        ),
        "modify_members with a stale version must fail with VersionMismatch"
    );

    let swap = MembershipChange::new(
        vec![json!({"value": uids[2]}), json!({"value": uids[2]})],
        vec![uids[0].clone()],
    );
    let out = store
        .modify_members(&fx.a, groups, &gid, &swap, Some(&v1))
        .await
        .ctx("add m3, remove m1")?;
    ensure!(out.changed && out.version != v1, "a swap is a change");
    let got = store
        .get(&fx.a, groups, &gid)
        .await
        .ctx("get")?
        .ctx("group")?;
    ensure_eq!(
        member_ids(&got),
        BTreeSet::from([uids[1].clone(), uids[2].clone()]),
        "members after the swap"
    );
    ensure_eq!(
        got.get("members").and_then(Value::as_array).map(Vec::len),
        Some(2),
        "a member added twice in one change is added once"
    );
    Ok(())
}

async fn derived_groups_follow_membership<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let user = fx.user("member")?;
    let uid = id_of(&user)?;
    store.create(&fx.a, users, user).await.ctx("create user")?;
    let g1 = fx.group("Admins", &[&uid])?;
    let g2 = fx.group("Everyone", &[])?;
    let (gid1, gid2) = (id_of(&g1)?, id_of(&g2)?);
    store
        .create(&fx.a, groups, g1.clone())
        .await
        .ctx("create g1")?;
    store.create(&fx.a, groups, g2).await.ctx("create g2")?;

    let got = store
        .get(&fx.a, users, &uid)
        .await
        .ctx("get")?
        .ctx("user")?;
    let derived = got
        .get("groups")
        .and_then(Value::as_array)
        .ctx("derived groups")?;
    ensure_eq!(derived.len(), 1, "one group");
    ensure_eq!(derived[0].get("value"), Some(&json!(gid1)), "groups.value");
    ensure_eq!(
        derived[0].get("display"),
        Some(&json!("Admins")),
        "groups.display"
    );
    ensure_eq!(
        derived[0].get("type"),
        Some(&json!("direct")),
        "groups.type"
    );

    let add = MembershipChange::adding(vec![json!({"value": uid})]);
    store
        .modify_members(&fx.a, groups, &gid2, &add, None)
        .await
        .ctx("add to g2")?;
    let got = store
        .get(&fx.a, users, &uid)
        .await
        .ctx("get")?
        .ctx("user")?;
    ensure_eq!(
        group_ids(&got),
        BTreeSet::from([gid1.clone(), gid2.clone()]),
        "groups after add"
    );
    // `groups` of a User can be filtered on.
    ensure_eq!(
        run_filter(store, &fx.a, users, &format!(r#"groups.value eq "{gid2}""#)).await?,
        vec![uid.clone()],
        "filter by groups.value"
    );
    // Group `members` can be filtered on.
    ensure_eq!(
        run_filter(
            store,
            &fx.a,
            groups,
            &format!(r#"members.value eq "{uid}""#)
        )
        .await?
        .len(),
        2,
        "filter by members.value"
    );

    // Renaming a group renames it in `groups.display`.
    let renamed = fx.replacement(
        groups,
        &g1,
        json!({"displayName": "Administrators", "members": [{"value": uid}]}),
    )?;
    store
        .replace(&fx.a, groups, renamed, &version_of(&g1)?)
        .await
        .ctx("rename g1")?;
    let got = store
        .get(&fx.a, users, &uid)
        .await
        .ctx("get")?
        .ctx("user")?;
    let display = got
        .get("groups")
        .and_then(Value::as_array)
        .and_then(|g| g.iter().find(|v| v.get("value") == Some(&json!(gid1))))
        .and_then(|v| v.get("display"));
    ensure_eq!(
        display,
        Some(&json!("Administrators")),
        "groups.display after rename"
    );

    let remove = MembershipChange::removing(vec![uid.clone()]);
    store
        .modify_members(&fx.a, groups, &gid2, &remove, None)
        .await
        .ctx("remove from g2")?;
    let got = store
        .get(&fx.a, users, &uid)
        .await
        .ctx("get")?
        .ctx("user")?;
    ensure_eq!(
        group_ids(&got),
        BTreeSet::from([gid1]),
        "groups after remove"
    );
    Ok(())
}

async fn deleting_removes_memberships<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let (u1, u2) = (fx.user("leaver")?, fx.user("stayer")?);
    let (uid1, uid2) = (id_of(&u1)?, id_of(&u2)?);
    store.create(&fx.a, users, u1).await.ctx("create")?;
    store.create(&fx.a, users, u2).await.ctx("create")?;
    let group = fx.group("Team", &[&uid1, &uid2])?;
    let gid = id_of(&group)?;
    let v0 = version_of(&group)?;
    store
        .create(&fx.a, groups, group)
        .await
        .ctx("create group")?;

    store
        .delete(&fx.a, users, &uid1, None)
        .await
        .ctx("delete user")?;
    let got = store
        .get(&fx.a, groups, &gid)
        .await
        .ctx("get")?
        .ctx("group")?;
    ensure_eq!(
        member_ids(&got),
        BTreeSet::from([uid2.clone()]),
        "members after user deletion"
    );
    ensure!(
        version_of(&got)? != v0,
        "removing a deleted user from a group changes the group's version"
    );

    store
        .delete(&fx.a, groups, &gid, None)
        .await
        .ctx("delete group")?;
    let got = store
        .get(&fx.a, users, &uid2)
        .await
        .ctx("get")?
        .ctx("user")?;
    ensure!(
        group_ids(&got).is_empty(),
        "a deleted group disappears from its members' groups"
    );
    Ok(())
}

async fn filters_match_exactly<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let mut by_name = BTreeMap::new();
    for i in 0..30 {
        let mut body = json!({
            "userName": format!("User{i:02}"),
            "externalId": format!("ext-{i}"),
            "active": i % 2 == 0,
            "emails": [{"value": format!("u{i}@example.com"), "type": if i % 3 == 0 { "work" } else { "home" }}],
        });
        if i % 5 == 0 {
            body["title"] = json!("Lead");
        }
        let user = fx.build(users, body)?;
        by_name.insert(i, id_of(&user)?);
        store.create(&fx.a, users, user).await.ctx("create")?;
    }
    let id = |i: usize| by_name.get(&i).cloned().unwrap_or_default();
    let cases: Vec<(String, Vec<String>)> = vec![
        (r#"userName eq "user07""#.into(), vec![id(7)]),
        (r#"USERNAME eq "USER07""#.into(), vec![id(7)]),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user07""#.into(),
            vec![id(7)],
        ),
        (r#"userName eq "nobody""#.into(), vec![]),
        (r#"externalId eq "ext-7""#.into(), vec![id(7)]),
        (r#"externalId eq "EXT-7""#.into(), vec![]),
        (format!(r#"id eq "{}""#, id(3)), vec![id(3)]),
        (
            r#"userName eq "user08" and active eq true"#.into(),
            vec![id(8)],
        ),
        (r#"active eq true and userName eq "user07""#.into(), vec![]),
        (
            r#"userName eq "user10" and title pr and emails[type eq "home"]"#.into(),
            vec![id(10)],
        ),
        (
            r#"userName eq "user01" or userName eq "user02""#.into(),
            vec![id(1), id(2)],
        ),
        (r#"userName sw "user1""#.into(), (10..20).map(id).collect()),
        (
            r#"title eq "lead""#.into(),
            (0..30).step_by(5).map(id).collect(),
        ),
        (
            r#"emails[type eq "work" and value ew "@EXAMPLE.COM"]"#.into(),
            (0..30).step_by(3).map(id).collect(),
        ),
        (
            r#"not (active eq true)"#.into(),
            (1..30).step_by(2).map(id).collect(),
        ),
    ];
    for (filter, expected) in cases {
        let got = run_filter(store, &fx.a, users, &filter).await?;
        ensure_eq!(
            got.iter().collect::<BTreeSet<_>>(),
            expected.iter().collect::<BTreeSet<_>>(),
            "results of `{filter}`"
        );
        // The same filter in a form no index serves gives the same results.
        let scanned = run_filter(store, &fx.a, users, &format!("not (not ({filter}))")).await?;
        ensure_eq!(
            scanned.iter().collect::<BTreeSet<_>>(),
            expected.iter().collect::<BTreeSet<_>>(),
            "results of `{filter}` as a scan"
        );
    }
    for bad in [
        "active gt true",
        "userName eq \"user01\" and active gt true",
    ] {
        let f = parse(bad)?;
        let res = store
            .query(&fx.a, &Query::all(users, all(10)).with_filter(&f))
            .await;
        ensure!(
            matches!(res, Err(StoreError::InvalidFilter(_))),
            "`{bad}` must fail with InvalidFilter, got {res:?}"
        );
    }
    Ok(())
}

async fn sorted<S: Store>(
    store: &S,
    fx: &Fixture,
    by: &str,
    order: SortOrder,
) -> Result<Vec<String>, String> {
    let path = match by.split_once('.') {
        Some((name, sub)) => AttrPath::new(name).with_sub_attr(sub),
        None => AttrPath::new(by),
    };
    let sort = Sort::new(path, order);
    let page = store
        .query(&fx.a, &Query::all(fx.users(), all(100)).with_sort(&sort))
        .await
        .ctx(&format!("sortBy {by}"))?;
    Ok(page
        .resources
        .iter()
        .filter_map(|r| r.get("userName").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

async fn sorting_follows_rfc_7644<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let rows = [
        ("delta", Some("b"), None),
        ("Alpha", None, Some("z@example.com")),
        ("charlie", Some("A"), Some("a@example.com")),
        ("bravo", Some("c"), None),
    ];
    for (name, title, email) in rows {
        let mut body = json!({"userName": name});
        if let Some(t) = title {
            body["title"] = json!(t);
        }
        if let Some(e) = email {
            body["emails"] = json!([
                {"value": "first@example.com"},
                {"value": e, "primary": true}
            ]);
        }
        store
            .create(&fx.a, users, fx.build(users, body)?)
            .await
            .ctx("create")?;
    }
    ensure_eq!(
        sorted(store, fx, "userName", SortOrder::Ascending).await?,
        ["Alpha", "bravo", "charlie", "delta"],
        "userName ascending (case-insensitive)"
    );
    ensure_eq!(
        sorted(store, fx, "userName", SortOrder::Descending).await?,
        ["delta", "charlie", "bravo", "Alpha"],
        "userName descending"
    );
    ensure_eq!(
        sorted(store, fx, "title", SortOrder::Ascending).await?,
        ["charlie", "delta", "bravo", "Alpha"],
        "title ascending: missing values last"
    );
    ensure_eq!(
        sorted(store, fx, "title", SortOrder::Descending).await?,
        ["Alpha", "bravo", "delta", "charlie"],
        "title descending: missing values first"
    );
    // Multi-valued: by the primary value (not the first); `delta` and `bravo` have no
    // emails and tie, in whatever deterministic order the store keeps.
    let by_email = sorted(store, fx, "emails.value", SortOrder::Ascending).await?;
    ensure_eq!(
        by_email.get(..2),
        Some(&["charlie".to_owned(), "Alpha".to_owned()][..]),
        "emails.value ascending by the primary email"
    );
    ensure_eq!(
        by_email
            .get(2..)
            .map(|rest| rest.iter().map(String::as_str).collect::<BTreeSet<_>>()),
        Some(BTreeSet::from(["bravo", "delta"])),
        "resources without emails sort last"
    );
    ensure_eq!(
        sorted(store, fx, "emails.value", SortOrder::Ascending).await?,
        by_email,
        "sorting is deterministic"
    );
    Ok(())
}

async fn seed_users<S: Store>(store: &S, fx: &Fixture, n: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let user = fx.user(&format!("page{i:03}"))?;
        out.push(id_of(&user)?);
        store.create(&fx.a, fx.users(), user).await.ctx("create")?;
    }
    Ok(out)
}

async fn index_paging<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    seed_users(store, fx, 25).await?;
    let page = |start_index, count| Page::Index { start_index, count };
    let mut seen = Vec::new();
    for start in [1, 11, 21] {
        let p = store
            .query(&fx.a, &Query::all(users, page(start, 10)))
            .await
            .ctx("page")?;
        ensure_eq!(p.total_results, 25, "totalResults at startIndex {start}");
        ensure_eq!(
            p.resources.len(),
            if start == 21 { 5 } else { 10 },
            "page size at startIndex {start}"
        );
        seen.extend(ids(&p));
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    ensure_eq!(unique.len(), 25, "three pages list every user once");
    let again = store
        .query(&fx.a, &Query::all(users, page(1, 100)))
        .await
        .ctx("one page")?;
    ensure_eq!(
        ids(&again),
        seen,
        "the default order is stable across pages"
    );

    let beyond = store
        .query(&fx.a, &Query::all(users, page(26, 10)))
        .await
        .ctx("beyond the end")?;
    ensure!(
        beyond.resources.is_empty() && beyond.total_results == 25,
        "startIndex beyond the end: no resources, total 25"
    );
    let totals = store
        .query(&fx.a, &Query::all(users, page(1, 0)))
        .await
        .ctx("count=0")?;
    ensure!(
        totals.resources.is_empty() && totals.total_results == 25,
        "count=0: no resources, total 25"
    );
    let f = parse(r#"userName sw "page01""#)?;
    let filtered = store
        .query(&fx.a, &Query::all(users, page(6, 3)).with_filter(&f))
        .await
        .ctx("filtered page")?;
    ensure_eq!(filtered.total_results, 10, "filtered total");
    ensure_eq!(filtered.resources.len(), 3, "filtered page size");
    let sort = Sort::new(AttrPath::new("userName"), SortOrder::Descending);
    let top = store
        .query(&fx.a, &Query::all(users, page(1, 2)).with_sort(&sort))
        .await
        .ctx("sorted page")?;
    let names: Vec<_> = top
        .resources
        .iter()
        .filter_map(|r| r.get("userName").and_then(Value::as_str))
        .collect();
    ensure_eq!(names, ["page024", "page023"], "sorted page");
    Ok(())
}

async fn cursor_walk<S: Store>(
    store: &S,
    fx: &Fixture,
    sort: Option<&Sort>,
    filter: Option<&Filter>,
    count: usize,
    mut between_pages: impl FnMut(usize) -> Option<(bool, String)>,
) -> Result<Option<Vec<String>>, String> {
    let users = fx.users();
    let mut cursor = None;
    let mut seen = Vec::new();
    for page_no in 0..10_000 {
        let mut query = Query::all(
            users,
            Page::Cursor {
                cursor: cursor.clone(),
                count,
            },
        );
        if let Some(sort) = sort {
            query = query.with_sort(sort);
        }
        if let Some(filter) = filter {
            query = query.with_filter(filter);
        }
        let page = match store.query(&fx.a, &query).await {
            Err(StoreError::Unsupported(_)) if page_no == 0 => return Ok(None),
            other => other.ctx("cursor page")?,
        };
        ensure!(
            page.resources.len() <= count,
            "a page holds at most `count` resources"
        );
        seen.extend(ids(&page));
        match page.next_cursor {
            None => return Ok(Some(seen)),
            Some(next) => {
                ensure!(
                    !page.resources.is_empty(),
                    "a page with a next cursor is not empty"
                );
                cursor = Some(next);
            }
        }
        if let Some((create, name)) = between_pages(page_no) {
            if create {
                store
                    .create(&fx.a, users, fx.user(&name)?)
                    .await
                    .ctx("create between pages")?;
            } else {
                store
                    .delete(&fx.a, users, &name, None)
                    .await
                    .ctx("delete between pages")?;
            }
        }
    }
    Err("the cursor walk did not end".into())
}

async fn cursor_paging_visits_everything_once<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let all_ids = seed_users(store, fx, 23).await?;
    let expected: BTreeSet<&String> = all_ids.iter().collect();
    let Some(seen) = cursor_walk(store, fx, None, None, 5, |_| None).await? else {
        return Ok(()); // cursor paging unsupported: nothing more to check
    };
    ensure_eq!(seen.len(), 23, "resources visited");
    ensure_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        expected,
        "every resource once"
    );

    let sort = Sort::new(AttrPath::new("userName"), SortOrder::Descending);
    let seen = cursor_walk(store, fx, Some(&sort), None, 4, |_| None)
        .await?
        .ctx("sorted walk")?;
    ensure_eq!(seen.len(), 23, "resources visited (sorted)");
    ensure_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        expected,
        "every resource once (sorted)"
    );

    let f = parse(r#"userName ew "1""#)?;
    let seen = cursor_walk(store, fx, None, Some(&f), 1, |_| None)
        .await?
        .ctx("filtered walk")?;
    ensure_eq!(seen.len(), 3, "page001, page011, page021");

    // Without sortBy, resources that exist throughout the walk are visited exactly once
    // even when others are created and deleted between pages.
    let doomed = all_ids.last().cloned().unwrap_or_default();
    let seen = cursor_walk(store, fx, None, None, 5, |page_no| match page_no {
        0 => Some((true, "newcomer".into())),
        1 => Some((false, doomed.clone())),
        _ => None,
    })
    .await?
    .ctx("walk with changes")?;
    let survivors: BTreeSet<&String> = all_ids.iter().filter(|i| **i != doomed).collect();
    let seen_set: BTreeSet<&String> = seen.iter().collect();
    ensure_eq!(seen.len(), seen_set.len(), "no resource visited twice");
    ensure!(
        survivors.is_subset(&seen_set),
        "every resource that existed throughout the walk was visited"
    );

    let bad = store
        .query(
            &fx.a,
            &Query::all(
                users,
                Page::Cursor {
                    cursor: Some("not-a-cursor".into()),
                    count: 5,
                },
            ),
        )
        .await;
    ensure!(
        matches!(bad, Err(StoreError::InvalidCursor(_))),
        "an invalid cursor must fail with InvalidCursor, got {bad:?}"
    );
    let last = store
        .query(
            &fx.a,
            &Query::all(
                users,
                Page::Cursor {
                    cursor: None,
                    count: 100,
                },
            ),
        )
        .await
        .ctx("one page")?;
    ensure!(
        last.next_cursor.is_none(),
        "the last page has no next cursor"
    );
    Ok(())
}

/// A [`StoredJson`](super::StoredJson) as the JSON object it stands for: the text's
/// attributes plus the derived ones.
fn reassemble(stored: &super::StoredJson) -> Result<Value, String> {
    let mut value: Value = serde_json::from_str(&stored.text)
        .map_err(|e| format!("StoredJson.text is not JSON: {e}"))?;
    let object = value.as_object_mut().ctx("StoredJson.text is an object")?;
    for (key, derived) in &stored.derived {
        object.insert(key.clone(), derived.clone());
    }
    Ok(value)
}

/// `get_json` / `query_json` (the engine's read path) describe exactly what `get` / `query`
/// return, including derived `groups` and stored `members`, so responses do not depend on
/// which path the engine takes.
async fn json_reads_match_resource_reads<S: Store>(store: &S, fx: &Fixture) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let mut uids = Vec::new();
    for name in ["json-b", "json-a", "json-c"] {
        let user = fx.user(name)?;
        uids.push(id_of(&user)?);
        store.create(&fx.a, users, user).await.ctx("create user")?;
    }
    let uid_refs: Vec<&str> = uids.iter().map(String::as_str).collect();
    let group = fx.group("Readers", &uid_refs[..2])?;
    let gid = id_of(&group)?;
    store
        .create(&fx.a, groups, group)
        .await
        .ctx("create group")?;

    for (view, id) in [(users, uids[0].as_str()), (groups, gid.as_str())] {
        let resource = store
            .get(&fx.a, view, id)
            .await
            .ctx("get")?
            .ctx("resource")?;
        let stored = store
            .get_json(&fx.a, view, id)
            .await
            .ctx("get_json")?
            .ctx("get_json finds what get finds")?;
        ensure_eq!(reassemble(&stored)?, resource.to_json(), "get_json vs get");
    }
    let missing = store
        .get_json(&fx.a, users, "no-such-id")
        .await
        .ctx("get_json of an unknown id")?;
    ensure_eq!(missing, None, "get_json of an unknown id");

    let sort = Sort::new(AttrPath::new("userName"), SortOrder::Descending);
    let query = Query::all(users, all(2)).with_sort(&sort);
    let page = store.query(&fx.a, &query).await.ctx("query")?;
    let json_page = store.query_json(&fx.a, &query).await.ctx("query_json")?;
    ensure_eq!(
        json_page.total_results,
        page.total_results,
        "query_json totalResults"
    );
    ensure_eq!(
        json_page.resources.len(),
        page.resources.len(),
        "query_json page size"
    );
    for (stored, resource) in json_page.resources.iter().zip(&page.resources) {
        ensure_eq!(
            reassemble(stored)?,
            resource.to_json(),
            "query_json vs query"
        );
    }
    Ok(())
}

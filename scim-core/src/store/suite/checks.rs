//! The checks that call a store's methods directly.

use super::{Context, Fixture, Outcome, ensure, ensure_eq};
use crate::context::RequestContext;
use crate::schema::ResourceTypeView;
use crate::store::{
    Member, MembershipChange, Page, Position, Query, QueryPage, ResolvedFilter, ResolvedSort,
    SortOrder, Store, StoreError, StoredResource,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

fn ids(page: &QueryPage) -> Vec<String> {
    page.resources.iter().map(|r| r.id().to_owned()).collect()
}

fn member_ids(record: &StoredResource) -> Vec<String> {
    record.members().iter().map(|m| m.value.clone()).collect()
}

async fn all<S: Store>(
    store: &S,
    ctx: &RequestContext,
    view: &ResourceTypeView,
) -> Result<Vec<StoredResource>, String> {
    let page = store
        .query(ctx, &Query::new(view, Page::All))
        .await
        .ctx("query every resource")?;
    ensure_eq!(page.total, page.resources.len(), "total of Page::All");
    Ok(page.resources)
}

async fn get<S: Store>(
    store: &S,
    ctx: &RequestContext,
    view: &ResourceTypeView,
    id: &str,
) -> Result<StoredResource, String> {
    store
        .get(ctx, view, id)
        .await
        .ctx("get")?
        .ctx("get of an existing id")
}

fn later(ctx: &RequestContext, millis: i64) -> RequestContext {
    ctx.clone()
        .at(ctx.now + chrono::Duration::milliseconds(millis))
}

pub(super) async fn records_round_trip<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let user = fx.build(
        users,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen",
            "externalId": "701984",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
        }),
    )?;
    store.create(&fx.a, users, &user).await.ctx("create")?;
    let got = get(&*store, &fx.a, users, user.id()).await?;
    ensure_eq!(
        got,
        user,
        "get returns the record as created (attributes, meta)"
    );
    ensure!(
        store
            .get(&fx.a, users, "no-such-id")
            .await
            .ctx("get unknown")?
            .is_none(),
        "get of an unknown id returns None"
    );

    let new = fx.replacement(
        users,
        &user,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "displayName": "Babs", "active": false}),
    )?;
    ensure_eq!(
        new.version(),
        user.version().next(),
        "fixture: the next version"
    );
    store
        .replace(&fx.a, users, &new, user.version())
        .await
        .ctx("replace")?;
    let got = get(&*store, &fx.a, users, user.id()).await?;
    ensure_eq!(got, new, "get after replace");
    ensure!(
        got.attributes().ctx("attributes")?.get("emails").is_none(),
        "replace drops omitted attributes"
    );

    store
        .delete(&fx.a, users, user.id(), Some(new.version()))
        .await
        .ctx("delete")?;
    ensure!(
        store
            .get(&fx.a, users, user.id())
            .await
            .ctx("get")?
            .is_none(),
        "get after delete returns None"
    );
    ensure!(
        all(&*store, &fx.a, users).await?.is_empty(),
        "no users after delete"
    );

    let other = fx.user("other")?;
    store.create(&fx.a, users, &other).await.ctx("create")?;
    store
        .delete(&fx.a, users, other.id(), None)
        .await
        .ctx("delete without version")?;
    ensure!(
        store
            .get(&fx.a, users, other.id())
            .await
            .ctx("get")?
            .is_none(),
        "deleted without version"
    );

    // Groups keep their members in order.
    let names = ["m-c", "m-a", "m-b"];
    let mut uids = Vec::new();
    for name in names {
        let u = fx.user(name)?;
        store.create(&fx.a, users, &u).await.ctx("create member")?;
        uids.push(u.id().to_owned());
    }
    let refs: Vec<&str> = uids.iter().map(String::as_str).collect();
    let group = fx.group("Tour Guides", &refs)?;
    store
        .create(&fx.a, fx.groups(), &group)
        .await
        .ctx("create group")?;
    let got = get(&*store, &fx.a, fx.groups(), group.id()).await?;
    ensure_eq!(got, group, "get group");
    ensure_eq!(member_ids(&got), uids, "members in insertion order");
    let typed = fx.build(
        fx.groups(),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Typed", "members": [{"value": uids[0], "type": "User", "display": "C"}]}),
    )?;
    store
        .create(&fx.a, fx.groups(), &typed)
        .await
        .ctx("create typed group")?;
    let got = get(&*store, &fx.a, fx.groups(), typed.id()).await?;
    ensure_eq!(
        got.members(),
        &[Member::new(&uids[0]).with_type("User").with_display("C")][..],
        "members keep type and display"
    );
    Ok(None)
}

pub(super) async fn tenants_are_isolated<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let in_a = fx.user("bjensen")?;
    let in_b = fx.user("bjensen")?;
    store.create(&fx.a, users, &in_a).await.ctx("create in A")?;
    store
        .create(&fx.b, users, &in_b)
        .await
        .ctx("the same userName in another tenant")?;
    ensure!(
        store
            .get(&fx.b, users, in_a.id())
            .await
            .ctx("get")?
            .is_none(),
        "tenant B sees tenant A's user"
    );
    ensure!(
        store
            .get(&fx.a, users, in_b.id())
            .await
            .ctx("get")?
            .is_none(),
        "tenant A sees tenant B's user"
    );
    let listed: Vec<String> = all(&*store, &fx.b, users)
        .await?
        .iter()
        .map(|r| r.id().to_owned())
        .collect();
    ensure_eq!(
        listed,
        vec![in_b.id().to_owned()],
        "tenant B lists only its user"
    );
    let stolen = fx.replacement(
        users,
        &in_a,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mallory"}),
    )?;
    ensure!(
        matches!(
            store.replace(&fx.b, users, &stolen, in_a.version()).await,
            Err(StoreError::NotFound(_))
        ),
        "replace of tenant A's user from tenant B must be NotFound"
    );
    ensure!(
        matches!(
            store.delete(&fx.b, users, in_a.id(), None).await,
            Err(StoreError::NotFound(_))
        ),
        "delete of tenant A's user from tenant B must be NotFound"
    );
    let group = fx.group("A's group", &[in_a.id()])?;
    store
        .create(&fx.a, fx.groups(), &group)
        .await
        .ctx("create group in A")?;
    ensure!(
        store
            .memberships(&fx.b, fx.groups(), &[in_a.id()])
            .await
            .ctx("memberships")?
            .is_empty(),
        "tenant B sees tenant A's memberships"
    );
    ensure!(
        store
            .get(&fx.a, users, in_a.id())
            .await
            .ctx("get")?
            .is_some(),
        "tenant A's user survives tenant B's attempts"
    );
    Ok(None)
}

pub(super) async fn uniqueness_is_case_insensitive<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    let users = fx.users();
    let first = fx.user("bjensen")?;
    store.create(&fx.a, users, &first).await.ctx("create")?;
    match store.create(&fx.a, users, &fx.user("BJensen")?).await {
        Err(StoreError::Uniqueness(detail)) => ensure!(
            detail.contains("userName") && detail.to_lowercase().contains("bjensen"),
            "the uniqueness detail names the attribute and value, got `{detail}`"
        ),
        other => return Err(format!("create of `BJensen` after `bjensen`: {other:?}")),
    }
    ensure!(
        matches!(
            store.create(&fx.a, users, &first).await,
            Err(StoreError::Uniqueness(_))
        ),
        "creating a taken id must fail with Uniqueness"
    );
    let sigma = fx.user("ΟΔΟΣ")?;
    store
        .create(&fx.a, users, &sigma)
        .await
        .ctx("create ΟΔΟΣ")?;
    ensure!(
        matches!(
            store.create(&fx.a, users, &fx.user("οδοσ")?).await,
            Err(StoreError::Uniqueness(_))
        ),
        "userName folds Unicode case (ΟΔΟΣ = οδοσ)"
    );
    let second = fx.user("jsmith")?;
    store.create(&fx.a, users, &second).await.ctx("create")?;
    let clash = fx.replacement(
        users,
        &second,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJENSEN"}),
    )?;
    ensure!(
        matches!(
            store.replace(&fx.a, users, &clash, second.version()).await,
            Err(StoreError::Uniqueness(_))
        ),
        "replace to a taken userName must fail with Uniqueness"
    );
    ensure_eq!(
        get(&*store, &fx.a, users, second.id()).await?,
        second,
        "a refused replace changes nothing"
    );
    let recased = fx.replacement(
        users,
        &first,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJensen"}),
    )?;
    store
        .replace(&fx.a, users, &recased, first.version())
        .await
        .ctx("re-casing one's own userName")?;
    store
        .delete(&fx.a, users, first.id(), Some(recased.version()))
        .await
        .ctx("delete")?;
    store
        .create(&fx.a, users, &fx.user("bjensen")?)
        .await
        .ctx("a deleted user's userName is free again")?;
    let renamed = fx.replacement(
        users,
        &second,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jsmith2"}),
    )?;
    store
        .replace(&fx.a, users, &renamed, second.version())
        .await
        .ctx("rename")?;
    store
        .create(&fx.a, users, &fx.user("JSMITH")?)
        .await
        .ctx("a renamed user's old userName is free again")?;
    Ok(None)
}

pub(super) async fn uniqueness_holds_under_concurrency<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
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
            store.create(&ctx, &view, &user).await
        }));
    }
    let (mut ok, mut taken) = (0, 0);
    for handle in handles {
        match handle.await {
            Ok(Ok(())) => ok += 1,
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
    ensure_eq!(
        all(&*store, &fx.a, fx.users()).await?.len(),
        1,
        "users stored"
    );
    Ok(None)
}

/// The total of a full first page, which a store cannot learn from the page's length.
async fn total<S: Store>(
    store: &S,
    ctx: &RequestContext,
    view: &ResourceTypeView,
) -> Result<usize, String> {
    let page = store
        .query(
            ctx,
            &Query::new(
                view,
                Page::Offset {
                    offset: 0,
                    limit: 1,
                },
            ),
        )
        .await
        .ctx("query a page of one")?;
    Ok(page.total)
}

/// An unfiltered total (RFC 7644 §3.4.2 `totalResults`) follows concurrent creates and
/// deletes through many connections, per tenant and resource type, and is not moved by a
/// create or delete that fails.
pub(super) async fn totals_follow_creates_and_deletes<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    const TASKS: usize = 16;
    let users = fx.users();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let mut handles = Vec::with_capacity(TASKS);
    for i in 0..TASKS {
        let user = fx.user(&format!("counted{i:02}"))?;
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        let (ctx, view) = (fx.a.clone(), users.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store.create(&ctx, &view, &user).await.map(|()| user)
        }));
    }
    let mut created = Vec::with_capacity(TASKS);
    for handle in handles {
        match handle.await {
            Ok(Ok(user)) => created.push(user),
            Ok(Err(err)) => return Err(format!("concurrent create: {err}")),
            Err(join) => return Err(format!("concurrent create task failed: {join}")),
        }
    }
    ensure_eq!(
        total(&*store, &fx.a, users).await?,
        TASKS,
        "total after {TASKS} creates"
    );
    ensure_eq!(
        total(&*store, &fx.b, users).await?,
        0,
        "the other tenant's total"
    );
    store
        .create(&fx.b, users, &fx.user("counted00")?)
        .await
        .ctx("create in tenant B")?;
    ensure!(
        store
            .create(&fx.a, users, &fx.user("COUNTED00")?)
            .await
            .is_err(),
        "a create with a taken userName must fail"
    );
    ensure!(
        store.create(&fx.a, users, &created[0]).await.is_err(),
        "a create with a taken id must fail"
    );
    ensure!(
        store
            .delete(&fx.a, users, "no-such-id", None)
            .await
            .is_err(),
        "deleting an unknown id must fail"
    );
    let stale = created[1].version();
    let newer = fx.replacement(
        users,
        &created[1],
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "counted01", "title": "x"}),
    )?;
    store
        .replace(&fx.a, users, &newer, stale)
        .await
        .ctx("replace")?;
    ensure!(
        store
            .delete(&fx.a, users, created[1].id(), Some(stale))
            .await
            .is_err(),
        "a delete with a stale version must fail"
    );
    ensure_eq!(
        total(&*store, &fx.a, users).await?,
        TASKS,
        "total after failed creates, a failed delete and a replace"
    );
    let group = fx.group("counted", &[created[0].id()])?;
    store
        .create(&fx.a, fx.groups(), &group)
        .await
        .ctx("create group")?;
    ensure_eq!(total(&*store, &fx.a, fx.groups()).await?, 1, "groups total");
    let mut handles = Vec::new();
    for user in created.iter().skip(TASKS / 2) {
        let (store, ctx, view, id) = (
            Arc::clone(&store),
            fx.a.clone(),
            users.clone(),
            user.id().to_owned(),
        );
        handles.push(tokio::spawn(async move {
            store.delete(&ctx, &view, &id, None).await
        }));
    }
    for handle in handles {
        match handle.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(format!("concurrent delete: {err}")),
            Err(join) => return Err(format!("concurrent delete task failed: {join}")),
        }
    }
    ensure_eq!(
        total(&*store, &fx.a, users).await?,
        TASKS / 2,
        "total after {} concurrent deletes",
        TASKS - TASKS / 2
    );
    ensure_eq!(
        all(&*store, &fx.a, users).await?.len(),
        TASKS / 2,
        "users listed after the deletes"
    );
    ensure_eq!(total(&*store, &fx.b, users).await?, 1, "tenant B's total");
    Ok(None)
}

pub(super) async fn replace_and_delete_are_compare_and_swap<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    let users = fx.users();
    let user = fx.user("cas")?;
    store.create(&fx.a, users, &user).await.ctx("create")?;
    let second = fx.replacement(users, &user, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "cas", "title": "two"}))?;
    store
        .replace(&fx.a, users, &second, user.version())
        .await
        .ctx("replace")?;
    let stale = fx.replacement(users, &user, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "cas", "title": "lost"}))?;
    ensure!(
        matches!(
            store.replace(&fx.a, users, &stale, user.version()).await,
            Err(StoreError::VersionMismatch)
        ),
        "replace with a stale version must fail with VersionMismatch"
    );
    ensure!(
        matches!(
            store
                .delete(&fx.a, users, user.id(), Some(user.version()))
                .await,
            Err(StoreError::VersionMismatch)
        ),
        "delete with a stale version must fail with VersionMismatch"
    );
    ensure_eq!(
        get(&*store, &fx.a, users, user.id()).await?,
        second,
        "the losing writes changed nothing"
    );
    store
        .delete(&fx.a, users, user.id(), Some(second.version()))
        .await
        .ctx("delete with the current version")?;
    Ok(None)
}

pub(super) async fn unknown_ids_are_not_found<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let ghost = fx.user("ghost")?;
    ensure!(
        matches!(
            store.replace(&fx.a, users, &ghost, ghost.version()).await,
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
    let change = MembershipChange::adding(vec![Member::new("x")]);
    let res = store
        .modify_members(&fx.a, fx.groups(), "no-such-group", &change, None)
        .await;
    ensure!(
        matches!(
            res,
            Err(StoreError::NotFound(_) | StoreError::Unsupported(_))
        ),
        "modify_members of an unknown group must be NotFound (or Unsupported), got {res:?}"
    );
    ensure!(
        store
            .memberships(&fx.a, fx.groups(), &["no-such-id"])
            .await
            .ctx("memberships")?
            .is_empty(),
        "memberships of an unknown id are empty"
    );
    Ok(None)
}

pub(super) async fn memberships_follow_members<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let (u1, u2) = (fx.user("member1")?, fx.user("member2")?);
    store.create(&fx.a, users, &u1).await.ctx("create")?;
    store.create(&fx.a, users, &u2).await.ctx("create")?;
    let g1 = fx.group("Admins", &[u1.id()])?;
    let g2 = fx.group("Everyone", &[])?;
    store.create(&fx.a, groups, &g1).await.ctx("create g1")?;
    store.create(&fx.a, groups, &g2).await.ctx("create g2")?;
    let pairs =
        |list: Vec<crate::store::Membership>| -> BTreeSet<(String, String, Option<String>)> {
            list.into_iter()
                .map(|m| (m.member, m.group, m.display))
                .collect()
        };
    let found = store
        .memberships(&fx.a, groups, &[u1.id(), u2.id()])
        .await
        .ctx("memberships")?;
    ensure_eq!(
        pairs(found),
        BTreeSet::from([(
            u1.id().to_owned(),
            g1.id().to_owned(),
            Some("Admins".to_owned())
        )]),
        "memberships after create"
    );
    let g2b = fx.replacement(
        groups,
        &g2,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone", "members": [{"value": u1.id()}, {"value": u2.id()}]}),
    )?;
    store
        .replace(&fx.a, groups, &g2b, g2.version())
        .await
        .ctx("replace g2 with members")?;
    let g1b = fx.replacement(
        groups,
        &g1,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Administrators", "members": [{"value": u1.id()}]}),
    )?;
    store
        .replace(&fx.a, groups, &g1b, g1.version())
        .await
        .ctx("rename g1")?;
    let found = store
        .memberships(&fx.a, groups, &[u1.id(), u2.id()])
        .await
        .ctx("memberships")?;
    ensure_eq!(
        pairs(found),
        BTreeSet::from([
            (
                u1.id().to_owned(),
                g1.id().to_owned(),
                Some("Administrators".to_owned())
            ),
            (
                u1.id().to_owned(),
                g2.id().to_owned(),
                Some("Everyone".to_owned())
            ),
            (
                u2.id().to_owned(),
                g2.id().to_owned(),
                Some("Everyone".to_owned())
            ),
        ]),
        "memberships after replacing members and renaming a group"
    );
    let g2c = fx.replacement(groups, &g2b, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"}))?;
    store
        .replace(&fx.a, groups, &g2c, g2b.version())
        .await
        .ctx("empty g2")?;
    let found = store
        .memberships(&fx.a, groups, &[u2.id()])
        .await
        .ctx("memberships")?;
    ensure!(
        found.is_empty(),
        "a replace that drops members drops their memberships, got {found:?}"
    );
    ensure!(
        get(&*store, &fx.a, groups, g2.id())
            .await?
            .members()
            .is_empty(),
        "the replaced group has no members"
    );
    // Users are no Groups: their type has no memberships.
    ensure!(
        store
            .memberships(&fx.a, users, &[u1.id()])
            .await
            .ctx("memberships in Users")?
            .is_empty(),
        "memberships are per Group resource type"
    );
    Ok(None)
}

pub(super) async fn delete_cascades_to_groups<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let (u1, u2) = (fx.user("leaver")?, fx.user("stayer")?);
    store.create(&fx.a, users, &u1).await.ctx("create")?;
    store.create(&fx.a, users, &u2).await.ctx("create")?;
    let team = fx.group("Team", &[u1.id(), u2.id()])?;
    let other = fx.group("Other", &[u2.id()])?;
    let parent = fx.group("Parent", &[team.id()])?;
    for g in [&team, &other, &parent] {
        store.create(&fx.a, groups, g).await.ctx("create group")?;
    }
    let at = later(&fx.a, 5_000);
    store
        .delete(&at, users, u1.id(), None)
        .await
        .ctx("delete user")?;
    let got = get(&*store, &fx.a, groups, team.id()).await?;
    ensure_eq!(
        member_ids(&got),
        vec![u2.id().to_owned()],
        "members after the user's deletion"
    );
    ensure_eq!(
        got.version(),
        team.version().next(),
        "the group's version after the cascade"
    );
    ensure_eq!(
        got.meta().last_modified,
        at.now,
        "the group's lastModified after the cascade"
    );
    ensure_eq!(got.meta().created, team.meta().created, "created is kept");
    let untouched = get(&*store, &fx.a, groups, other.id()).await?;
    ensure_eq!(
        untouched.version(),
        other.version(),
        "a group without the user keeps its version"
    );

    store
        .delete(&at, groups, team.id(), None)
        .await
        .ctx("delete group")?;
    let found = store
        .memberships(&fx.a, groups, &[u2.id(), team.id()])
        .await
        .ctx("memberships")?;
    let found: BTreeSet<(String, String)> =
        found.into_iter().map(|m| (m.member, m.group)).collect();
    ensure_eq!(
        found,
        BTreeSet::from([(u2.id().to_owned(), other.id().to_owned())]),
        "a deleted group's memberships (as a group and as a member) are gone"
    );
    let parent_now = get(&*store, &fx.a, groups, parent.id()).await?;
    ensure!(
        parent_now.members().is_empty(),
        "a deleted group leaves the groups it was a member of"
    );
    Ok(None)
}

pub(super) async fn modify_members_changes_one_member<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    let (users, groups) = (fx.users(), fx.groups());
    let mut uids = Vec::new();
    for name in ["m1", "m2", "m3"] {
        let u = fx.user(name)?;
        store.create(&fx.a, users, &u).await.ctx("create user")?;
        uids.push(u.id().to_owned());
    }
    let group = fx.group("Engineering", &[&uids[0]])?;
    store
        .create(&fx.a, groups, &group)
        .await
        .ctx("create group")?;
    let v0 = group.version();
    let at = later(&fx.a, 1_000);
    let add = MembershipChange::adding(vec![Member::new(&uids[1]).with_type("User")]);
    let out = match store
        .modify_members(&at, groups, group.id(), &add, Some(v0))
        .await
    {
        Err(StoreError::Unsupported(why)) => {
            return Ok(Some(format!(
                "no modify_members ({why}); membership_patches_through_the_engine checks the \
                 engine's read-modify-write instead"
            )));
        }
        other => other.ctx("add m2")?,
    };
    ensure!(out.changed, "adding a new member is a change");
    ensure_eq!(
        out.meta.version,
        v0.next(),
        "adding a member bumps the version"
    );
    ensure_eq!(
        out.meta.last_modified,
        at.now,
        "lastModified after a change"
    );
    let got = get(&*store, &fx.a, groups, group.id()).await?;
    ensure_eq!(
        got.meta(),
        &out.meta,
        "the outcome's meta is the stored meta"
    );
    ensure_eq!(
        member_ids(&got),
        vec![uids[0].clone(), uids[1].clone()],
        "members after add"
    );
    ensure_eq!(
        got.members()[1].member_type.as_deref(),
        Some("User"),
        "type is kept"
    );
    let v1 = out.meta.version;

    let again = store
        .modify_members(&fx.a, groups, group.id(), &add, None)
        .await
        .ctx("add m2 again")?;
    ensure!(!again.changed, "adding an existing member is a no-op");
    ensure_eq!(again.meta, out.meta, "a no-op keeps the meta");
    let none = MembershipChange::removing(vec!["not-a-member".into()]);
    let out = store
        .modify_members(&fx.a, groups, group.id(), &none, None)
        .await
        .ctx("remove a non-member")?;
    ensure!(
        !out.changed && out.meta.version == v1,
        "removing a non-member is a no-op"
    );
    ensure!(
        matches!(
            store
                .modify_members(&fx.a, groups, group.id(), &add, Some(v0))
                .await,
            Err(StoreError::VersionMismatch)
        ),
        "modify_members with a stale version must fail with VersionMismatch"
    );
    let swap = MembershipChange::new(
        vec![
            Member::new(&uids[2]),
            Member::new(&uids[2]),
            Member::new(&uids[0]),
        ],
        vec![uids[0].clone()],
    );
    let out = store
        .modify_members(&fx.a, groups, group.id(), &swap, Some(v1))
        .await
        .ctx("swap")?;
    ensure!(
        out.changed && out.meta.version == v1.next(),
        "a swap is one change"
    );
    let got = get(&*store, &fx.a, groups, group.id()).await?;
    ensure_eq!(
        member_ids(&got),
        vec![uids[1].clone(), uids[2].clone(), uids[0].clone()],
        "removals first, then additions in order, without duplicates"
    );
    let found = store
        .memberships(&fx.a, groups, &[&uids[0], &uids[1], &uids[2]])
        .await
        .ctx("memberships")?;
    ensure_eq!(found.len(), 3, "memberships follow modify_members");
    Ok(None)
}

pub(super) async fn queries_page_in_id_order<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let users = fx.users();
    let mut created = Vec::new();
    for i in 0..25 {
        let user = fx.user(&format!("page{i:03}"))?;
        store.create(&fx.a, users, &user).await.ctx("create")?;
        created.push(user.id().to_owned());
    }
    let mut sorted = created.clone();
    sorted.sort();
    let every: Vec<String> = all(&*store, &fx.a, users)
        .await?
        .iter()
        .map(|r| r.id().to_owned())
        .collect();
    ensure_eq!(every, sorted, "Page::All in id order");
    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        let page = store
            .query(
                &fx.a,
                &Query::new(users, Page::Offset { offset, limit: 10 }),
            )
            .await
            .ctx("offset page")?;
        ensure_eq!(page.total, 25, "total at offset {offset}");
        seen.extend(ids(&page));
    }
    ensure_eq!(seen, sorted, "offset pages in id order");
    let beyond = store
        .query(
            &fx.a,
            &Query::new(
                users,
                Page::Offset {
                    offset: 25,
                    limit: 10,
                },
            ),
        )
        .await
        .ctx("beyond")?;
    ensure!(
        beyond.resources.is_empty() && beyond.total == 25,
        "offset beyond the end: nothing, total 25"
    );
    let totals = store
        .query(
            &fx.a,
            &Query::new(
                users,
                Page::Offset {
                    offset: 0,
                    limit: 0,
                },
            ),
        )
        .await
        .ctx("limit 0")?;
    ensure!(
        totals.resources.is_empty() && totals.total == 25,
        "limit 0: nothing, total 25"
    );
    let position = Position::new(&sorted[9], None);
    let after = store
        .query(
            &fx.a,
            &Query::new(
                users,
                Page::After {
                    position: &position,
                    limit: 10,
                },
            ),
        )
        .await
        .ctx("keyset page")?;
    ensure_eq!(
        ids(&after),
        sorted[10..20].to_vec(),
        "the keyset page after the 10th id"
    );
    ensure_eq!(after.total, 25, "a keyset page's total counts every match");
    // A position stays valid after its resource is deleted.
    store
        .delete(&fx.a, users, &sorted[9], None)
        .await
        .ctx("delete")?;
    let after = store
        .query(
            &fx.a,
            &Query::new(
                users,
                Page::After {
                    position: &position,
                    limit: 3,
                },
            ),
        )
        .await
        .ctx("keyset page after a deleted id")?;
    ensure_eq!(
        ids(&after),
        sorted[10..13].to_vec(),
        "keyset page after a deleted id"
    );
    let last = Position::new(&sorted[24], None);
    let end = store
        .query(
            &fx.a,
            &Query::new(
                users,
                Page::After {
                    position: &last,
                    limit: 3,
                },
            ),
        )
        .await
        .ctx("end")?;
    ensure!(
        end.resources.is_empty() && end.total == 24,
        "after the last id: nothing, total 24"
    );
    // Groups answer with their members when asked.
    let group = fx.group("Paged", &[&sorted[0]])?;
    store
        .create(&fx.a, fx.groups(), &group)
        .await
        .ctx("create group")?;
    let groups = store
        .query(
            &fx.a,
            &Query::new(fx.groups(), Page::All).with_members(true),
        )
        .await
        .ctx("groups with members")?;
    ensure_eq!(
        groups.resources.first().map(member_ids),
        Some(vec![sorted[0].clone()]),
        "a query with members returns them"
    );
    Ok(None)
}

/// Users and Groups for the filter and sort checks: varied values, non-ASCII text and the
/// characters SQL treats specially.
async fn seed<S: Store>(store: &S, fx: &Fixture) -> Result<(Vec<String>, Vec<String>), String> {
    let users = fx.users();
    let specials = [
        "50% off",
        "under_score",
        "back\\slash",
        "quote\"d",
        "semi;colon -- x",
        "ÉLODIE",
        "élodie",
        "Zoë",
    ];
    let mut uids = Vec::new();
    for i in 0..30usize {
        let given = ["Barbara", "Ana", "Zed"][i % 3];
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("User{i:02}"),
            "externalId": format!("ext-{i}"),
            "active": i % 2 == 0,
            "displayName": specials[i % specials.len()],
            "name": {"givenName": given, "familyName": format!("F{}", 30 - i)},
            "emails": [
                {"value": format!("u{i}@example.com"), "type": if i % 3 == 0 { "work" } else { "home" }},
                {"value": format!("alt{i}@other.org"), "type": "other", "primary": i % 4 == 0}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": format!("{}", i % 7)}
        });
        if i % 5 == 0 {
            body["title"] = json!("Lead");
        }
        if i % 6 == 0 {
            body["nickName"] = json!(format!("n{}", i % 4));
        }
        let user = fx.build(users, body)?;
        store.create(&fx.a, users, &user).await.ctx("create user")?;
        uids.push(user.id().to_owned());
    }
    let mut gids = Vec::new();
    for (name, members) in [
        ("Admins", vec![0usize, 1, 2]),
        ("Sales", vec![2, 3]),
        ("Empty", vec![]),
    ] {
        let refs: Vec<&str> = members.iter().map(|&i| uids[i].as_str()).collect();
        let group = fx.group(name, &refs)?;
        store
            .create(&fx.a, fx.groups(), &group)
            .await
            .ctx("create group")?;
        gids.push(group.id().to_owned());
    }
    Ok((uids, gids))
}

/// The filters of [`applied_filters_match_the_evaluator`] (and the engine checks).
pub(super) fn user_filters(uids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = [
        r#"userName eq "user07""#,
        r#"USERNAME eq "USER07""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user07""#,
        r#"userName eq "nobody""#,
        r#"externalId eq "ext-7""#,
        r#"externalId eq "EXT-7""#,
        r#"userName eq "user08" and active eq true"#,
        r#"active eq true and userName eq "user07""#,
        r#"userName eq "user10" and title pr and emails[type eq "home"]"#,
        r#"userName eq "user01" or userName eq "user02""#,
        r#"userName sw "user1""#,
        r#"userName ew "5""#,
        r#"userName co "ER2""#,
        r#"userName gt "user25""#,
        r#"userName le "user03""#,
        r#"title eq "lead""#,
        r#"title ne "Lead""#,
        r#"title pr"#,
        r#"not (title pr)"#,
        r#"title eq null"#,
        r#"emails[type eq "work" and value ew "@EXAMPLE.COM"]"#,
        r#"emails[type eq "home" and value co "other"]"#,
        r#"emails.type eq "work""#,
        r#"emails.type ne "work""#,
        r#"emails co "alt1""#,
        r#"emails[primary eq true]"#,
        r#"not (emails[primary eq true])"#,
        r#"not (active eq true)"#,
        r#"active ne true"#,
        r#"name.givenName eq "ana""#,
        r#"name.familyName ge "F25""#,
        r#"nickName sw "n1" or nickName eq "N2""#,
        r#"employeeNumber eq "3""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ne "3""#,
        r#"displayName eq "50% off""#,
        r#"displayName co "%""#,
        r#"displayName co "_""#,
        r#"displayName sw "back\\""#,
        r#"displayName co "\"""#,
        r#"displayName co "--""#,
        r#"displayName eq "élodie""#,
        r#"displayName ew "Ë""#,
        r#"displayName gt "y""#,
        r#"meta.created pr"#,
        r#"meta.lastModified gt "2000-01-01T00:00:00Z""#,
        r#"meta.resourceType eq "user""#,
        r#"meta.version eq "W/\"1\"""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"nosuch eq "x""#,
        r#"not (nosuch eq "x")"#,
        r#"nosuch ne null"#,
        r#"(userName sw "user0" or userName sw "user2") and not (active eq false)"#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    if let (Some(first), Some(third)) = (uids.first(), uids.get(3)) {
        out.push(format!(r#"id eq "{third}""#));
        out.push(format!(r#"id eq "{}""#, first.to_uppercase()));
        out.push(format!(r#"id ne "{first}" and id le "{third}""#));
    }
    out
}

pub(super) async fn applied_filters_match_the_evaluator<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    let (uids, _gids) = seed(&*store, fx).await?;
    let users = fx.users();
    let groups = fx.groups();
    let mut cases: Vec<(&ResourceTypeView, String)> = Vec::new();
    for f in user_filters(&uids) {
        cases.push((users, format!("not (not ({f}))")));
        cases.push((users, f));
    }
    for f in [
        format!(r#"members.value eq "{}""#, uids[2]),
        format!(r#"members[value eq "{}"]"#, uids[3]),
        format!(r#"members.value eq "{}""#, uids[2].to_uppercase()),
        "members pr".to_owned(),
        "not (members pr)".to_owned(),
        r#"displayName eq "ADMINS""#.to_owned(),
    ] {
        cases.push((groups, f));
    }
    let (mut served, mut total) = (0, 0);
    for (view, text) in &cases {
        total += 1;
        let parsed = scim_filter::parse_filter(text).map_err(|e| format!("parse `{text}`: {e}"))?;
        let resolved =
            ResolvedFilter::resolve(&parsed, view).map_err(|e| format!("resolve `{text}`: {e}"))?;
        let (Some(pushed), _) = resolved.split(|c| store.filters(view, c)) else {
            continue;
        };
        served += 1;
        let every = all(&*store, &fx.a, view).await?;
        for page in [
            Page::All,
            Page::Offset {
                offset: 1,
                limit: 3,
            },
        ] {
            let query = Query::new(view, page).with_filter(&pushed);
            let expected = query.answer(every.clone()).ctx("reference answer")?;
            let got = store
                .query(&fx.a, &query)
                .await
                .ctx(&format!("query `{}`", pushed.filter()))?;
            ensure_eq!(
                ids(&got),
                ids(&expected),
                "ids of `{}` ({page:?})",
                pushed.filter()
            );
            ensure_eq!(got.total, expected.total, "total of `{}`", pushed.filter());
        }
    }
    if served == 0 {
        return Ok(Some(format!(
            "the store applies none of the {total} filters itself (Store::filters); the engine's \
             filtering is checked by filters_through_the_engine"
        )));
    }
    Ok(None)
}

pub(super) async fn applied_sorts_match_the_comparator<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    seed(&*store, fx).await?;
    let users = fx.users();
    let mut served = 0;
    let sorts = [
        "userName",
        "title",
        "displayName",
        "emails.value",
        "emails.type",
        "name.familyName",
        "nickName",
        "meta.created",
        "meta.lastModified",
        "active",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "id",
        "externalId",
    ];
    let every = all(&*store, &fx.a, users).await?;
    let filter = ResolvedFilter::resolve(
        &scim_filter::parse_filter(r#"userName sw "user1""#).ctx("parse")?,
        users,
    )
    .ctx("resolve")?;
    let filter_served = filter.split(|c| store.filters(users, c)).1.is_none();
    for by in sorts {
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            let path = match scim_filter::parse_path(by).ctx("sortBy")? {
                scim_filter::PatchPath::Attr(p) => p,
                other => return Err(format!("sortBy `{by}` parsed as {other:?}")),
            };
            let sort = ResolvedSort::resolve(&path, order, users).ctx("resolve sortBy")?;
            if !store.sorts(users, &sort) {
                continue;
            }
            served += 1;
            let query = Query::new(users, Page::All).with_sort(&sort);
            let expected = query.answer(every.clone()).ctx("reference")?;
            let got = store.query(&fx.a, &query).await.ctx("sorted query")?;
            ensure_eq!(ids(&got), ids(&expected), "order of sortBy={by} {order:?}");
            // Keyset pages of two walk the same order.
            let mut walked: Vec<String> = Vec::new();
            let mut position: Option<Position> = None;
            for _ in 0..40 {
                let page = match &position {
                    None => Page::Offset {
                        offset: 0,
                        limit: 7,
                    },
                    Some(p) => Page::After {
                        position: p,
                        limit: 7,
                    },
                };
                let got = store
                    .query(&fx.a, &Query::new(users, page).with_sort(&sort))
                    .await
                    .ctx("keyset page")?;
                let Some(last) = got.resources.last() else {
                    break;
                };
                let json = last.filter_json(users).ctx("filter_json")?;
                position = Some(Position::new(last.id(), sort.value_of(&json)));
                walked.extend(ids(&got));
            }
            ensure_eq!(
                walked,
                ids(&expected),
                "keyset walk of sortBy={by} {order:?}"
            );
            if filter_served {
                let query = Query::new(
                    users,
                    Page::Offset {
                        offset: 2,
                        limit: 4,
                    },
                )
                .with_sort(&sort)
                .with_filter(&filter);
                let expected = query.answer(every.clone()).ctx("reference")?;
                let got = store
                    .query(&fx.a, &query)
                    .await
                    .ctx("sorted, filtered page")?;
                ensure_eq!(
                    ids(&got),
                    ids(&expected),
                    "filtered page of sortBy={by} {order:?}"
                );
                ensure_eq!(
                    got.total,
                    expected.total,
                    "total of a sorted, filtered page"
                );
            }
        }
    }
    if served == 0 {
        return Ok(Some(
            "the store applies no sort itself (Store::sorts); the engine's sorting is checked by \
             sorting_through_the_engine"
                .into(),
        ));
    }
    Ok(None)
}

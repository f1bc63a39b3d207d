//! PUT and PATCH based on a store's `cached_copy` (RFC 7644 §3.5.1, §3.5.2, §3.14): a copy
//! that is still current saves the read; a stale one never shows in an answer — the
//! engine reads the resource again whenever the compare-and-swap does not confirm the copy
//! (a lost race, `If-Match`, a PATCH that does not apply or changes nothing, a deleted
//! resource), and a User's `groups` come from the store, not from the copy.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use scim_core::schema::ResourceTypeView;
use scim_core::store::{Membership, Query, QueryPage, Replaced, StoredResource, Version};
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, Principal, RequestContext,
    ScimEngine, ScimRequest, ScimResponse, Store, StoreError,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const TENANT: &str = "acme";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `MemoryStore` that hands out the copies a test took (`keep_copy`), however stale, and
/// counts its reads by id.
#[derive(Clone, Default)]
struct Copies {
    inner: MemoryStore,
    copies: Arc<Mutex<HashMap<String, StoredResource>>>,
    gets: Arc<AtomicUsize>,
    /// Every `replace` fails as a database that went away.
    writes_fail: Arc<AtomicBool>,
}

#[async_trait]
impl Store for Copies {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        r: &StoredResource,
    ) -> Result<(), StoreError> {
        self.inner.create(ctx, view, r).await
    }
    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(ctx, view, id).await
    }
    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        r: &StoredResource,
        v: Version,
    ) -> Result<Replaced, StoreError> {
        if self.writes_fail.load(Ordering::SeqCst) {
            return Err(StoreError::backend("connection refused"));
        }
        self.inner.replace(ctx, view, r, v).await
    }
    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        v: Option<Version>,
    ) -> Result<(), StoreError> {
        self.inner.delete(ctx, view, id, v).await
    }
    async fn query(&self, ctx: &RequestContext, q: &Query<'_>) -> Result<QueryPage, StoreError> {
        self.inner.query(ctx, q).await
    }
    async fn memberships(
        &self,
        ctx: &RequestContext,
        g: &ResourceTypeView,
        ids: &[&str],
    ) -> Result<Vec<Membership>, StoreError> {
        self.inner.memberships(ctx, g, ids).await
    }
    fn cached_copy(
        &self,
        _ctx: &RequestContext,
        _view: &ResourceTypeView,
        id: &str,
    ) -> Option<StoredResource> {
        self.copies.lock().unwrap().get(id).cloned()
    }
}

struct Fixture {
    store: Copies,
    engine: ScimEngine,
}

impl Fixture {
    fn new() -> Self {
        let store = Copies::default();
        let engine = ScimEngine::builder(store.clone())
            .authenticator(InsecureNoAuthentication::for_tenant(TENANT))
            .revoker(NoSessionsToRevoke)
            .build()
            .unwrap();
        Self { store, engine }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> ScimResponse {
        let mut req = ScimRequest::new(method, path).with_base_url("https://example.com/scim/v2");
        if let Some(body) = body {
            req = req.with_body(body.to_string().into_bytes());
        }
        if let Some(etag) = if_match {
            req = req.with_header("if-match", etag);
        }
        self.engine.handle(req).await
    }

    async fn create_user(&self, body: Value) -> String {
        let res = self.send(Method::Post, "/Users", Some(body), None).await;
        assert_eq!(res.status, 201, "{}", res.json());
        res.json()["id"].as_str().unwrap().to_owned()
    }

    /// Creates a user and takes a copy of it, as [`keep_copy`](Self::keep_copy).
    async fn copied_user(&self, body: Value) -> String {
        let id = self.create_user(body).await;
        self.keep_copy(&id).await;
        id
    }

    /// Takes a copy of the user as it is stored now: the store hands it out from now on.
    async fn keep_copy(&self, id: &str) {
        let ctx = RequestContext::new(Principal::new(TENANT, "test"), "https://example.com");
        let registry = self.engine.registry();
        let view = registry.resource_type("User").unwrap();
        let record = self.store.inner.get(&ctx, view, id).await.unwrap().unwrap();
        self.store
            .copies
            .lock()
            .unwrap()
            .insert(id.to_owned(), record);
    }

    async fn patch(&self, id: &str, operations: Value, if_match: Option<&str>) -> ScimResponse {
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        self.send(Method::Patch, &format!("/Users/{id}"), Some(body), if_match)
            .await
    }

    /// The stored user and its ETag.
    async fn stored(&self, id: &str) -> (Value, String) {
        let res = self
            .send(Method::Get, &format!("/Users/{id}"), None, None)
            .await;
        assert_eq!(res.status, 200);
        (res.json(), res.header("etag").unwrap().to_owned())
    }

    fn reads(&self) -> usize {
        self.store.gets.load(Ordering::SeqCst)
    }
}

fn replace(path: &str, value: Value) -> Value {
    json!([{"op": "replace", "path": path, "value": value}])
}

#[tokio::test]
async fn a_current_copy_saves_the_read() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    let before = f.reads();
    let res = f
        .patch(&id, replace("displayName", json!("Babs")), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(f.reads(), before, "the copy was current: no read");
    assert_eq!(res.json()["displayName"], "Babs");
    let (stored, etag) = f.stored(&id).await;
    assert_eq!(stored["displayName"], "Babs");
    assert_eq!(res.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn a_stale_copy_is_read_again_and_no_change_is_lost() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    let first = f.patch(&id, replace("nickName", json!("Babs")), None).await;
    assert_eq!(first.status, 200);
    // The copy still has no nickName; the stored user does.
    let res = f
        .patch(&id, replace("displayName", json!("Barbara")), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(res.json()["nickName"], "Babs", "{}", res.json());
    assert_eq!(res.json()["displayName"], "Barbara");
    let (stored, etag) = f.stored(&id).await;
    assert_eq!(stored["nickName"], "Babs");
    assert_eq!(stored["displayName"], "Barbara");
    assert_eq!(stored["meta"]["version"], res.json()["meta"]["version"]);
    assert_eq!(res.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn if_match_is_compared_with_the_stored_version_not_the_copy() {
    let f = Fixture::new();
    let id = f
        .create_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    let (_, old_etag) = f.stored(&id).await;
    f.keep_copy(&id).await;
    let moved = f.patch(&id, replace("nickName", json!("Babs")), None).await;
    let current_etag = moved.header("etag").unwrap().to_owned();
    assert_ne!(current_etag, old_etag);

    // The copy's version matches the old tag, the stored one does not: 412.
    let res = f
        .patch(&id, replace("title", json!("Boss")), Some(&old_etag))
        .await;
    assert_eq!(res.status, 412, "{}", res.json());
    let (stored, _) = f.stored(&id).await;
    assert_eq!(stored["title"], Value::Null, "nothing written");

    // The current tag matches the stored version, not the copy's: 200.
    let res = f
        .patch(&id, replace("title", json!("Boss")), Some(&current_etag))
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(res.json()["title"], "Boss");
    assert_eq!(res.json()["nickName"], "Babs");
}

#[tokio::test]
async fn a_change_the_copy_already_shows_is_still_written() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen", "displayName": "Babs"}))
        .await;
    let renamed = f
        .patch(&id, replace("displayName", json!("Barbara")), None)
        .await;
    assert_eq!(renamed.status, 200);
    // Back to what the stale copy holds: a no-op on the copy, a change on the store.
    let res = f
        .patch(&id, replace("displayName", json!("Babs")), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(res.json()["displayName"], "Babs");
    let (stored, etag) = f.stored(&id).await;
    assert_eq!(stored["displayName"], "Babs");
    assert_ne!(
        etag,
        renamed.header("etag").unwrap(),
        "a new version was written"
    );
    assert_eq!(res.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn a_patch_that_fails_on_the_copy_is_applied_to_the_stored_user() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    let added = f
        .patch(
            &id,
            json!([{"op": "add", "path": "emails", "value": [{"type": "work", "value": "b@example.com"}]}]),
            None,
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.json());
    // The copy has no work email to remove (`noTarget`); the stored user has one.
    let res = f
        .patch(
            &id,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(res.json()["emails"], Value::Null, "{}", res.json());
    let (stored, _) = f.stored(&id).await;
    assert_eq!(stored["emails"], Value::Null);
}

#[tokio::test]
async fn a_copy_of_a_deleted_user_is_not_found() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    let deleted = f
        .send(Method::Delete, &format!("/Users/{id}"), None, None)
        .await;
    assert_eq!(deleted.status, 204);
    let res = f
        .patch(&id, replace("displayName", json!("Babs")), None)
        .await;
    assert_eq!(res.status, 404, "{}", res.json());
    let put = f
        .send(
            Method::Put,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [USER], "userName": "bjensen"})),
            None,
        )
        .await;
    assert_eq!(put.status, 404, "{}", put.json());
}

#[tokio::test]
async fn groups_in_the_answer_are_current_not_the_copys() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    let group = f
        .send(
            Method::Post,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Admins", "members": [{"value": id}]})),
            None,
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.json());
    let group_id = group.json()["id"].as_str().unwrap().to_owned();
    // The copy is current (a membership does not change the User's version) but knows
    // nothing of the Group.
    let before = f.reads();
    let res = f
        .patch(&id, replace("displayName", json!("Babs")), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    assert_eq!(f.reads(), before, "the copy was current: no read");
    let groups = &res.json()["groups"];
    assert_eq!(groups[0]["value"], group_id.as_str(), "{}", res.json());
    assert_eq!(groups[0]["display"], "Admins");
}

#[tokio::test]
async fn a_put_on_a_stale_copy_keeps_what_the_server_owns() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen", "nickName": "Babs"}))
        .await;
    let moved = f.patch(&id, replace("title", json!("Boss")), None).await;
    assert_eq!(moved.status, 200);
    let (before, _) = f.stored(&id).await;
    let res = f
        .send(
            Method::Put,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [USER], "userName": "bjensen", "displayName": "Barbara"})),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.json());
    let (stored, etag) = f.stored(&id).await;
    assert_eq!(stored["displayName"], "Barbara");
    assert_eq!(stored["title"], Value::Null, "PUT replaces");
    assert_eq!(stored["meta"]["created"], before["meta"]["created"]);
    assert_eq!(res.header("etag"), Some(etag.as_str()));
    assert_ne!(stored["meta"]["version"], before["meta"]["version"]);
}

#[tokio::test]
async fn a_failed_write_on_a_copy_is_answered_once_not_retried() {
    let f = Fixture::new();
    let id = f
        .copied_user(json!({"schemas": [USER], "userName": "bjensen"}))
        .await;
    f.store.writes_fail.store(true, Ordering::SeqCst);
    let before = f.reads();
    let res = f
        .patch(&id, replace("displayName", json!("Babs")), None)
        .await;
    assert_eq!(res.status, 503, "{}", res.json());
    assert_eq!(
        f.reads(),
        before,
        "a store failure is final, not a stale copy"
    );
    f.store.writes_fail.store(false, Ordering::SeqCst);
    let (stored, _) = f.stored(&id).await;
    assert_eq!(stored["displayName"], Value::Null);
}

//! The engine's JSON-text paths over `MemoryStore` (responses spliced from the stored
//! text, `Store::replace_json`) answer byte for byte what the general paths answer: the
//! same store behind a wrapper that only implements the required `Store` methods (so the
//! provided `get_json`, `query_json` and `replace_json` convert `Resource`s).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use scim_core::schema::ResourceTypeView;
use scim_core::store::{MembershipChange, MembershipOutcome, Query, QueryPage, StoreError};
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, RequestContext, Resource,
    ScimEngine, ScimRequest, ScimResponse, Store,
};
use serde_json::{Value, json};

const BASE: &str = "https://example.com/scim/v2";
const TENANT: &str = "t";

/// `MemoryStore` through the required methods only.
struct Plain(MemoryStore);

#[async_trait]
impl Store for Plain {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<Resource, StoreError> {
        self.0.create(ctx, view, resource).await
    }
    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<Resource>, StoreError> {
        self.0.get(ctx, view, id).await
    }
    async fn query(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<QueryPage, StoreError> {
        self.0.query(ctx, query).await
    }
    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<Resource, StoreError> {
        self.0.replace(ctx, view, resource, expected_version).await
    }
    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.0.delete(ctx, view, id, expected_version).await
    }
    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected_version: Option<&str>,
    ) -> Result<MembershipOutcome, StoreError> {
        self.0
            .modify_members(ctx, view, group_id, change, expected_version)
            .await
    }
}

fn engine(store: impl Store) -> ScimEngine {
    ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant(TENANT))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

async fn call(
    engine: &ScimEngine,
    method: Method,
    path: &str,
    query: &str,
    body: Option<Value>,
) -> ScimResponse {
    let mut req = ScimRequest::new(method, path).with_base_url(BASE);
    if !query.is_empty() {
        req = req.with_query(query);
    }
    if let Some(body) = body {
        req = req
            .with_header("content-type", "application/scim+json")
            .with_body(serde_json::to_vec(&body).unwrap());
    }
    engine.handle(req).await
}

fn etag(res: &ScimResponse) -> Option<&str> {
    res.headers
        .iter()
        .find(|(n, _)| *n == "etag")
        .map(|(_, v)| v.as_str())
}

fn id_of(res: &ScimResponse) -> String {
    let v: Value = serde_json::from_slice(&res.body).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn json_text_paths_answer_what_the_general_paths_answer() {
    let store = MemoryStore::new();
    let fast = engine(store.clone());
    let slow = engine(Plain(store));
    let mut ids = Vec::new();
    for i in 0..4 {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{i}"),
            "externalId": format!("ext-{i}"),
            "name": {"givenName": format!("G{i}"), "familyName": "F\"amily\\"},
            "displayName": format!("User \u{e9}{i}"),
            "emails": [{"value": format!("u{i}@example.com"), "primary": true}],
            "password": if i == 3 { Value::from("secret-pw") } else { Value::Null },
        });
        let (writer, reader) = if i % 2 == 0 {
            (&fast, &slow)
        } else {
            (&slow, &fast)
        };
        let res = call(writer, Method::Post, "/Users", "", Some(user)).await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        let id = id_of(&res);
        let read = call(reader, Method::Get, &format!("/Users/{id}"), "", None).await;
        assert_eq!(
            String::from_utf8_lossy(&res.body),
            String::from_utf8_lossy(&read.body),
            "POST {i}"
        );
        assert_eq!(etag(&res), etag(&read), "POST {i}");
        ids.push(id);
    }
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Readers",
        "members": [{"value": ids[1]}],
    });
    let res = call(&fast, Method::Post, "/Groups", "", Some(group)).await;
    assert_eq!(res.status, 201);
    let gid = id_of(&res);

    let reads = |path: String, query: &'static str| (path, query);
    let mut cases = vec![
        reads("/Users".into(), "count=100"),
        reads("/Users".into(), "count=2&startIndex=2"),
        reads("/Users".into(), "filter=userName%20eq%20%22user2%22"),
        reads("/Users".into(), "attributes=userName"),
        reads("/Users".into(), "excludedAttributes=emails"),
        reads("/Groups".into(), ""),
        reads(format!("/Groups/{gid}"), ""),
    ];
    for id in &ids {
        cases.push(reads(format!("/Users/{id}"), ""));
        cases.push(reads(format!("/Users/{id}"), "excludedAttributes=name"));
    }
    let compare = |a: &ScimResponse, b: &ScimResponse, what: &str| {
        assert_eq!(a.status, b.status, "{what}");
        assert_eq!(
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body),
            "{what}"
        );
        assert_eq!(etag(a), etag(b), "{what}");
    };
    for (path, query) in &cases {
        let a = call(&fast, Method::Get, path, query, None).await;
        let b = call(&slow, Method::Get, path, query, None).await;
        assert_eq!(a.status, 200, "{path}?{query}");
        compare(&a, &b, &format!("GET {path}?{query}"));
    }

    // Writes: the response of each engine is what the other one then reads.
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/Users/{id}");
        for (n, (writer, reader)) in [(&fast, &slow), (&slow, &fast)].into_iter().enumerate() {
            let patch = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "replace", "path": "displayName", "value": format!("N{i}-{n}")},
                    {"op": "replace", "path": "userName", "value": format!("renamed{i}-{n}")},
                ],
            });
            let written = call(writer, Method::Patch, &path, "", Some(patch)).await;
            assert_eq!(
                written.status,
                200,
                "{}",
                String::from_utf8_lossy(&written.body)
            );
            let read = call(reader, Method::Get, &path, "", None).await;
            compare(&written, &read, &format!("PATCH {path} ({n})"));
            let put = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("put{i}-{n}"),
                "active": false,
            });
            let written = call(writer, Method::Put, &path, "", Some(put)).await;
            assert_eq!(
                written.status,
                200,
                "{}",
                String::from_utf8_lossy(&written.body)
            );
            let read = call(reader, Method::Get, &path, "", None).await;
            compare(&written, &read, &format!("PUT {path} ({n})"));
        }
        // The old userNames are free again, the new ones are taken.
        let filter = format!("filter=userName%20eq%20%22user{i}%22");
        let res = call(&fast, Method::Get, "/Users", &filter, None).await;
        assert!(String::from_utf8_lossy(&res.body).contains(r#""totalResults":0"#));
        let taken = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("PUT{i}-1")});
        assert_eq!(
            call(&fast, Method::Post, "/Users", "", Some(taken))
                .await
                .status,
            409
        );
    }
}

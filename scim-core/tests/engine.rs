//! The protocol engine without a web framework (RFC 7644 §3): routing, CRUD, listing,
//! search, ETags, media types, policies, `/Me`, authentication and tenants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engine_support;

use async_trait::async_trait;
use engine_support::*;
use scim_core::{
    AuthError, Authenticator, DeletePolicy, DuplicatePolicy, EngineConfig, Headers, MemoryStore,
    Method, Principal, ProtectedAccounts, ScimEngine,
};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

async fn seed(engine: &ScimEngine, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        out.push(create_user(engine, name).await);
    }
    out
}

// ---------------------------------------------------------------- create / get / put / delete

#[tokio::test]
async fn create_answers_201_with_location_etag_and_media_type() {
    let (engine, _) = engine();
    let res = call(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen",
            "password": "t1meMa$heen",
            "name": {"givenName": "Barbara"},
        })),
    )
    .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.header("content-type"), Some("application/scim+json"));
    let body = res.json();
    let id = body["id"].as_str().unwrap();
    let location = format!("{BASE}/Users/{id}");
    assert_eq!(res.header("location"), Some(location.as_str()));
    assert_eq!(body["meta"]["location"], location);
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(res.header("etag"), body["meta"]["version"].as_str());
    assert!(res.header("etag").unwrap().starts_with("W/\""));
    assert!(body.get("password").is_none(), "returned: never");
    assert_eq!(body["name"]["givenName"], "Barbara");
}

#[tokio::test]
async fn get_by_id_and_404s() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = get(&engine, &format!("/Users/{id}")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["userName"], "bjensen");
    assert_eq!(res.header("etag"), res.json()["meta"]["version"].as_str());
    assert_eq!(res.header("content-type"), Some("application/scim+json"));

    assert_error(&get(&engine, "/Users/nope").await, 404, None);
    assert_error(&get(&engine, &format!("/Groups/{id}")).await, 404, None);
    assert_error(&get(&engine, "/Widgets").await, 404, None);
    assert_error(&get(&engine, "/Users/a/b").await, 404, None);
    // Endpoint names are case-insensitive.
    assert_eq!(get(&engine, &format!("/users/{id}")).await.status, 200);
}

#[tokio::test]
async fn get_honours_attributes_and_rewrites_location_for_the_request_base() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = engine
        .handle(
            scim_core::ScimRequest::new(Method::Get, format!("/Users/{id}"))
                .with_base_url("https://other.example/api/scim")
                .with_query("attributes=userName"),
        )
        .await;
    let body = res.json();
    assert_eq!(body["userName"], "bjensen");
    assert_eq!(body["id"], id.as_str());
    assert!(body.get("meta").is_none());
    let res = engine
        .handle(
            scim_core::ScimRequest::new(Method::Get, format!("/Users/{id}"))
                .with_base_url("https://other.example/api/scim"),
        )
        .await;
    assert_eq!(
        res.json()["meta"]["location"],
        format!("https://other.example/api/scim/Users/{id}")
    );
}

#[tokio::test]
async fn put_replaces_and_keeps_server_owned_values() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let before = get(&engine, &format!("/Users/{id}")).await.json();
    let res = call(
        &engine,
        Method::Put,
        &format!("/Users/{id}"),
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "displayName": "Babs", "id": "ignored"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["displayName"], "Babs");
    assert_eq!(body["meta"]["created"], before["meta"]["created"]);
    assert_ne!(body["meta"]["version"], before["meta"]["version"]);
    assert_eq!(res.header("etag"), body["meta"]["version"].as_str());

    let res = call(
        &engine,
        Method::Put,
        "/Users/missing",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"})),
    )
    .await;
    assert_error(&res, 404, None);
    let res = call(
        &engine,
        Method::Put,
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "x"}),
        ),
    )
    .await;
    assert_error(&res, 400, Some("invalidValue"));
}

#[tokio::test]
async fn patch_answers_200_with_the_resource() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "displayName", "value": "Babs"}]),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["displayName"], "Babs");
    assert_eq!(res.header("etag"), res.json()["meta"]["version"].as_str());

    // A no-op keeps the version.
    let again = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "displayName", "value": "Babs"}]),
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("etag"), res.header("etag"));

    let res = patch_call(
        &engine,
        "/Users/missing",
        json!([{"op": "replace", "path": "displayName", "value": "x"}]),
    )
    .await;
    assert_error(&res, 404, None);
    let res = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "nope[", "value": "x"}]),
    )
    .await;
    assert_error(&res, 400, Some("invalidPath"));
    let res = call(
        &engine,
        Method::Patch,
        &format!("/Users/{id}"),
        Some(json!({"Operations": []})),
    )
    .await;
    assert_error(&res, 400, Some("invalidSyntax"));
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let res = call(&engine, Method::Delete, &format!("/Users/{id}"), None).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    assert_error(&get(&engine, &format!("/Users/{id}")).await, 404, None);
    assert_error(
        &call(&engine, Method::Delete, &format!("/Users/{id}"), None).await,
        404,
        None,
    );
}

#[tokio::test]
async fn methods_not_allowed() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
        "/ResourceTypes/User",
    ] {
        for method in [Method::Post, Method::Put, Method::Patch, Method::Delete] {
            let res = call(&engine, method, path, Some(json!({}))).await;
            assert_error(&res, 405, None);
        }
    }
    assert_error(
        &call(
            &engine,
            Method::Post,
            &format!("/Users/{id}"),
            Some(json!({})),
        )
        .await,
        405,
        None,
    );
    assert_error(
        &call(&engine, Method::Delete, "/Users", None).await,
        405,
        None,
    );
    assert_error(
        &call(&engine, Method::Other, "/Users", None).await,
        405,
        None,
    );
    assert_error(&get(&engine, "/Users/.search").await, 405, None);
    assert_error(&get(&engine, "/.search").await, 405, None);
}

#[tokio::test]
async fn discovery_endpoints_answer() {
    let (engine, _) = engine();
    let res = get(&engine, "/ServiceProviderConfig").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/scim+json"));
    assert_eq!(res.json()["filter"]["maxResults"], 1000);
    assert_eq!(get(&engine, "/Schemas").await.status, 200);
    assert_eq!(
        get(&engine, "/ResourceTypes").await.json()["totalResults"],
        2
    );
    assert_eq!(
        get(&engine, "/ResourceTypes/User").await.json()["name"],
        "User"
    );
    assert_eq!(
        get(
            &engine,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"
        )
        .await
        .status,
        200
    );
    assert_error(&get(&engine, "/Schemas/urn:nope").await, 404, None);
}

// ---------------------------------------------------------------- media types, sizes, syntax

#[tokio::test]
async fn media_types() {
    let (engine, _) = engine();
    let body = serde_json::to_vec(
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}),
    )
    .unwrap();
    let res = engine
        .handle(request(Method::Post, "/Users").with_body(body.clone()))
        .await;
    assert_eq!(res.status, 201, "no content type (Okta) is accepted");
    let res = engine
        .handle(
            request(Method::Post, "/Users")
                .with_header("Content-Type", "application/json; charset=utf-8")
                .with_body(serde_json::to_vec(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b"})).unwrap()),
        )
        .await;
    assert_eq!(res.status, 201);
    let res = engine
        .handle(
            request(Method::Post, "/Users")
                .with_header("content-type", "text/plain")
                .with_body(serde_json::to_vec(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "c"})).unwrap()),
        )
        .await;
    assert_error(&res, 415, None);
}

#[tokio::test]
async fn malformed_json_is_invalid_syntax_with_position() {
    let (engine, _) = engine();
    let res = engine
        .handle(
            request(Method::Post, "/Users")
                .with_header("content-type", "application/scim+json")
                .with_body(&b"{\"userName\": "[..]),
        )
        .await;
    assert_error(&res, 400, Some("invalidSyntax"));
    assert!(res.json()["detail"].as_str().unwrap().contains("line 1"));
    let res = call(&engine, Method::Post, "/Users", None).await;
    assert_error(&res, 400, Some("invalidSyntax"));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let (engine, _) = engine_with(|b| {
        let mut config = EngineConfig::default();
        config.max_body_bytes = 64;
        b.config(config)
    });
    let res = call(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x".repeat(100)})),
    )
    .await;
    assert_error(&res, 413, None);
}

// ---------------------------------------------------------------- listing

#[tokio::test]
async fn list_response_shape_filter_and_sort() {
    let (engine, _) = engine();
    seed(&engine, &["carol", "alice", "bob"]).await;
    let res = get(&engine, "/Users").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/scim+json"));
    let body = res.json();
    assert_eq!(body["schemas"], json!([LIST]));
    assert_eq!(body["totalResults"], json!(3));
    assert_eq!(body["startIndex"], json!(1));
    assert_eq!(body["itemsPerPage"], json!(3));
    assert_eq!(body["Resources"].as_array().unwrap().len(), 3);

    let body = get_query(&engine, "/Users", "filter=userName%20eq%20%22ALICE%22")
        .await
        .json();
    assert_eq!(user_names(&body), ["alice"]);
    let body = get_query(&engine, "/Users", "filter=userName+sw+%22b%22")
        .await
        .json();
    assert_eq!(user_names(&body), ["bob"]);

    let body = get_query(&engine, "/Users", "sortBy=userName").await.json();
    assert_eq!(user_names(&body), ["alice", "bob", "carol"]);
    let body = get_query(&engine, "/Users", "sortBy=userName&sortOrder=descending")
        .await
        .json();
    assert_eq!(user_names(&body), ["carol", "bob", "alice"]);
    let body = get_query(&engine, "/Users", "SORTBY=userName&sortorder=Descending")
        .await
        .json();
    assert_eq!(
        user_names(&body),
        ["carol", "bob", "alice"],
        "parameter names are case-insensitive"
    );

    assert_error(
        &get_query(&engine, "/Users", "sortBy=userName&sortOrder=up").await,
        400,
        Some("invalidValue"),
    );
    assert_error(
        &get_query(&engine, "/Users", "filter=userName%20xx%20%22a%22").await,
        400,
        Some("invalidFilter"),
    );
    assert_error(
        &get_query(&engine, "/Users", "filter=active%20gt%20true").await,
        400,
        Some("invalidFilter"),
    );

    let body = get_query(&engine, "/Users", "attributes=userName")
        .await
        .json();
    let first = &body["Resources"][0];
    assert!(first.get("meta").is_none());
    assert!(first.get("id").is_some());
}

#[tokio::test]
async fn list_paging_parameters() {
    let (engine, _) = engine_with(|b| {
        let mut config = EngineConfig::default();
        config.max_results = 3;
        b.config(config)
    });
    seed(&engine, &["u1", "u2", "u3", "u4", "u5"]).await;

    let body = get(&engine, "/Users").await.json();
    assert_eq!(body["totalResults"], json!(5));
    assert_eq!(
        body["itemsPerPage"],
        json!(3),
        "count defaults to maxResults"
    );

    let body = get_query(&engine, "/Users", "count=100").await.json();
    assert_eq!(
        body["itemsPerPage"],
        json!(3),
        "count is capped at maxResults"
    );

    let body = get_query(&engine, "/Users", "count=0").await.json();
    assert_eq!(body["totalResults"], json!(5));
    assert_eq!(body["itemsPerPage"], json!(0));
    assert_eq!(body["Resources"], json!([]));

    let body = get_query(&engine, "/Users", "count=-4").await.json();
    assert_eq!(body["itemsPerPage"], json!(0));

    let body = get_query(&engine, "/Users", "startIndex=4&count=2")
        .await
        .json();
    assert_eq!(body["startIndex"], json!(4));
    assert_eq!(user_names(&body), ["u4", "u5"]);

    let body = get_query(&engine, "/Users", "startIndex=0&count=1")
        .await
        .json();
    assert_eq!(body["startIndex"], json!(1));
    assert_eq!(user_names(&body), ["u1"]);

    let body = get_query(&engine, "/Users", "startIndex=99").await.json();
    assert_eq!(body["totalResults"], json!(5));
    assert_eq!(body["itemsPerPage"], json!(0));
    assert_eq!(body["startIndex"], json!(99));

    assert_error(
        &get_query(&engine, "/Users", "count=ten").await,
        400,
        Some("invalidValue"),
    );
    assert_error(
        &get_query(&engine, "/Users", "startIndex=1.5").await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn cursor_paging_walks_every_resource_once() {
    let (engine, _) = engine();
    let mut expected = seed(&engine, &["u1", "u2", "u3", "u4", "u5"]).await;
    let mut seen = Vec::new();
    let mut query = "cursor=&count=2".to_owned();
    let mut pages = 0;
    loop {
        let res = get_query(&engine, "/Users", &query).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let body = res.json();
        assert!(body.get("startIndex").is_none(), "{body}");
        assert_eq!(body["totalResults"], json!(5));
        assert_eq!(
            body["itemsPerPage"],
            json!(body["Resources"].as_array().unwrap().len())
        );
        seen.extend(ids(&body));
        pages += 1;
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => query = format!("cursor={next}&count=2"),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);

    assert_error(
        &get_query(&engine, "/Users", "cursor=&startIndex=2").await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn search_per_type_and_at_the_root() {
    let (engine, _) = engine();
    seed(&engine, &["alice", "bob"]).await;
    create_group(&engine, "admins", &[]).await;

    let res = call(
        &engine,
        Method::Post,
        "/Users/.search",
        Some(json!({
            "schemas": [SEARCH],
            "filter": "userName eq \"bob\"",
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        })),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    assert_eq!(body["totalResults"], json!(1));
    assert_eq!(user_names(&body), ["bob"]);
    assert!(body["Resources"][0].get("meta").is_none());

    let body = call(
        &engine,
        Method::Post,
        "/.search",
        Some(json!({"schemas": [SEARCH]})),
    )
    .await
    .json();
    assert_eq!(body["totalResults"], json!(3));
    assert_eq!(body["Resources"].as_array().unwrap().len(), 3);
    assert_eq!(
        body["Resources"][2]["displayName"], "admins",
        "registry order: Users, then Groups"
    );

    // Paging over the concatenation.
    let body = call(
        &engine,
        Method::Post,
        "/.search",
        Some(json!({"schemas": [SEARCH], "startIndex": 2, "count": 2, "sortBy": "meta.created"})),
    )
    .await
    .json();
    assert_eq!(body["totalResults"], json!(3));
    assert_eq!(body["startIndex"], json!(2));
    assert_eq!(body["itemsPerPage"], json!(2));
    assert_eq!(body["Resources"][1]["displayName"], "admins");

    let body = call(
        &engine,
        Method::Post,
        "/.search",
        Some(json!({"schemas": [SEARCH], "filter": "displayName eq \"admins\""})),
    )
    .await
    .json();
    assert_eq!(body["totalResults"], json!(1));

    // GET at the root with a filter (RFC 7644 §3.4.2.1).
    let body = get_query(&engine, "/", "filter=userName%20eq%20%22alice%22")
        .await
        .json();
    assert_eq!(body["totalResults"], json!(1));

    let res = call(
        &engine,
        Method::Post,
        "/Users/.search",
        Some(json!({"schemas": ["urn:x"]})),
    )
    .await;
    assert_error(&res, 400, Some("invalidSyntax"));
    let res = call(
        &engine,
        Method::Post,
        "/Users/.search",
        Some(json!({"schemas": [SEARCH], "count": "many"})),
    )
    .await;
    assert_error(&res, 400, Some("invalidValue"));
    let res = call(
        &engine,
        Method::Post,
        "/Users/.search",
        Some(json!({"schemas": [SEARCH], "filter": "userName eq"})),
    )
    .await;
    assert_error(&res, 400, Some("invalidFilter"));
}

// ---------------------------------------------------------------- ETags

#[tokio::test]
async fn if_match_and_if_none_match() {
    let (engine, _) = engine();
    let id = create_user(&engine, "bjensen").await;
    let path = format!("/Users/{id}");
    let etag = get(&engine, &path).await.header("etag").unwrap().to_owned();

    let res = engine
        .handle(request(Method::Get, &path).with_header("If-None-Match", etag.clone()))
        .await;
    assert_eq!(res.status, 304);
    assert!(res.body.is_empty());
    assert_eq!(res.header("etag"), Some(etag.as_str()));
    let res = engine
        .handle(request(Method::Get, &path).with_header("If-None-Match", "W/\"other\""))
        .await;
    assert_eq!(res.status, 200);

    let stale = "W/\"0000\"";
    let put = |tag: &str| {
        with_json(
            request(Method::Put, &path).with_header("If-Match", tag),
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "title": tag}),
        )
    };
    assert_error(&engine.handle(put(stale)).await, 412, None);
    let res = engine.handle(put(&etag)).await;
    assert_eq!(res.status, 200);
    let new_tag = res.header("etag").unwrap().to_owned();
    assert_ne!(new_tag, etag);
    assert_error(&engine.handle(put(&etag)).await, 412, None);
    assert_eq!(engine.handle(put("*")).await.status, 200);

    let res = engine
        .handle(with_json(
            request(Method::Patch, &path).with_header("If-Match", stale),
            &patch(json!([{"op": "replace", "path": "title", "value": "x"}])),
        ))
        .await;
    assert_error(&res, 412, None);

    let res = engine
        .handle(request(Method::Delete, &path).with_header("If-Match", stale))
        .await;
    assert_error(&res, 412, None);
    let current = get(&engine, &path).await.header("etag").unwrap().to_owned();
    let res = engine
        .handle(request(Method::Delete, &path).with_header("If-Match", current))
        .await;
    assert_eq!(res.status, 204);
}

// ---------------------------------------------------------------- groups, members, $ref

#[tokio::test]
async fn refs_on_groups_and_members() {
    let (engine, _) = engine();
    let uid = create_user(&engine, "bjensen").await;
    let gid = create_group(&engine, "admins", &[&uid]).await;
    let group = get(&engine, &format!("/Groups/{gid}")).await.json();
    assert_eq!(group["members"][0]["value"], uid.as_str());
    assert_eq!(group["members"][0]["$ref"], format!("{BASE}/Users/{uid}"));
    let user = get(&engine, &format!("/Users/{uid}")).await.json();
    assert_eq!(user["groups"][0]["value"], gid.as_str());
    assert_eq!(user["groups"][0]["$ref"], format!("{BASE}/Groups/{gid}"));
    assert_eq!(user["groups"][0]["display"], "admins");
}

#[tokio::test]
async fn member_patches_take_the_fast_path() {
    let (engine, _) = engine();
    let u1 = create_user(&engine, "u1").await;
    let u2 = create_user(&engine, "u2").await;
    let u3 = create_user(&engine, "u3").await;
    let gid = create_group(&engine, "g", &[]).await;
    let path = format!("/Groups/{gid}");

    let res = patch_call(
        &engine,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": u1}]}]),
    )
    .await;
    assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    assert!(res.body.is_empty());
    assert!(res.header("etag").is_some());
    let res = patch_call(
        &engine,
        &path,
        json!([{"op": "Add", "value": {"members": [{"value": u2}, {"value": u3}]}}]),
    )
    .await;
    assert_eq!(res.status, 204);
    let members = |g: &Value| -> Vec<String> {
        let mut m: Vec<String> = g["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        m.sort();
        m
    };
    let mut all = vec![u1.clone(), u2.clone(), u3.clone()];
    all.sort();
    assert_eq!(members(&get(&engine, &path).await.json()), all);

    let res = patch_call(
        &engine,
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]),
    )
    .await;
    assert_eq!(res.status, 204);
    let res = patch_call(
        &engine,
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"value": u2}]}]),
    )
    .await;
    assert_eq!(res.status, 204);
    assert_eq!(members(&get(&engine, &path).await.json()), vec![u3.clone()]);

    // With attributes the resource comes back.
    let res = engine
        .handle(with_json(
            request(Method::Patch, &path).with_query("attributes=members"),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": u1}]}])),
        ))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["members"].as_array().unwrap().len(), 2);
    assert!(res.json().get("displayName").is_none());

    // Invalid member values are refused like anywhere else.
    let res = patch_call(
        &engine,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": 42}]}]),
    )
    .await;
    assert_error(&res, 400, Some("invalidValue"));
    // Stale If-Match on the fast path.
    let res = engine
        .handle(with_json(
            request(Method::Patch, &path).with_header("If-Match", "W/\"stale\""),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": u2}]}])),
        ))
        .await;
    assert_error(&res, 412, None);
    let res = patch_call(
        &engine,
        "/Groups/missing",
        json!([{"op": "add", "path": "members", "value": [{"value": u2}]}]),
    )
    .await;
    assert_error(&res, 404, None);

    // A mixed PATCH takes the general path and answers 200.
    let res = patch_call(
        &engine,
        &path,
        json!([
            {"op": "add", "path": "members", "value": [{"value": u2}]},
            {"op": "replace", "path": "displayName", "value": "renamed"}
        ]),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["displayName"], "renamed");
    assert_eq!(members(&res.json()).len(), 3);
}

// ---------------------------------------------------------------- policies

#[tokio::test]
async fn duplicate_policies() {
    let (engine, _) = engine();
    create_user(&engine, "bjensen").await;
    let res = call(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJensen"})),
    )
    .await;
    assert_error(&res, 409, Some("uniqueness"));

    let (engine, _) = engine_with(|b| b.duplicate_policy(DuplicatePolicy::ReturnExisting));
    let id = create_user(&engine, "bjensen").await;
    let res = call(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJENSEN", "title": "x"})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["id"], id.as_str());
    assert!(res.json().get("title").is_none(), "unchanged");
}

#[tokio::test]
async fn delete_policy_deactivate_keeps_users_and_deletes_groups() {
    let (engine, recorder) = engine_with(|b| b.delete_policy(DeletePolicy::Deactivate));
    let id = create_user(&engine, "bjensen").await;
    let res = call(&engine, Method::Delete, &format!("/Users/{id}"), None).await;
    assert_eq!(res.status, 204);
    let user = get(&engine, &format!("/Users/{id}")).await;
    assert_eq!(user.status, 200);
    assert_eq!(user.json()["active"], json!(false));
    assert_eq!(
        recorder.calls(),
        [(
            "t1".to_owned(),
            vec![id.clone()],
            scim_core::RevocationReason::Deleted
        )]
    );
    let gid = create_group(&engine, "g", &[]).await;
    assert_eq!(
        call(&engine, Method::Delete, &format!("/Groups/{gid}"), None)
            .await
            .status,
        204
    );
    assert_error(&get(&engine, &format!("/Groups/{gid}")).await, 404, None);
}

#[tokio::test]
async fn protected_accounts_are_invisible() {
    let store = MemoryStore::new();
    let open = ScimEngine::builder(store.clone())
        .authenticator(scim_core::InsecureNoAuthentication::for_tenant("t1"))
        .revoker(scim_core::NoSessionsToRevoke)
        .build()
        .unwrap();
    let root = create_user(&open, "breakglass").await;
    let other = create_user(&open, "svc-backup").await;
    let alice = create_user(&open, "alice").await;

    let recorder = Recorder::default();
    let engine = ScimEngine::builder(store)
        .authenticator(scim_core::InsecureNoAuthentication::for_tenant("t1"))
        .revoker(recorder.clone())
        .protected_accounts(
            ProtectedAccounts::none()
                .user_name("BreakGlass")
                .id(other.clone()),
        )
        .build()
        .unwrap();

    let body = get(&engine, "/Users").await.json();
    assert_eq!(body["totalResults"], json!(1));
    assert_eq!(ids(&body), vec![alice.clone()]);
    let body = get_query(&engine, "/Users", "filter=userName%20eq%20%22breakglass%22")
        .await
        .json();
    assert_eq!(body["totalResults"], json!(0));
    let body = get_query(&engine, "/Users", "count=0").await.json();
    assert_eq!(body["totalResults"], json!(1));
    let body = call(
        &engine,
        Method::Post,
        "/.search",
        Some(json!({"schemas": [SEARCH]})),
    )
    .await
    .json();
    assert_eq!(body["totalResults"], json!(1));

    for id in [&root, &other] {
        let path = format!("/Users/{id}");
        assert_error(&get(&engine, &path).await, 404, None);
        assert_error(
            &call(&engine, Method::Put, &path, Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"}))).await,
            404,
            None,
        );
        assert_error(
            &patch_call(
                &engine,
                &path,
                json!([{"op": "replace", "path": "active", "value": false}]),
            )
            .await,
            404,
            None,
        );
        assert_error(&call(&engine, Method::Delete, &path, None).await, 404, None);
    }
    assert!(
        recorder.calls().is_empty(),
        "protected accounts are never revoked"
    );
    assert_error(
        &call(
            &engine,
            Method::Post,
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BREAKGLASS"})),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    // Renaming someone to a protected name is refused too.
    let res = patch_call(
        &engine,
        &format!("/Users/{alice}"),
        json!([{"op": "replace", "path": "userName", "value": "breakglass"}]),
    )
    .await;
    assert_error(&res, 409, Some("uniqueness"));
    // Still there for the host.
    assert_eq!(get(&open, &format!("/Users/{root}")).await.status, 200);
}

// ---------------------------------------------------------------- /Me, auth, tenants

struct HeaderAuth;

#[async_trait]
impl Authenticator for HeaderAuth {
    async fn authenticate(&self, headers: &Headers) -> Result<Principal, AuthError> {
        let tenant = headers.get("x-tenant").ok_or(AuthError::Missing)?;
        if tenant == "bad" {
            return Err(AuthError::Invalid);
        }
        let principal = Principal::new(tenant, "test");
        Ok(match headers.get("x-user") {
            Some(user) => principal.with_user_id(user),
            None => principal,
        })
    }
}

fn header_engine() -> ScimEngine {
    ScimEngine::builder(MemoryStore::new())
        .authenticator(HeaderAuth)
        .revoker(scim_core::NoSessionsToRevoke)
        .build()
        .unwrap()
}

#[tokio::test]
async fn me_resolves_to_the_callers_user() {
    let engine = header_engine();
    let res = engine
        .handle(with_json(
            request(Method::Post, "/Users").with_header("x-tenant", "t1"),
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "me"}),
        ))
        .await;
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let me = |m: Method| {
        request(m, "/Me")
            .with_header("x-tenant", "t1")
            .with_header("x-user", id.clone())
    };
    let res = engine.handle(me(Method::Get)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["userName"], "me");
    let res = engine
        .handle(with_json(
            me(Method::Patch),
            &patch(json!([{"op": "replace", "path": "title", "value": "Boss"}])),
        ))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["title"], "Boss");

    let res = engine
        .handle(request(Method::Get, "/Me").with_header("x-tenant", "t1"))
        .await;
    assert_error(&res, 501, None);
    assert!(res.json()["detail"].as_str().unwrap().contains("/Me"));
}

#[tokio::test]
async fn authentication_failures_are_401_with_www_authenticate() {
    let engine = header_engine();
    for req in [
        request(Method::Get, "/Users"),
        request(Method::Get, "/Users").with_header("x-tenant", "bad"),
    ] {
        let res = engine.handle(req).await;
        assert_error(&res, 401, None);
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
    }
}

#[tokio::test]
async fn tenants_are_isolated() {
    let engine = header_engine();
    let post = |tenant: &str, name: &str| {
        with_json(
            request(Method::Post, "/Users").with_header("x-tenant", tenant),
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}),
        )
    };
    let res = engine.handle(post("t1", "bjensen")).await;
    let id = res.json()["id"].as_str().unwrap().to_owned();
    // The same userName in another tenant is fine.
    assert_eq!(engine.handle(post("t2", "bjensen")).await.status, 201);
    let res = engine
        .handle(request(Method::Get, &format!("/Users/{id}")).with_header("x-tenant", "t2"))
        .await;
    assert_error(&res, 404, None);
    let res = engine
        .handle(request(Method::Delete, &format!("/Users/{id}")).with_header("x-tenant", "t2"))
        .await;
    assert_error(&res, 404, None);
    let list = engine
        .handle(request(Method::Get, "/Users").with_header("x-tenant", "t2"))
        .await
        .json();
    assert_eq!(list["totalResults"], json!(1));
    assert_ne!(list["Resources"][0]["id"], id.as_str());
    let res = engine
        .handle(request(Method::Get, &format!("/Users/{id}")).with_header("x-tenant", "t1"))
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn bulk_is_routed() {
    let (engine, _) = engine();
    let res = call(
        &engine,
        Method::Post,
        "/Bulk",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "q1", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bulky"}}]
        })),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["Operations"][0]["status"], "201");
    assert_error(&get(&engine, "/Bulk").await, 405, None);
}

#[tokio::test]
async fn unknown_cursors_are_invalid_cursor() {
    let (engine, _) = engine();
    seed(&engine, &["u1", "u2"]).await;
    let res = get_query(&engine, "/Users", "cursor=not-a-cursor&count=1").await;
    assert_error(&res, 400, Some("invalidCursor"));
}

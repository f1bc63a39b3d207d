//! The HTTP-level SCIM 2.0 suite (RFC 7643/7644). Every case is an
//! `async fn(&TestServer)`; `suite!` runs each one unchanged against the axum adapter and
//! the actix-web adapter over every store of the workspace (`axum_memory::<case>`,
//! `actix_tiny_required_only::<case>`, …), so a difference between adapters or stores is a
//! failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_tests::{
    BULK_REQUEST, BULK_RESPONSE, ENTERPRISE, GROUP, LIST_RESPONSE, Method, PATCH_OP, RESOURCE_TYPE,
    Revocation, SCHEMA, SCIM_JSON, SEARCH_REQUEST, SP_CONFIG, TOKEN_A, TOKEN_A2, TOKEN_B,
    TestServer, USER, enc, id_of, send,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Generates one `#[tokio::test]` per case for an adapter.
macro_rules! suite {
    ($module:ident, $start:path, $store:path) => {
        mod $module {
            suite!(@cases $start, $store;
                discovery,
                joiner_mover_leaver,
                entra_requests,
                okta_content_types,
                error_statuses,
                etags,
                list_paging_and_sorting,
                search_endpoints,
                bulk,
                bulk_revokes_in_one_batch,
                authentication,
                tenant_isolation,
                revocation_failure_then_retry,
                mounting,
                put_replace,
                returned_characteristics,
                filters,
                multi_valued_patch,
                groups_lifecycle,
                bulk_limits_and_versions,
                concurrent_writes,
                percent_encoded_path,
                mount_root_trailing_slash,
                protocol_details,
                discovery_writes_are_405,
                schemas_are_required,
                extra_schema_urns_without_data,
                multi_valued_attributes_need_arrays,
                empty_operations_are_refused,
                filters_must_be_utf8,
                reference_values_are_case_exact,
                patch_operations_ignore_unknown_members,
                attributes_with_a_value_filter_are_refused,
                value_paths_without_a_match_are_no_target,
                enterprise_manager_as_idps_send_it,
                entra_element_filters,
                tolerances_follow_the_profile,
                request_limits,
            );
        }
    };
    (@cases $start:path, $store:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = $store().await else { return };
                let server = $start(store).await;
                super::$case(&server).await;
            }
        )*
    };
}

suite!(
    axum_memory,
    scim_tests::start_axum_with,
    scim_tests::stores::memory
);
suite!(
    actix_memory,
    scim_tests::start_actix_with,
    scim_tests::stores::memory
);
suite!(
    axum_tiny,
    scim_tests::start_axum_with,
    scim_tests::stores::tiny
);
suite!(
    actix_tiny,
    scim_tests::start_actix_with,
    scim_tests::stores::tiny
);
suite!(
    axum_memory_required_only,
    scim_tests::start_axum_with,
    scim_tests::stores::memory_required_only
);
suite!(
    actix_memory_required_only,
    scim_tests::start_actix_with,
    scim_tests::stores::memory_required_only
);
suite!(
    axum_tiny_required_only,
    scim_tests::start_axum_with,
    scim_tests::stores::tiny_required_only
);
suite!(
    actix_tiny_required_only,
    scim_tests::start_actix_with,
    scim_tests::stores::tiny_required_only
);
suite!(
    axum_sqlite,
    scim_tests::start_axum_with,
    scim_tests::stores::sqlite
);
suite!(
    actix_sqlite,
    scim_tests::start_actix_with,
    scim_tests::stores::sqlite
);
suite!(
    axum_postgres,
    scim_tests::start_axum_with,
    scim_tests::stores::postgres
);
suite!(
    actix_postgres,
    scim_tests::start_actix_with,
    scim_tests::stores::postgres
);

// ---------------------------------------------------------------------------------------
// helpers

fn as_str_set(values: &Value, key: &str) -> BTreeSet<String> {
    values
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {values}"))
        .iter()
        .map(|v| v[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts a ListResponse (RFC 7644 §3.4.2) with integer `totalResults`, `itemsPerPage`
/// and `startIndex` and returns its `Resources` (empty when absent).
#[track_caller]
fn list_resources(body: &Value, total: u64) -> Vec<Value> {
    assert_eq!(body["schemas"], json!([LIST_RESPONSE]), "{body}");
    assert_eq!(body["totalResults"], json!(total), "totalResults in {body}");
    assert!(
        body["totalResults"].is_u64(),
        "integer totalResults: {body}"
    );
    assert!(
        body["itemsPerPage"].is_u64(),
        "integer itemsPerPage: {body}"
    );
    assert!(body["startIndex"].is_u64(), "integer startIndex: {body}");
    let resources = match body.get("Resources") {
        None => Vec::new(),
        Some(Value::Array(r)) => r.clone(),
        Some(other) => panic!("Resources is not an array: {other}"),
    };
    assert_eq!(
        body["itemsPerPage"],
        json!(resources.len()),
        "itemsPerPage = number of Resources in {body}"
    );
    resources
}

fn user_names(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn deactivate() -> Value {
    json!([{"op": "replace", "path": "active", "value": false}])
}

// ---------------------------------------------------------------------------------------
// 1. discovery (RFC 7644 §4, RFC 7643 §5–§7)

async fn discovery(server: &TestServer) {
    // ServiceProviderConfig
    let response = server.get("/ServiceProviderConfig").await;
    response.expect_status(200);
    let config = response.scim_json();
    assert_eq!(config["schemas"], json!([SP_CONFIG]), "{config}");
    assert_eq!(config["patch"]["supported"], json!(true), "{config}");
    assert_eq!(config["bulk"]["supported"], json!(true), "{config}");
    assert!(config["bulk"]["maxOperations"].is_u64(), "{config}");
    assert!(config["bulk"]["maxPayloadSize"].is_u64(), "{config}");
    assert_eq!(config["filter"]["supported"], json!(true), "{config}");
    assert!(config["filter"]["maxResults"].is_u64(), "{config}");
    assert_eq!(config["sort"]["supported"], json!(true), "{config}");
    assert_eq!(config["etag"]["supported"], json!(true), "{config}");
    assert_eq!(
        config["changePassword"]["supported"],
        json!(false),
        "{config}"
    );
    let schemes = config["authenticationSchemes"]
        .as_array()
        .unwrap_or_else(|| panic!("authenticationSchemes: {config}"));
    assert!(
        schemes.iter().any(|s| s["type"] == "oauthbearertoken"),
        "an oauthbearertoken scheme in {config}"
    );

    // Schemas
    let response = server.get("/Schemas").await;
    response.expect_status(200);
    let body = response.scim_json();
    let schemas = list_resources(&body, body["totalResults"].as_u64().unwrap_or(0));
    let ids = as_str_set(&Value::Array(schemas), "id");
    for urn in [USER, GROUP, ENTERPRISE] {
        assert!(ids.contains(urn), "{urn} in /Schemas: {ids:?}");
    }

    let response = server.get(&format!("/Schemas/{USER}")).await;
    response.expect_status(200);
    let schema = response.scim_json();
    assert_eq!(schema["id"], json!(USER), "{schema}");
    let user_name = schema["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "userName"))
        .unwrap_or_else(|| panic!("userName in {schema}"));
    assert_eq!(user_name["uniqueness"], json!("server"), "{user_name}");
    assert_eq!(user_name["caseExact"], json!(false), "{user_name}");
    assert_eq!(user_name["required"], json!(true), "{user_name}");
    if let Some(schemas) = schema.get("schemas") {
        assert_eq!(schemas, &json!([SCHEMA]), "{schema}");
    }

    server
        .get("/Schemas/urn:example:no:such:schema")
        .await
        .expect_error(404, None);

    // ResourceTypes
    let response = server.get("/ResourceTypes").await;
    response.expect_status(200);
    let body = response.scim_json();
    let types = list_resources(&body, 2);
    let user_type = types
        .iter()
        .find(|t| t["id"] == "User" || t["name"] == "User")
        .unwrap_or_else(|| panic!("User in {body}"));
    assert_eq!(user_type["endpoint"], json!("/Users"), "{user_type}");
    assert_eq!(user_type["schema"], json!(USER), "{user_type}");
    assert_eq!(user_type["schemas"], json!([RESOURCE_TYPE]), "{user_type}");
    assert!(
        user_type["schemaExtensions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["schema"] == ENTERPRISE)),
        "enterprise extension in {user_type}"
    );
    let group_type = types
        .iter()
        .find(|t| t["name"] == "Group")
        .unwrap_or_else(|| panic!("Group in {body}"));
    assert_eq!(group_type["endpoint"], json!("/Groups"), "{group_type}");

    let response = server.get("/ResourceTypes/User").await;
    response.expect_status(200);
    let user_type = response.scim_json();
    assert_eq!(user_type["name"], json!("User"), "{user_type}");
    assert_eq!(user_type["endpoint"], json!("/Users"), "{user_type}");

    // Discovery endpoints are read-only: 405 with an `Allow` header (RFC 9110 §15.5.6:
    // "The origin server MUST generate an Allow header field in a 405 response").
    for path in ["/Schemas", "/ServiceProviderConfig", "/ResourceTypes"] {
        let response = server
            .post(path, &json!({"schemas": [SCHEMA], "id": "urn:x"}))
            .await;
        response.expect_error(405, None);
        let allow = response.header("allow").unwrap_or_default();
        assert!(
            allow.split(',').any(|m| m.trim() == "GET"),
            "POST {path}: 405 needs `Allow: GET`, got {allow:?} in {response:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. joiner → mover → leaver (RFC 7642 §3.2)

async fn joiner_mover_leaver(server: &TestServer) {
    let manager = server.create_user("manager@example.com").await;
    let manager_id = id_of(&manager);

    // Joiner: create with the enterprise extension and externalId.
    let created = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "bjensen@example.com",
                "externalId": "00u1abcd",
                "name": {"givenName": "Barbara", "familyName": "Jensen"},
                "displayName": "Babs Jensen",
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                "active": true,
                ENTERPRISE: {
                    "employeeNumber": "701984",
                    "department": "Tour Operations",
                    "manager": {"value": manager_id}
                }
            }),
        )
        .await;
    created.expect_status(201);
    let user = created.scim_json();
    let id = id_of(&user);
    let location = created
        .header("location")
        .unwrap_or_else(|| panic!("Location header on 201: {created:?}"));
    assert_eq!(user["meta"]["location"], json!(location), "{user}");
    assert_eq!(location, format!("{}/Users/{id}", server.base));
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let etag1 = created.etag();
    assert_eq!(user["meta"]["version"], json!(etag1), "{user}");
    assert_eq!(user["meta"]["resourceType"], json!("User"), "{user}");
    assert!(user["meta"]["created"].is_string(), "{user}");
    assert!(user["meta"]["lastModified"].is_string(), "{user}");
    assert_eq!(user["userName"], json!("bjensen@example.com"));
    assert_eq!(user["externalId"], json!("00u1abcd"));
    assert_eq!(user["active"], json!(true));
    assert_eq!(
        user[ENTERPRISE]["employeeNumber"],
        json!("701984"),
        "{user}"
    );
    assert_eq!(user[ENTERPRISE]["department"], json!("Tour Operations"));
    assert_eq!(user[ENTERPRISE]["manager"]["value"], json!(manager_id));
    let schemas = user["schemas"]
        .as_array()
        .unwrap_or_else(|| panic!("{user}"));
    assert!(schemas.contains(&json!(USER)) && schemas.contains(&json!(ENTERPRISE)));

    let fetched = server.get(&format!("/Users/{id}")).await;
    fetched.expect_status(200);
    assert_eq!(fetched.etag(), etag1);
    let stored = fetched.scim_json();
    assert_eq!(stored["userName"], user["userName"]);
    assert_eq!(stored[ENTERPRISE], user[ENTERPRISE]);
    assert_eq!(stored["emails"], user["emails"]);

    // Group add.
    let group = server.create_group("Tour Guides", &[]).await;
    let group_id = id_of(&group);
    let added = server
        .patch(
            &format!("/Groups/{group_id}"),
            json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            None,
        )
        .await;
    assert!(
        added.status == 200 || added.status == 204,
        "PATCH add member: {added:?}"
    );
    let group = server.get(&format!("/Groups/{group_id}")).await;
    group.expect_status(200);
    let group = group.scim_json();
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([id.clone()])
    );

    let response = server.get(&format!("/Users/{id}")).await;
    response.expect_status(200);
    let with_groups = response.scim_json();
    let groups = &with_groups["groups"];
    assert_eq!(
        as_str_set(groups, "value"),
        BTreeSet::from([group_id.clone()]),
        "{with_groups}"
    );
    assert_eq!(groups[0]["display"], json!("Tour Guides"), "{with_groups}");
    let etag1 = response.etag();

    // Mover: URN path + If-Match.
    let mover = json!([{
        "op": "replace",
        "path": format!("{ENTERPRISE}:department"),
        "value": "Tour Guides"
    }]);
    let moved = server
        .patch(&format!("/Users/{id}"), mover.clone(), Some(&etag1))
        .await;
    moved.expect_status(200);
    let body = moved.scim_json();
    let etag2 = moved.etag();
    assert_ne!(etag1, etag2, "the ETag changes on modification");
    assert_eq!(body["meta"]["version"], json!(etag2));
    assert_eq!(
        body[ENTERPRISE]["department"],
        json!("Tour Guides"),
        "{body}"
    );
    assert_eq!(
        body[ENTERPRISE]["employeeNumber"],
        json!("701984"),
        "{body}"
    );
    // The URN path is an extension attribute, not a nested key.
    let ext_keys: BTreeSet<&str> = body[ENTERPRISE]
        .as_object()
        .unwrap_or_else(|| panic!("{body}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        ext_keys,
        BTreeSet::from(["department", "employeeNumber", "manager"]),
        "{body}"
    );
    assert!(
        body.as_object()
            .is_some_and(|o| o.keys().all(|k| !k.contains(":department"))),
        "{body}"
    );
    let stored = server.get(&format!("/Users/{id}")).await.scim_json();
    assert_eq!(stored[ENTERPRISE]["department"], json!("Tour Guides"));

    // The same PATCH with the old ETag fails.
    server
        .patch(&format!("/Users/{id}"), mover, Some(&etag1))
        .await
        .expect_error(412, None);

    // Reconciliation: filter by userName (case-insensitive, RFC 7643 §4.1.1) with
    // `attributes`.
    for user_name in ["bjensen@example.com", "BJensen@Example.COM"] {
        let filter = enc(&format!("userName eq \"{user_name}\""));
        let response = server
            .get(&format!(
                "/Users?filter={filter}&attributes=userName,externalId"
            ))
            .await;
        response.expect_status(200);
        let body = response.scim_json();
        let found = list_resources(&body, 1);
        assert_eq!(body["startIndex"], json!(1), "{body}");
        let found = &found[0];
        assert_eq!(found["id"], json!(id), "{found}");
        assert_eq!(found["userName"], json!("bjensen@example.com"), "{found}");
        assert_eq!(found["externalId"], json!("00u1abcd"), "{found}");
        for absent in [
            "emails",
            "name",
            "displayName",
            "active",
            "groups",
            ENTERPRISE,
        ] {
            assert!(
                found.get(absent).is_none(),
                "{absent} not requested: {found}"
            );
        }
    }
    let filter = enc("externalId eq \"00u1abcd\"");
    let body = server
        .get(&format!("/Users?filter={filter}"))
        .await
        .scim_json();
    assert_eq!(
        user_names(&list_resources(&body, 1)),
        ["bjensen@example.com"]
    );

    // Leaver, step 1: deactivate.
    let response = server
        .patch(&format!("/Users/{id}"), deactivate(), None)
        .await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["active"], json!(false));
    assert_eq!(
        server.revocations(),
        [Revocation {
            tenant: "a".into(),
            ids: vec![id.clone()],
            reason: "deactivated".into()
        }]
    );
    let stored = server.get(&format!("/Users/{id}")).await.scim_json();
    assert_eq!(stored["active"], json!(false), "{stored}");

    // Leaver, step 2: hard delete.
    let response = server.delete(&format!("/Users/{id}"), None).await;
    response.expect_status(204);
    assert_eq!(response.text, "", "204 has no body");
    assert_eq!(
        server.revocations().last(),
        Some(&Revocation {
            tenant: "a".into(),
            ids: vec![id.clone()],
            reason: "deleted".into()
        })
    );
    assert_eq!(server.revocations().len(), 2);
    server
        .get(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);
    // Deleting a User removes it from its groups.
    let group = server.get(&format!("/Groups/{group_id}")).await.scim_json();
    assert!(
        group
            .get("members")
            .is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)),
        "{group}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. what Entra ID and Okta really send

async fn entra_requests(server: &TestServer) {
    let user = server.create_user("entra@example.com").await;
    let id = id_of(&user);
    let manager = id_of(&server.create_user("boss@example.com").await);

    // Capitalized op, manager as a bare string (Entra).
    let response = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager}]),
            None,
        )
        .await;
    response.expect_status(200);
    assert_eq!(
        response.scim_json()[ENTERPRISE]["manager"]["value"],
        json!(manager)
    );

    // `"value": "False"` is stored as JSON false and revokes.
    let response = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            None,
        )
        .await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["active"], json!(false));
    let stored = server.get(&format!("/Users/{id}")).await.scim_json();
    assert_eq!(stored["active"], Value::Bool(false), "{stored}");
    assert_eq!(
        server.revocations(),
        [Revocation {
            tenant: "a".into(),
            ids: vec![id.clone()],
            reason: "deactivated".into()
        }]
    );

    // Member removal by value removes only that member.
    let u1 = id_of(&server.create_user("m1@example.com").await);
    let u2 = id_of(&server.create_user("m2@example.com").await);
    let u3 = id_of(&server.create_user("m3@example.com").await);
    let group = server.create_group("Entra Group", &[&u1, &u2, &u3]).await;
    let group_id = id_of(&group);
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([u1.clone(), u2.clone(), u3.clone()])
    );
    let response = server
        .patch(
            &format!("/Groups/{group_id}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": u2}]}]),
            None,
        )
        .await;
    assert!(matches!(response.status, 200 | 204), "{response:?}");
    let group = server.get(&format!("/Groups/{group_id}")).await.scim_json();
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([u1.clone(), u3.clone()]),
        "{group}"
    );

    // RFC form: remove with a value filter.
    let response = server
        .patch(
            &format!("/Groups/{group_id}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]),
            None,
        )
        .await;
    assert!(matches!(response.status, 200 | 204), "{response:?}");
    let group = server.get(&format!("/Groups/{group_id}")).await.scim_json();
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([u3.clone()]),
        "{group}"
    );

    // Adding a member that is already there does not duplicate it.
    let response = server
        .patch(
            &format!("/Groups/{group_id}"),
            json!([{"op": "add", "path": "members", "value": [{"value": u3}, {"value": u2}]}]),
            None,
        )
        .await;
    assert!(matches!(response.status, 200 | 204), "{response:?}");
    let group = server.get(&format!("/Groups/{group_id}")).await.scim_json();
    let members = group["members"].as_array().cloned().unwrap_or_default();
    assert_eq!(members.len(), 2, "{group}");
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([u2, u3]),
        "{group}"
    );
}

async fn okta_content_types(server: &TestServer) {
    let user = |name: &str| json!({"schemas": [USER], "userName": name}).to_string();

    // No Content-Type at all (Okta): accepted.
    let response = send(
        server
            .request(Method::POST, "/Users")
            .body(user("no-content-type@example.com")),
    )
    .await;
    response.expect_status(201);
    assert_eq!(
        response.scim_json()["userName"],
        json!("no-content-type@example.com")
    );

    // application/json: accepted.
    let response = send(
        server
            .request(Method::POST, "/Users")
            .header("content-type", "application/json")
            .body(user("json@example.com")),
    )
    .await;
    response.expect_status(201);

    // application/scim+json with a charset: accepted.
    let response = send(
        server
            .request(Method::POST, "/Users")
            .header("content-type", "application/scim+json; charset=utf-8")
            .body(user("charset@example.com")),
    )
    .await;
    response.expect_status(201);

    // Anything else: 415 and nothing created.
    let response = send(
        server
            .request(Method::POST, "/Users")
            .header("content-type", "text/plain")
            .body(user("text@example.com")),
    )
    .await;
    response.expect_error(415, None);
    let filter = enc("userName eq \"text@example.com\"");
    let body = server
        .get(&format!("/Users?filter={filter}"))
        .await
        .scim_json();
    list_resources(&body, 0);
}

// ---------------------------------------------------------------------------------------
// 4. every error status and scimType (RFC 7644 §3.12)

async fn error_statuses(server: &TestServer) {
    // Malformed JSON.
    let response = send(
        server
            .request(Method::POST, "/Users")
            .header("content-type", SCIM_JSON)
            .body(r#"{"schemas": ["#),
    )
    .await;
    response.expect_error(400, Some("invalidSyntax"));

    // Missing required userName.
    server
        .post(
            "/Users",
            &json!({"schemas": [USER], "displayName": "Nobody"}),
        )
        .await
        .expect_error(400, Some("invalidValue"));

    // Duplicate userName differing only in case.
    let user = server.create_user("Dup@Example.com").await;
    let id = id_of(&user);
    server
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "dup@example.COM"}),
        )
        .await
        .expect_error(409, Some("uniqueness"));

    // Bad filters.
    for filter in ["userName eq", "userName xx \"a\"", "(userName eq \"a\""] {
        server
            .get(&format!("/Users?filter={}", enc(filter)))
            .await
            .expect_error(400, Some("invalidFilter"));
    }

    // Bad PATCH path.
    let response = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]),
            None,
        )
        .await;
    response.expect_error(400, Some("invalidPath"));

    // PATCH remove with a filter that matches nothing.
    let response = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "w@example.com", "type": "work"}]}]),
            None,
        )
        .await;
    response.expect_status(200);
    server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            None,
        )
        .await
        .expect_error(400, Some("noTarget"));

    // PATCH of a readOnly attribute.
    server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "id", "value": "another-id"}]),
            None,
        )
        .await
        .expect_error(400, Some("mutability"));
    // The user is unchanged by the failed PATCHes.
    let stored = server.get(&format!("/Users/{id}")).await;
    stored.expect_status(200);
    let stored = stored.scim_json();
    assert_eq!(stored["id"], json!(id));
    assert_eq!(
        as_str_set(&stored["emails"], "value"),
        BTreeSet::from(["w@example.com".to_owned()])
    );

    // A PATCH that is not a PatchOp, and an unknown op: 400 (scimType not pinned).
    for body in [
        json!({"schemas": [USER], "userName": "x"}),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "frobnicate", "path": "active", "value": true}]}),
    ] {
        let response = send(server.with_body(Method::PATCH, &format!("/Users/{id}"), &body)).await;
        response.expect_status(400);
        assert_eq!(response.scim_json()["status"], json!("400"));
    }

    // Unknown id, unknown endpoint.
    server
        .get("/Users/00000000-0000-0000-0000-000000000000")
        .await
        .expect_error(404, None);
    server
        .patch("/Users/no-such-id", deactivate(), None)
        .await
        .expect_error(404, None);
    server
        .delete("/Groups/no-such-id", None)
        .await
        .expect_error(404, None);
    server.get("/NoSuchEndpoint").await.expect_error(404, None);

    // Body over the limit (1 MiB by default).
    let big = json!({"schemas": [USER], "userName": "big@example.com", "displayName": "x".repeat(2 << 20)});
    server.post("/Users", &big).await.expect_error(413, None);
    // The server still answers afterwards.
    server.get("/Users").await.expect_status(200);
}

// ---------------------------------------------------------------------------------------
// ETags (RFC 7644 §3.14)

async fn etags(server: &TestServer) {
    let created = server
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "etag@example.com"}),
        )
        .await;
    created.expect_status(201);
    let user = created.scim_json();
    let id = id_of(&user);
    let path = format!("/Users/{id}");
    let etag = created.etag();
    assert!(
        etag.starts_with("W/\"") || etag.starts_with('"'),
        "an entity-tag: {etag}"
    );
    let wrong = "W/\"definitely-not-the-version\"";

    // Wrong If-Match on PUT, PATCH, DELETE: 412, nothing changes.
    server
        .put(
            &path,
            &json!({"schemas": [USER], "userName": "etag@example.com", "displayName": "Changed"}),
            Some(wrong),
        )
        .await
        .expect_error(412, None);
    server
        .patch(&path, deactivate(), Some(wrong))
        .await
        .expect_error(412, None);
    server
        .delete(&path, Some(wrong))
        .await
        .expect_error(412, None);
    let response = server.get(&path).await;
    response.expect_status(200);
    assert_eq!(response.etag(), etag, "unchanged after 412s");
    let stored = response.scim_json();
    assert_eq!(stored["active"], user["active"]);
    assert!(stored.get("displayName").is_none(), "{stored}");
    assert!(server.revocations().is_empty(), "no revocation on 412");

    // If-None-Match with the current ETag: 304 without a body.
    let response = send(
        server
            .request(Method::GET, &path)
            .header("if-none-match", &etag),
    )
    .await;
    response.expect_status(304);
    assert_eq!(response.text, "");
    // With another ETag: 200.
    let response = send(
        server
            .request(Method::GET, &path)
            .header("if-none-match", wrong),
    )
    .await;
    response.expect_status(200);
    assert_eq!(response.etag(), etag);

    // Right If-Match on PATCH, PUT and DELETE.
    let response = server
        .patch(
            &path,
            json!([{"op": "add", "path": "displayName", "value": "E. Tag"}]),
            Some(&etag),
        )
        .await;
    response.expect_status(200);
    let etag2 = response.etag();
    assert_ne!(etag2, etag);
    // A no-op PATCH does not change the version.
    let response = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": "E. Tag"}]),
            Some(&etag2),
        )
        .await;
    response.expect_status(200);
    assert_eq!(response.etag(), etag2, "a no-op keeps the version");
    let response = server
        .put(
            &path,
            &json!({"schemas": [USER], "userName": "etag@example.com", "displayName": "Put"}),
            Some(&etag2),
        )
        .await;
    response.expect_status(200);
    let etag3 = response.etag();
    assert_ne!(etag3, etag2);
    // The old ETag is now stale for DELETE.
    server
        .delete(&path, Some(&etag2))
        .await
        .expect_error(412, None);
    server.delete(&path, Some(&etag3)).await.expect_status(204);
    server.get(&path).await.expect_error(404, None);
}

// ---------------------------------------------------------------------------------------
// 5. list: paging, sorting, count=0 (RFC 7644 §3.4.2)

async fn list_paging_and_sorting(server: &TestServer) {
    // Created out of order.
    for n in [4, 1, 7, 3, 6, 2, 5] {
        server
            .create_user(&format!("user-{n:02}@example.com"))
            .await;
    }
    let name = |n: u32| format!("user-{n:02}@example.com");

    let body = server
        .get("/Users?sortBy=userName&startIndex=1&count=3")
        .await
        .scim_json();
    let page = list_resources(&body, 7);
    assert_eq!(body["startIndex"], json!(1));
    assert_eq!(user_names(&page), [name(1), name(2), name(3)]);

    let body = server
        .get("/Users?sortBy=userName&startIndex=4&count=3")
        .await
        .scim_json();
    let page = list_resources(&body, 7);
    assert_eq!(body["startIndex"], json!(4));
    assert_eq!(user_names(&page), [name(4), name(5), name(6)]);

    let body = server
        .get("/Users?sortBy=userName&startIndex=7&count=3")
        .await
        .scim_json();
    let page = list_resources(&body, 7);
    assert_eq!(user_names(&page), [name(7)]);

    // Past the end: empty page, total still 7.
    let body = server
        .get("/Users?sortBy=userName&startIndex=20&count=3")
        .await
        .scim_json();
    assert!(list_resources(&body, 7).is_empty());

    // count=0: totalResults only.
    let body = server.get("/Users?count=0").await.scim_json();
    assert!(list_resources(&body, 7).is_empty(), "{body}");

    // startIndex < 1 is read as 1 (RFC 7644 §3.4.2.4).
    let body = server
        .get("/Users?sortBy=userName&startIndex=0&count=2")
        .await
        .scim_json();
    assert_eq!(user_names(&list_resources(&body, 7)), [name(1), name(2)]);
    assert_eq!(body["startIndex"], json!(1));

    // sortOrder=descending.
    let body = server
        .get("/Users?sortBy=userName&sortOrder=descending")
        .await
        .scim_json();
    let all = list_resources(&body, 7);
    assert_eq!(
        user_names(&all),
        (1..=7).rev().map(name).collect::<Vec<_>>()
    );

    // Filter + paging: the filter is applied (not ignored).
    let filter = enc("userName sw \"user-0\" and not (userName eq \"user-07@example.com\")");
    let body = server
        .get(&format!("/Users?filter={filter}&sortBy=userName&count=2"))
        .await
        .scim_json();
    assert_eq!(user_names(&list_resources(&body, 6)), [name(1), name(2)]);
    let filter = enc("userName co \"nobody\"");
    let body = server
        .get(&format!("/Users?filter={filter}"))
        .await
        .scim_json();
    assert!(list_resources(&body, 0).is_empty());

    // excludedAttributes.
    let body = server
        .get("/Users?sortBy=userName&count=1&excludedAttributes=meta,active")
        .await
        .scim_json();
    let first = &list_resources(&body, 7)[0];
    assert!(
        first.get("meta").is_none() && first.get("active").is_none(),
        "{first}"
    );
    assert!(
        first.get("id").is_some() && first.get("userName").is_some(),
        "{first}"
    );
}

// ---------------------------------------------------------------------------------------
// 6. POST .search (RFC 7644 §3.4.3)

async fn search_endpoints(server: &TestServer) {
    let alice = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER],
                "userName": "alice@example.com",
                "emails": [{"value": "alice@example.com", "type": "work"}]
            }),
        )
        .await;
    alice.expect_status(201);
    let alice_id = id_of(&alice.scim_json());
    server.create_user("bob@example.com").await;
    server.create_group("Alice's Group", &[&alice_id]).await;

    let response = server
        .post(
            "/Users/.search",
            &json!({
                "schemas": [SEARCH_REQUEST],
                "filter": "userName eq \"ALICE@example.com\"",
                "attributes": ["userName"],
                "startIndex": 1,
                "count": 10
            }),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let found = list_resources(&body, 1);
    assert_eq!(found[0]["id"], json!(alice_id));
    assert_eq!(found[0]["userName"], json!("alice@example.com"));
    assert!(found[0].get("emails").is_none(), "{body}");
    assert!(
        response.header("location").is_none(),
        ".search creates nothing"
    );

    // Sorting and paging through .search.
    let body = server
        .post(
            "/Users/.search",
            &json!({
                "schemas": [SEARCH_REQUEST],
                "sortBy": "userName",
                "sortOrder": "descending",
                "count": 1
            }),
        )
        .await
        .scim_json();
    assert_eq!(user_names(&list_resources(&body, 2)), ["bob@example.com"]);

    // Root .search spans resource types.
    let response = server
        .post(
            "/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "userName eq \"alice@example.com\""}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let found = list_resources(&body, 1);
    assert_eq!(found[0]["id"], json!(alice_id), "{body}");
    let response = server
        .post(
            "/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "displayName eq \"Alice's Group\""}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let found = list_resources(&body, 1);
    assert_eq!(found[0]["displayName"], json!("Alice's Group"), "{body}");

    // Bad filter in a SearchRequest.
    server
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": "userName eq"}),
        )
        .await
        .expect_error(400, Some("invalidFilter"));
}

// ---------------------------------------------------------------------------------------
// 7. Bulk (RFC 7644 §3.7)

async fn bulk(server: &TestServer) {
    let response = server
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "qwerty",
                        "data": {"schemas": [USER], "userName": "Alice"}
                    },
                    {
                        "method": "POST",
                        "path": "/Groups",
                        "bulkId": "ytrewq",
                        "data": {
                            "schemas": [GROUP],
                            "displayName": "Tour Guides",
                            "members": [{"type": "User", "value": "bulkId:qwerty"}]
                        }
                    },
                    {"method": "DELETE", "path": "/Users/no-such-id"}
                ]
            }),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(body["schemas"], json!([BULK_RESPONSE]), "{body}");
    let ops = body["Operations"]
        .as_array()
        .unwrap_or_else(|| panic!("Operations in {body}"));
    assert_eq!(ops.len(), 3, "{body}");

    let user_op = ops
        .iter()
        .find(|o| o["bulkId"] == "qwerty")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(user_op["method"], json!("POST"));
    assert_eq!(
        user_op["status"],
        json!("201"),
        "status is a string: {user_op}"
    );
    let user_location = user_op["location"].as_str().unwrap_or_default().to_owned();
    let user_prefix = format!("{}/Users/", server.base);
    assert!(user_location.starts_with(&user_prefix), "{user_op}");
    let user_id = user_location[user_prefix.len()..].to_owned();
    assert!(
        user_op.get("version").is_none_or(Value::is_string),
        "{user_op}"
    );

    let group_op = ops
        .iter()
        .find(|o| o["bulkId"] == "ytrewq")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(group_op["status"], json!("201"), "{group_op}");
    let group_location = group_op["location"].as_str().unwrap_or_default().to_owned();
    let group_prefix = format!("{}/Groups/", server.base);
    assert!(group_location.starts_with(&group_prefix), "{group_op}");
    let group_id = &group_location[group_prefix.len()..];

    let failed = ops
        .iter()
        .find(|o| o["method"] == "DELETE")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(failed["status"], json!("404"), "{failed}");
    assert_eq!(
        failed["response"]["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{failed}"
    );
    assert_eq!(failed["response"]["status"], json!("404"), "{failed}");

    // bulkId:qwerty was resolved to the new user's id.
    let group = server.get(&format!("/Groups/{group_id}")).await;
    group.expect_status(200);
    let group = group.scim_json();
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([user_id.clone()]),
        "{group}"
    );
    let user = server.get(&format!("/Users/{user_id}")).await.scim_json();
    assert_eq!(user["userName"], json!("Alice"));

    // failOnErrors stops after that many errors (RFC 7644 §3.7.3).
    let response = server
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "dup",
                     "data": {"schemas": [USER], "userName": "alice"}},
                    {"method": "POST", "path": "/Users", "bulkId": "never",
                     "data": {"schemas": [USER], "userName": "never-created"}}
                ]
            }),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let ops = body["Operations"].as_array().cloned().unwrap_or_default();
    assert_eq!(ops.len(), 1, "processing stops at the first error: {body}");
    assert_eq!(ops[0]["status"], json!("409"), "{body}");
    assert_eq!(
        ops[0]["response"]["scimType"],
        json!("uniqueness"),
        "{body}"
    );
    let filter = enc("userName eq \"never-created\"");
    list_resources(
        &server
            .get(&format!("/Users?filter={filter}"))
            .await
            .scim_json(),
        0,
    );

    // Not a BulkRequest.
    server
        .post("/Bulk", &json!({"schemas": [USER], "Operations": []}))
        .await
        .expect_status(400);
}

async fn bulk_revokes_in_one_batch(server: &TestServer) {
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(id_of(
            &server.create_user(&format!("leaver-{n}@example.com")).await,
        ));
    }
    let operations: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "method": "PATCH",
                "path": format!("/Users/{id}"),
                "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}
            })
        })
        .collect();
    let response = server
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "Operations": operations}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let ops = body["Operations"].as_array().cloned().unwrap_or_default();
    assert_eq!(ops.len(), 3, "{body}");
    for op in &ops {
        assert!(matches!(op["status"].as_str(), Some("200" | "204")), "{op}");
    }
    let revocations = server.revocations();
    assert_eq!(revocations.len(), 1, "one batch: {revocations:?}");
    assert_eq!(revocations[0].tenant, "a");
    assert_eq!(revocations[0].reason, "deactivated");
    assert_eq!(
        revocations[0].ids.iter().cloned().collect::<BTreeSet<_>>(),
        ids.iter().cloned().collect::<BTreeSet<_>>()
    );
    for id in &ids {
        let user = server.get(&format!("/Users/{id}")).await.scim_json();
        assert_eq!(user["active"], json!(false), "{user}");
    }

    // Bulk DELETE of the same users: one `deleted` batch.
    let operations: Vec<Value> = ids
        .iter()
        .map(|id| json!({"method": "DELETE", "path": format!("/Users/{id}")}))
        .collect();
    let response = server
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "Operations": operations}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    for op in body["Operations"].as_array().cloned().unwrap_or_default() {
        assert_eq!(op["status"], json!("204"), "{op}");
    }
    let revocations = server.revocations();
    assert_eq!(revocations.len(), 2, "{revocations:?}");
    assert_eq!(revocations[1].reason, "deleted");
    assert_eq!(
        revocations[1].ids.iter().cloned().collect::<BTreeSet<_>>(),
        ids.iter().cloned().collect::<BTreeSet<_>>()
    );
}

// ---------------------------------------------------------------------------------------
// 8. authentication (RFC 7644 §2, RFC 6750)

async fn authentication(server: &TestServer) {
    let check_401 = |response: scim_tests::Response| {
        response.expect_error(401, None);
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer"),
            "WWW-Authenticate: {challenge:?} in {response:?}"
        );
    };

    check_401(send(server.request_as(None, Method::GET, "/Users")).await);
    check_401(send(server.request_as(Some("wrong-token"), Method::GET, "/Users")).await);
    check_401(
        send(
            server
                .request_as(None, Method::GET, "/Users")
                .header("authorization", "Basic dG9rZW4tYTp4"),
        )
        .await,
    );
    check_401(
        send(
            server
                .request_as(None, Method::GET, "/Users")
                .header("authorization", "Bearer"),
        )
        .await,
    );
    // An unauthenticated create creates nothing.
    check_401(
        send(
            server
                .request_as(None, Method::POST, "/Users")
                .header("content-type", SCIM_JSON)
                .body(json!({"schemas": [USER], "userName": "intruder"}).to_string()),
        )
        .await,
    );
    // An unauthenticated bulk too.
    check_401(
        send(
            server
                .request_as(None, Method::POST, "/Bulk")
                .header("content-type", SCIM_JSON)
                .body(json!({"schemas": [BULK_REQUEST], "Operations": []}).to_string()),
        )
        .await,
    );

    // Scheme is case-insensitive.
    let response = send(
        server
            .request_as(None, Method::GET, "/Users")
            .header("authorization", format!("bearer {TOKEN_A}")),
    )
    .await;
    response.expect_status(200);
    list_resources(&response.scim_json(), 0);

    // Rotation: the second live token of tenant a sees the same tenant.
    server.create_user("rotation@example.com").await;
    let body = server.get_as(TOKEN_A2, "/Users").await.scim_json();
    assert_eq!(
        user_names(&list_resources(&body, 1)),
        ["rotation@example.com"]
    );
    // Remove the old token: it stops working at once, the new one keeps working.
    assert!(server.auth.remove_token(TOKEN_A));
    check_401(send(server.request(Method::GET, "/Users")).await);
    server.get_as(TOKEN_A2, "/Users").await.expect_status(200);
    // A token added at runtime works.
    server.auth.add_token("a", "idp-a-3", "token-a3");
    let body = server.get_as("token-a3", "/Users").await.scim_json();
    list_resources(&body, 1);
}

// ---------------------------------------------------------------------------------------
// 9. tenant isolation (RFC 7644 §6)

async fn tenant_isolation(server: &TestServer) {
    let user = server.create_user("shared@example.com").await;
    let id = id_of(&user);
    let group_id = id_of(&server.create_group("A Group", &[&id]).await);

    server
        .get_as(TOKEN_B, &format!("/Users/{id}"))
        .await
        .expect_error(404, None);
    server
        .get_as(TOKEN_B, &format!("/Groups/{group_id}"))
        .await
        .expect_error(404, None);
    let body = server.get_as(TOKEN_B, "/Users").await.scim_json();
    list_resources(&body, 0);
    let body = server.get_as(TOKEN_B, "/Groups").await.scim_json();
    list_resources(&body, 0);
    let filter = enc("userName eq \"shared@example.com\"");
    let body = server
        .get_as(TOKEN_B, &format!("/Users?filter={filter}"))
        .await
        .scim_json();
    list_resources(&body, 0);
    // Tenant b can neither change nor delete tenant a's user.
    let response = send(
        server
            .request_as(Some(TOKEN_B), Method::PATCH, &format!("/Users/{id}"))
            .header("content-type", SCIM_JSON)
            .body(scim_tests::patch_op(deactivate()).to_string()),
    )
    .await;
    response.expect_error(404, None);
    send(server.request_as(Some(TOKEN_B), Method::DELETE, &format!("/Users/{id}")))
        .await
        .expect_error(404, None);
    // Nothing is revoked in tenant a. (A DELETE answering 404 still revokes the id in the
    // caller's own tenant, so that an IdP retrying a DELETE whose revocation failed
    // completes it; that call carries tenant b and must be scoped to it by the host.)
    let revocations = server.revocations();
    assert!(
        revocations.iter().all(|r| r.tenant == "b"),
        "tenant b's requests revoke nothing in tenant a: {revocations:?}"
    );
    assert!(
        revocations.iter().all(|r| r.reason == "deleted"),
        "tenant b's PATCH of tenant a's user deactivates nothing: {revocations:?}"
    );
    let before = revocations.len();

    // The same userName is free in tenant b.
    let response = server
        .post_as(
            TOKEN_B,
            "/Users",
            &json!({"schemas": [USER], "userName": "shared@example.com"}),
        )
        .await;
    response.expect_status(201);
    let b_id = id_of(&response.scim_json());
    assert_ne!(b_id, id);

    // Each tenant sees only its own.
    let body = server.get("/Users").await.scim_json();
    assert_eq!(
        as_str_set(&Value::Array(list_resources(&body, 1)), "id"),
        BTreeSet::from([id.clone()])
    );
    let body = server.get_as(TOKEN_B, "/Users").await.scim_json();
    assert_eq!(
        as_str_set(&Value::Array(list_resources(&body, 1)), "id"),
        BTreeSet::from([b_id.clone()])
    );
    let user = server.get(&format!("/Users/{id}")).await.scim_json();
    assert_eq!(user["active"], json!(true), "untouched by tenant b: {user}");

    // A tenant-b group naming tenant a's user id never shows up in tenant a.
    let response = server
        .post_as(
            TOKEN_B,
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "B's", "members": [{"value": id}]}),
        )
        .await;
    if response.status == 201 {
        let user = server.get(&format!("/Users/{id}")).await.scim_json();
        assert_eq!(
            as_str_set(&user["groups"], "value"),
            BTreeSet::from([group_id.clone()]),
            "only tenant a's group: {user}"
        );
        let body = server.get("/Groups").await.scim_json();
        list_resources(&body, 1);
        let b_group = id_of(&response.scim_json());
        send(server.request_as(Some(TOKEN_B), Method::DELETE, &format!("/Groups/{b_group}")))
            .await
            .expect_status(204);
    } else {
        response.expect_error(400, Some("invalidValue"));
    }

    // Root .search is per tenant too.
    let response = server
        .post_as(TOKEN_B, "/.search", &json!({"schemas": [SEARCH_REQUEST]}))
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(
        as_str_set(&Value::Array(list_resources(&body, 1)), "id"),
        BTreeSet::from([b_id.clone()])
    );

    // Revocations carry the tenant.
    let response = send(
        server
            .request_as(Some(TOKEN_B), Method::PATCH, &format!("/Users/{b_id}"))
            .header("content-type", SCIM_JSON)
            .body(scim_tests::patch_op(deactivate()).to_string()),
    )
    .await;
    response.expect_status(200);
    assert_eq!(
        server.revocations()[before..],
        [Revocation {
            tenant: "b".into(),
            ids: vec![b_id],
            reason: "deactivated".into()
        }]
    );
}

// ---------------------------------------------------------------------------------------
// 10. revocation failure: 503, then a retry completes the revocation

async fn revocation_failure_then_retry(server: &TestServer) {
    let id = id_of(&server.create_user("fragile@example.com").await);
    let path = format!("/Users/{id}");

    server.fail_revocations(true);
    let response = server.patch(&path, deactivate(), None).await;
    response.expect_error(503, None);
    assert!(server.revocations().is_empty());
    assert!(
        server
            .revoker
            .failed_calls
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1
    );

    server.fail_revocations(false);
    let response = server.patch(&path, deactivate(), None).await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["active"], json!(false));
    assert_eq!(
        server.revocations(),
        [Revocation {
            tenant: "a".into(),
            ids: vec![id.clone()],
            reason: "deactivated".into()
        }]
    );

    // DELETE whose revocation fails: the retry must still complete the revocation.
    let id2 = id_of(&server.create_user("fragile-2@example.com").await);
    let path2 = format!("/Users/{id2}");
    server.fail_revocations(true);
    server.delete(&path2, None).await.expect_error(503, None);
    server.fail_revocations(false);
    let retry = server.delete(&path2, None).await;
    assert!(
        matches!(retry.status, 204 | 404),
        "retried DELETE: {retry:?}"
    );
    assert!(
        server.revocations().contains(&Revocation {
            tenant: "a".into(),
            ids: vec![id2.clone()],
            reason: "deleted".into()
        }),
        "the retried DELETE revoked {id2}: {:?}",
        server.revocations()
    );
    server.get(&path2).await.expect_error(404, None);
}

// ---------------------------------------------------------------------------------------
// 11. mounting next to host routes

async fn mounting(server: &TestServer) {
    let response = send(server.host_request(Method::GET, "/health")).await;
    response.expect_status(200);
    assert_eq!(response.text, "ok");

    // SCIM answers only under /scim/v2.
    let response = send(
        server
            .host_request(Method::GET, "/Users")
            .header("authorization", format!("Bearer {TOKEN_A}")),
    )
    .await;
    response.expect_status(404);
    assert!(
        !response
            .header("content-type")
            .unwrap_or_default()
            .starts_with(SCIM_JSON),
        "the host's 404, not SCIM's: {response:?}"
    );
    let response = send(
        server
            .host_request(Method::GET, "/scim/v2/ServiceProviderConfig")
            .header("authorization", format!("Bearer {TOKEN_A}")),
    )
    .await;
    response.expect_status(200);

    // URLs the engine reports carry the mount path.
    let created = server
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "mounted@example.com"}),
        )
        .await;
    created.expect_status(201);
    let id = id_of(&created.scim_json());
    assert_eq!(
        created.header("location"),
        Some(format!("{}/scim/v2/Users/{id}", server.root))
    );

    // A query string does not confuse routing.
    let response = server
        .get(&format!("/Users/{id}?attributes=userName"))
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(body["userName"], json!("mounted@example.com"));
    assert!(body.get("active").is_none(), "{body}");
}

/// RFC 3986 §2.1: a percent-encoded path is equivalent to the decoded one; `ScimRequest.path`
/// is documented as percent-decoded. IdPs encode the `:` of schema URNs.
async fn percent_encoded_path(server: &TestServer) {
    // A percent-encoded path segment is decoded before routing.
    let encoded = USER.replace(':', "%3A");
    let response = server.get(&format!("/Schemas/{encoded}")).await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["id"], json!(USER));
    let id = id_of(&server.create_user("encoded@example.com").await);
    let response = server
        .get(&format!("/Users/{}", id.replace('-', "%2D")))
        .await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["id"], json!(id));
}

async fn mount_root_trailing_slash(server: &TestServer) {
    server.create_user("root@example.com").await;
    // The mount root answers the same with and without a trailing slash (GET on the
    // service root is a query over all resource types, RFC 7644 §3.4.2.1).
    let without = server.get("").await;
    without.expect_status(200);
    let with = server.get("/").await;
    with.expect_status(200);
    assert_eq!(with.scim_json(), without.scim_json());
}

// ---------------------------------------------------------------------------------------
// Smaller protocol details

async fn protocol_details(server: &TestServer) {
    // A client-sent `id` and `meta` are ignored on create (readOnly, RFC 7643 §3.1).
    let response = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER],
                "id": "client-chosen",
                "meta": {"resourceType": "Group", "version": "W/\"x\""},
                "userName": "alpha"
            }),
        )
        .await;
    response.expect_status(201);
    let alpha = response.scim_json();
    assert_ne!(alpha["id"], json!("client-chosen"), "{alpha}");
    assert_eq!(alpha["meta"]["resourceType"], json!("User"), "{alpha}");
    assert_ne!(alpha["meta"]["version"], json!("W/\"x\""), "{alpha}");
    server
        .get("/Users/client-chosen")
        .await
        .expect_error(404, None);

    // `attributes` applies to the resource a POST returns (RFC 7644 §3.9).
    let response = server
        .post(
            "/Users?attributes=userName",
            &json!({"schemas": [USER], "userName": "Bravo", "displayName": "B"}),
        )
        .await;
    response.expect_status(201);
    let bravo = response.scim_json();
    assert!(bravo.get("displayName").is_none(), "{bravo}");
    assert_eq!(bravo["userName"], json!("Bravo"));
    assert!(bravo["id"].is_string(), "{bravo}");
    server.create_user("charlie").await;

    // Sorting a caseExact=false attribute ignores case (RFC 7644 §3.4.2.3).
    let body = server.get("/Users?sortBy=userName").await.scim_json();
    assert_eq!(
        user_names(&list_resources(&body, 3)),
        ["alpha", "Bravo", "charlie"]
    );
    let body = server
        .get("/Users?sortBy=userName&sortOrder=descending")
        .await
        .scim_json();
    assert_eq!(
        user_names(&list_resources(&body, 3)),
        ["charlie", "Bravo", "alpha"]
    );

    // A negative count is read as 0 (RFC 7644 §3.4.2.4).
    let body = server.get("/Users?count=-5").await.scim_json();
    assert!(list_resources(&body, 3).is_empty(), "{body}");

    // Comparing dateTime attributes.
    let filter = enc("meta.lastModified gt \"2000-01-01T00:00:00Z\"");
    let body = server
        .get(&format!("/Users?filter={filter}"))
        .await
        .scim_json();
    list_resources(&body, 3);
    let filter = enc("meta.created lt \"2000-01-01T00:00:00Z\"");
    let body = server
        .get(&format!("/Users?filter={filter}"))
        .await
        .scim_json();
    list_resources(&body, 0);

    // Renaming onto a taken userName (any case) is 409 uniqueness, for PATCH and PUT.
    let alpha_path = format!("/Users/{}", id_of(&alpha));
    server
        .patch(
            &alpha_path,
            json!([{"op": "replace", "path": "userName", "value": "BRAVO"}]),
            None,
        )
        .await
        .expect_error(409, Some("uniqueness"));
    server
        .put(
            &alpha_path,
            &json!({"schemas": [USER], "userName": "CHARLIE"}),
            None,
        )
        .await
        .expect_error(409, Some("uniqueness"));
    // Renaming to a case variant of its own name is fine.
    let response = server
        .patch(
            &alpha_path,
            json!([{"op": "replace", "path": "userName", "value": "Alpha"}]),
            None,
        )
        .await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["userName"], json!("Alpha"));

    // Reactivation revokes nothing.
    server
        .patch(&alpha_path, deactivate(), None)
        .await
        .expect_status(200);
    let response = server
        .patch(
            &alpha_path,
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
            None,
        )
        .await;
    response.expect_status(200);
    assert_eq!(response.scim_json()["active"], json!(true));
    assert_eq!(server.revocations().len(), 1, "{:?}", server.revocations());
}

// ---------------------------------------------------------------------------------------
// PUT replace (RFC 7644 §3.5.1)

async fn put_replace(server: &TestServer) {
    let created = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER],
                "userName": "put@example.com",
                "displayName": "Before",
                "emails": [{"value": "put@example.com", "type": "work"}],
                "active": true
            }),
        )
        .await;
    created.expect_status(201);
    let user = created.scim_json();
    let id = id_of(&user);
    let path = format!("/Users/{id}");

    let response = server
        .put(
            &path,
            &json!({
                "schemas": [USER, ENTERPRISE],
                "id": id,
                "userName": "put@example.com",
                "name": {"givenName": "Pat"},
                "active": true,
                ENTERPRISE: {"department": "R&D"}
            }),
            Some(&created.etag()),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["name"]["givenName"], json!("Pat"));
    assert_eq!(body[ENTERPRISE]["department"], json!("R&D"));
    assert!(body.get("displayName").is_none(), "replaced away: {body}");
    assert!(body.get("emails").is_none(), "replaced away: {body}");
    assert_eq!(body["meta"]["created"], user["meta"]["created"], "{body}");
    let stored = server.get(&path).await.scim_json();
    assert_eq!(stored, body);

    // PUT with active=false revokes.
    let response = server
        .put(
            &path,
            &json!({"schemas": [USER], "userName": "put@example.com", "active": false}),
            None,
        )
        .await;
    response.expect_status(200);
    assert_eq!(
        server.revocations(),
        [Revocation {
            tenant: "a".into(),
            ids: vec![id.clone()],
            reason: "deactivated".into()
        }]
    );

    // PUT to an unknown id is 404; PUT without userName is 400.
    server
        .put(
            "/Users/no-such-id",
            &json!({"schemas": [USER], "userName": "ghost"}),
            None,
        )
        .await
        .expect_error(404, None);
    server
        .put(&path, &json!({"schemas": [USER], "displayName": "x"}), None)
        .await
        .expect_error(400, Some("invalidValue"));
}

// ---------------------------------------------------------------------------------------
// `returned` characteristics (RFC 7643 §2.2, §7; RFC 7644 §3.4.2.5)

async fn returned_characteristics(server: &TestServer) {
    let created = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "secret@example.com",
                "password": "t1meMa$heen",
                "displayName": "Secret",
                ENTERPRISE: {"department": "Vault", "costCenter": "4130"}
            }),
        )
        .await;
    created.expect_status(201);
    let user = created.scim_json();
    let id = id_of(&user);
    assert!(
        user.get("password").is_none(),
        "password is returned never: {user}"
    );
    let path = format!("/Users/{id}");
    let stored = server.get(&path).await.scim_json();
    assert!(stored.get("password").is_none(), "{stored}");
    // Not even when asked for.
    let asked = server
        .get(&format!("{path}?attributes=password,userName"))
        .await
        .scim_json();
    assert!(asked.get("password").is_none(), "{asked}");
    assert_eq!(asked["userName"], json!("secret@example.com"));
    assert_eq!(asked["id"], json!(id), "id is returned always: {asked}");
    // PATCHing the password answers without it.
    let response = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "password", "value": "n3w-Pa$$"}]),
            None,
        )
        .await;
    response.expect_status(200);
    assert!(response.scim_json().get("password").is_none());

    // `attributes` with a URN-qualified extension attribute.
    let attr = enc(&format!("{ENTERPRISE}:department"));
    let body = server
        .get(&format!("{path}?attributes={attr}"))
        .await
        .scim_json();
    assert_eq!(body[ENTERPRISE]["department"], json!("Vault"), "{body}");
    assert!(body[ENTERPRISE].get("costCenter").is_none(), "{body}");
    assert!(body.get("userName").is_none(), "{body}");
    assert_eq!(body["id"], json!(id));

    // `excludedAttributes` cannot remove `id` (returned always).
    let body = server
        .get(&format!("{path}?excludedAttributes=id,displayName"))
        .await
        .scim_json();
    assert_eq!(body["id"], json!(id), "{body}");
    assert!(body.get("displayName").is_none(), "{body}");
    assert_eq!(body["userName"], json!("secret@example.com"));
}

// ---------------------------------------------------------------------------------------
// filters (RFC 7644 §3.4.2.2) as IdPs send them

async fn filters(server: &TestServer) {
    let mut ids = Vec::new();
    for (n, (dept, active, email_type)) in [
        ("Sales", true, "work"),
        ("Sales", false, "home"),
        ("R&D", true, "work"),
    ]
    .into_iter()
    .enumerate()
    {
        let response = server
            .post(
                "/Users",
                &json!({
                    "schemas": [USER, ENTERPRISE],
                    "userName": format!("f{n}@example.com"),
                    "externalId": format!("EXT-{n}"),
                    "active": active,
                    "emails": [{"value": format!("f{n}@{email_type}.example.com"), "type": email_type}],
                    ENTERPRISE: {"department": dept}
                }),
            )
            .await;
        response.expect_status(201);
        ids.push(id_of(&response.scim_json()));
    }
    let names = |path: String| async move {
        let response = server.get(&path).await;
        response.expect_status(200);
        let body = response.scim_json();
        let total = body["totalResults"].as_u64().unwrap_or(u64::MAX);
        let mut names = user_names(&list_resources(&body, total));
        names.sort();
        names
    };
    let q = |filter: &str| format!("/Users?filter={}", enc(filter));

    assert_eq!(
        names(q(&format!("{ENTERPRISE}:department eq \"Sales\""))).await,
        ["f0@example.com", "f1@example.com"]
    );
    assert_eq!(names(q("active eq false")).await, ["f1@example.com"]);
    assert_eq!(
        names(q("emails[type eq \"work\" and value co \"f2\"]")).await,
        ["f2@example.com"]
    );
    assert_eq!(
        names(q(
            "emails.type eq \"home\" or userName eq \"F0@EXAMPLE.COM\""
        ))
        .await,
        ["f0@example.com", "f1@example.com"]
    );
    // externalId is caseExact (RFC 7643 §3.1).
    assert_eq!(
        names(q("externalId eq \"EXT-1\"")).await,
        ["f1@example.com"]
    );
    assert!(names(q("externalId eq \"ext-1\"")).await.is_empty());
    assert_eq!(names(q("title pr")).await, Vec::<String>::new());
    assert_eq!(
        names(q("externalId pr and not (active eq true)")).await,
        ["f1@example.com"]
    );
    assert_eq!(
        names(q(&format!("id eq \"{}\"", ids[2]))).await,
        ["f2@example.com"]
    );

    // Entra's membership check.
    let group_id = id_of(&server.create_group("Sales Team", &[&ids[0], &ids[1]]).await);
    let filter = enc(&format!(
        "id eq \"{group_id}\" and members[value eq \"{}\"]",
        ids[1]
    ));
    let body = server
        .get(&format!(
            "/Groups?filter={filter}&excludedAttributes=members"
        ))
        .await
        .scim_json();
    let found = list_resources(&body, 1);
    assert_eq!(found[0]["id"], json!(group_id));
    assert!(found[0].get("members").is_none(), "{body}");
    let filter = enc(&format!(
        "id eq \"{group_id}\" and members[value eq \"{}\"]",
        ids[2]
    ));
    let body = server
        .get(&format!("/Groups?filter={filter}"))
        .await
        .scim_json();
    list_resources(&body, 0);
    let filter = enc("displayName eq \"sales team\"");
    let body = server
        .get(&format!("/Groups?filter={filter}"))
        .await
        .scim_json();
    list_resources(&body, 1);

    // Unknown attributes in a filter match nothing or are refused; they are never ignored.
    let response = server.get(&q("nosuchattribute eq \"x\"")).await;
    match response.status {
        200 => {
            list_resources(&response.scim_json(), 0);
        }
        _ => {
            response.expect_error(400, Some("invalidFilter"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// PATCH on multi-valued attributes (RFC 7644 §3.5.2, RFC 7643 §2.4)

async fn multi_valued_patch(server: &TestServer) {
    let created = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER],
                "userName": "multi@example.com",
                "emails": [{"value": "old@work.example.com", "type": "work", "primary": true}]
            }),
        )
        .await;
    created.expect_status(201);
    let id = id_of(&created.scim_json());
    let path = format!("/Users/{id}");

    // add appends; a new primary clears the old one ("primary" true at most once).
    let response = server
        .patch(
            &path,
            json!([{"op": "add", "path": "emails", "value": [{"value": "me@home.example.com", "type": "home", "primary": true}]}]),
            None,
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let emails = body["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 2, "{body}");
    let primaries: Vec<&Value> = emails
        .iter()
        .filter(|e| e["primary"] == json!(true))
        .collect();
    assert_eq!(primaries.len(), 1, "one primary: {body}");
    assert_eq!(primaries[0]["value"], json!("me@home.example.com"));

    // replace a sub-attribute through a value filter.
    let response = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example.com"}]),
            None,
        )
        .await;
    response.expect_status(200);
    let body = server.get(&path).await.scim_json();
    assert_eq!(
        as_str_set(&body["emails"], "value"),
        BTreeSet::from([
            "new@work.example.com".to_owned(),
            "me@home.example.com".to_owned()
        ]),
        "{body}"
    );

    // path-less add of a complex value; path-less replace of another attribute.
    let response = server
        .patch(
            &path,
            json!([
                {"op": "add", "value": {"name": {"givenName": "Multi"}, "title": "Tester"}},
                {"op": "replace", "value": {"name": {"familyName": "Valued"}}}
            ]),
            None,
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(body["title"], json!("Tester"), "{body}");
    assert_eq!(body["name"]["familyName"], json!("Valued"), "{body}");
    // Whether a path-less `replace` of `name` keeps `name.givenName` is not settled by
    // RFC 7644 §3.5.2.3 (the engine replaces the named attribute whole); not asserted.

    // remove a whole attribute; all operations of a failing PATCH are undone.
    let response = server
        .patch(
            &path,
            json!([
                {"op": "remove", "path": "title"},
                {"op": "remove", "path": "emails[type eq \"other\"]"}
            ]),
            None,
        )
        .await;
    response.expect_error(400, Some("noTarget"));
    let body = server.get(&path).await.scim_json();
    assert_eq!(body["title"], json!("Tester"), "PATCH is atomic: {body}");
    let response = server
        .patch(&path, json!([{"op": "remove", "path": "title"}]), None)
        .await;
    response.expect_status(200);
    assert!(response.scim_json().get("title").is_none());

    // Entra: add to a work email that does not exist yet creates it.
    let response = server
        .patch(
            &path,
            json!([{"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"}]),
            None,
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(
        body["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555 0100"}]),
        "{body}"
    );

    // Group: a path-less add of members adds, it does not replace the list.
    let u1 = id_of(&server.create_user("pm1@example.com").await);
    let u2 = id_of(&server.create_user("pm2@example.com").await);
    let group_id = id_of(&server.create_group("PM", &[&u1]).await);
    let response = server
        .patch(
            &format!("/Groups/{group_id}"),
            json!([{"op": "add", "value": {"members": [{"value": u2}]}}]),
            None,
        )
        .await;
    assert!(matches!(response.status, 200 | 204), "{response:?}");
    let group = server.get(&format!("/Groups/{group_id}")).await.scim_json();
    assert_eq!(
        as_str_set(&group["members"], "value"),
        BTreeSet::from([u1, u2]),
        "{group}"
    );
}

// ---------------------------------------------------------------------------------------
// Groups: create, rename (Okta), PUT, delete (RFC 7643 §4.2)

async fn groups_lifecycle(server: &TestServer) {
    server
        .post("/Groups", &json!({"schemas": [GROUP]}))
        .await
        .expect_error(400, Some("invalidValue"));

    let u1 = id_of(&server.create_user("g1@example.com").await);
    let u2 = id_of(&server.create_user("g2@example.com").await);
    let group = server.create_group("Before", &[&u1]).await;
    let group_id = id_of(&group);
    let path = format!("/Groups/{group_id}");

    // Okta renames with a path-less replace that includes the read-only id.
    let response = server
        .patch(
            &path,
            json!([{"op": "replace", "value": {"id": group_id, "displayName": "After"}}]),
            None,
        )
        .await;
    assert!(matches!(response.status, 200 | 204), "{response:?}");
    let stored = server.get(&path).await.scim_json();
    assert_eq!(stored["displayName"], json!("After"));
    assert_eq!(stored["id"], json!(group_id));
    let user = server.get(&format!("/Users/{u1}")).await.scim_json();
    assert_eq!(user["groups"][0]["display"], json!("After"), "{user}");

    // PUT replaces the member list.
    let response = server
        .put(
            &path,
            &json!({"schemas": [GROUP], "displayName": "After", "members": [{"value": u2}]}),
            None,
        )
        .await;
    response.expect_status(200);
    let stored = server.get(&path).await.scim_json();
    assert_eq!(
        as_str_set(&stored["members"], "value"),
        BTreeSet::from([u2.clone()])
    );
    let user1 = server.get(&format!("/Users/{u1}")).await.scim_json();
    assert!(
        user1
            .get("groups")
            .is_none_or(|g| g.as_array().is_some_and(Vec::is_empty)),
        "{user1}"
    );

    // PATCH replace members with an empty list empties it.
    let response = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "members", "value": []}]),
            None,
        )
        .await;
    assert!(matches!(response.status, 200 | 204), "{response:?}");
    let stored = server.get(&path).await.scim_json();
    assert!(
        stored
            .get("members")
            .is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)),
        "{stored}"
    );

    // Deleting a group: 204, its members' `groups` no longer list it, no revocation.
    server
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": u1}]}]),
            None,
        )
        .await;
    server.delete(&path, None).await.expect_status(204);
    server.get(&path).await.expect_error(404, None);
    let user1 = server.get(&format!("/Users/{u1}")).await.scim_json();
    assert!(
        user1
            .get("groups")
            .is_none_or(|g| g.as_array().is_some_and(Vec::is_empty)),
        "{user1}"
    );
    assert!(
        server.revocations().is_empty(),
        "{:?}",
        server.revocations()
    );
}

// ---------------------------------------------------------------------------------------
// Bulk limits and versions (RFC 7644 §3.7.3, §3.7.4)

async fn bulk_limits_and_versions(server: &TestServer) {
    let config = server.get("/ServiceProviderConfig").await.scim_json();
    let max_operations = config["bulk"]["maxOperations"].as_u64().unwrap_or(0);
    assert!(max_operations > 0, "{config}");

    // More operations than maxOperations: 413 (RFC 7644 §3.7.4).
    let operations: Vec<Value> = (0..=max_operations)
        .map(|n| json!({"method": "DELETE", "path": format!("/Users/x{n}")}))
        .collect();
    let response = server
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "Operations": operations}),
        )
        .await;
    response.expect_error(413, None);

    // A stale `version` fails that operation with 412.
    let created = server
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "versioned"}),
        )
        .await;
    created.expect_status(201);
    let id = id_of(&created.scim_json());
    let etag = created.etag();
    let response = server
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "displayName", "value": "v2"}]),
            None,
        )
        .await;
    response.expect_status(200);
    let current = response.etag();
    let bulk_patch = |version: &str| {
        json!({
            "method": "PATCH",
            "path": format!("/Users/{id}"),
            "version": version,
            "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "bulk"}]}
        })
    };
    let response = server
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "Operations": [bulk_patch(&etag)]}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(body["Operations"][0]["status"], json!("412"), "{body}");
    let response = server
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "Operations": [bulk_patch(&current)]}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    assert_eq!(body["Operations"][0]["status"], json!("200"), "{body}");
    let user = server.get(&format!("/Users/{id}")).await.scim_json();
    assert_eq!(user["displayName"], json!("bulk"));

    // Errors inside a Bulk operation are SCIM errors with a string status.
    let response = server
        .post(
            "/Bulk",
            &json!({"schemas": [BULK_REQUEST], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER]}}
            ]}),
        )
        .await;
    response.expect_status(200);
    let body = response.scim_json();
    let op = &body["Operations"][0];
    assert_eq!(op["status"], json!("400"), "{body}");
    assert_eq!(op["response"]["scimType"], json!("invalidValue"), "{body}");
    assert_eq!(op["bulkId"], json!("bad"), "{body}");
}

// ---------------------------------------------------------------------------------------
// Concurrent writes through the adapter (RFC 7644 §3.14; store contract)

async fn concurrent_writes(server: &TestServer) {
    // Ten concurrent creates of one userName in different cases: exactly one wins.
    let mut tasks = Vec::new();
    for n in 0..10 {
        let request = server.with_body(
            Method::POST,
            "/Users",
            &json!({"schemas": [USER], "userName": if n % 2 == 0 { "Race@Example.com" } else { "race@example.COM" }}),
        );
        tasks.push(tokio::spawn(send(request)));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.expect("task");
        if response.status == 409 {
            response.expect_error(409, Some("uniqueness"));
        }
        statuses.push(response.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);

    // Ten concurrent PATCH adds without If-Match: none is lost.
    let id = id_of(&server.create_user("busy@example.com").await);
    let group_id = id_of(&server.create_group("Busy", &[]).await);
    let mut members = Vec::new();
    for n in 0..10 {
        members.push(id_of(
            &server.create_user(&format!("busy-{n}@example.com")).await,
        ));
    }
    let mut tasks = Vec::new();
    for (n, member) in members.iter().enumerate() {
        let user_patch = server.with_body(
            Method::PATCH,
            &format!("/Users/{id}"),
            &scim_tests::patch_op(json!([{"op": "add", "path": "emails", "value": [{"value": format!("e{n}@example.com")}]}])),
        );
        tasks.push(tokio::spawn(send(user_patch)));
        let group_patch = server.with_body(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            &scim_tests::patch_op(
                json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
            ),
        );
        tasks.push(tokio::spawn(send(group_patch)));
    }
    for task in tasks {
        let response = task.await.expect("task");
        assert!(matches!(response.status, 200 | 204), "{response:?}");
    }
    let user = server.get(&format!("/Users/{id}")).await.scim_json();
    assert_eq!(user["emails"].as_array().map(Vec::len), Some(10), "{user}");
    let group = server.get(&format!("/Groups/{group_id}")).await.scim_json();
    assert_eq!(
        as_str_set(&group["members"], "value"),
        members.into_iter().collect::<BTreeSet<_>>(),
        "{group}"
    );
}

// ---------------------------------------------------------------------------------------
// The adapters agree: one script, both adapters, normalized responses compared.

/// Sends `request`, records the response under `label` and returns it.
async fn step(
    server: &TestServer,
    transcript: &mut scim_tests::Transcript,
    label: &str,
    request: reqwest::RequestBuilder,
) -> scim_tests::Response {
    let response = send(request).await;
    transcript.record(server, label, &response);
    response
}

/// A script touching every endpoint, method and error path, including raw HTTP details
/// (trailing slashes, percent-encoding, HEAD/OPTIONS, the mount root) where two adapters
/// could differ.
async fn script(server: &TestServer) -> scim_tests::Transcript {
    let mut t = scim_tests::Transcript::new();
    let t = &mut t;
    let s = server;
    let body = |m: Method, path: &str, v: Value| s.with_body(m, path, &v);

    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/ResourceTypes/Nope",
        "/Users/",
        "/Users?count=0",
        "/NoSuchEndpoint",
        "/Users/a/b",
        "",
        "/",
    ] {
        step(s, t, &format!("GET {path}"), s.request(Method::GET, path)).await;
    }
    let encoded = format!("/Schemas/{}", USER.replace(':', "%3A"));
    step(
        s,
        t,
        "GET /Schemas/<encoded>",
        s.request(Method::GET, &encoded),
    )
    .await;
    step(
        s,
        t,
        "GET /Schemas/<user>",
        s.request(Method::GET, &format!("/Schemas/{USER}")),
    )
    .await;
    for method in [Method::HEAD, Method::OPTIONS] {
        step(
            s,
            t,
            &format!("{method} /Users"),
            s.request(method.clone(), "/Users"),
        )
        .await;
    }
    step(
        s,
        t,
        "POST /Schemas",
        body(Method::POST, "/Schemas", json!({})),
    )
    .await;
    step(
        s,
        t,
        "GET /Users no auth",
        s.request_as(None, Method::GET, "/Users"),
    )
    .await;
    step(
        s,
        t,
        "GET /Users bad auth",
        s.request_as(Some("nope"), Method::GET, "/Users"),
    )
    .await;

    let created = step(
        s,
        t,
        "POST /Users",
        body(
            Method::POST,
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "agree@example.com",
                "externalId": "ext-1",
                "name": {"givenName": "Ag", "familyName": "Ree"},
                "emails": [{"value": "agree@example.com", "type": "work", "primary": true}],
                ENTERPRISE: {"department": "Sales", "employeeNumber": "42"}
            }),
        ),
    )
    .await;
    let id = id_of(&created.json());
    let etag = created.etag();
    let user_path = format!("/Users/{id}");
    step(s, t, "GET user", s.request(Method::GET, &user_path)).await;
    step(
        s,
        t,
        "GET user 304",
        s.request(Method::GET, &user_path)
            .header("if-none-match", &etag),
    )
    .await;
    step(
        s,
        t,
        "GET user trailing slash",
        s.request(Method::GET, &format!("{user_path}/")),
    )
    .await;
    let group = step(
        s,
        t,
        "POST /Groups",
        body(
            Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": id}]}),
        ),
    )
    .await;
    let group_path = format!("/Groups/{}", id_of(&group.json()));
    step(s, t, "GET group", s.request(Method::GET, &group_path)).await;
    step(
        s,
        t,
        "GET user with groups",
        s.request(Method::GET, &user_path),
    )
    .await;
    step(
        s,
        t,
        "PATCH mover",
        body(
            Method::PATCH,
            &user_path,
            scim_tests::patch_op(json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Ops"}])),
        )
        .header("if-match", &etag),
    )
    .await;
    step(
        s,
        t,
        "PATCH stale",
        body(
            Method::PATCH,
            &user_path,
            scim_tests::patch_op(deactivate()),
        )
        .header("if-match", &etag),
    )
    .await;
    for (label, ops) in [
        (
            "PATCH invalidPath",
            json!([{"op": "remove", "path": "emails[type eq"}]),
        ),
        (
            "PATCH noTarget",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        ),
        (
            "PATCH mutability",
            json!([{"op": "replace", "path": "id", "value": "x"}]),
        ),
        (
            "PATCH entra",
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        ),
    ] {
        step(
            s,
            t,
            label,
            body(Method::PATCH, &user_path, scim_tests::patch_op(ops)),
        )
        .await;
    }
    let filter = enc("userName eq \"AGREE@example.com\"");
    step(
        s,
        t,
        "GET filter+attributes",
        s.request(
            Method::GET,
            &format!("/Users?filter={filter}&attributes=userName,externalId"),
        ),
    )
    .await;
    step(
        s,
        t,
        "GET bad filter",
        s.request(
            Method::GET,
            &format!("/Users?filter={}", enc("userName eq")),
        ),
    )
    .await;
    step(
        s,
        t,
        "POST /Users/.search",
        body(Method::POST, "/Users/.search", json!({"schemas": [SEARCH_REQUEST], "filter": "externalId eq \"ext-1\"", "attributes": ["externalId"]})),
    )
    .await;
    step(
        s,
        t,
        "POST /.search",
        body(Method::POST, "/.search", json!({"schemas": [SEARCH_REQUEST], "filter": "displayName eq \"G\"", "excludedAttributes": ["meta"]})),
    )
    .await;
    step(
        s,
        t,
        "POST malformed",
        s.request(Method::POST, "/Users")
            .header("content-type", SCIM_JSON)
            .body("{"),
    )
    .await;
    step(
        s,
        t,
        "POST text/plain",
        s.request(Method::POST, "/Users")
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    step(
        s,
        t,
        "POST no content-type",
        s.request(Method::POST, "/Users")
            .body(json!({"schemas": [USER], "userName": "raw"}).to_string()),
    )
    .await;
    step(
        s,
        t,
        "POST duplicate",
        body(
            Method::POST,
            "/Users",
            json!({"schemas": [USER], "userName": "AGREE@example.com"}),
        ),
    )
    .await;
    step(
        s,
        t,
        "POST too large",
        body(
            Method::POST,
            "/Users",
            json!({"schemas": [USER], "userName": "big", "displayName": "x".repeat(2 << 20)}),
        ),
    )
    .await;
    step(
        s,
        t,
        "POST /Bulk",
        body(
            Method::POST,
            "/Bulk",
            json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "bulk"}},
                    {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "BG", "members": [{"value": "bulkId:u"}]}},
                    {"method": "PATCH", "path": "/Users/bulkId:u", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
                    {"method": "DELETE", "path": "/Users/missing"}
                ]
            }),
        ),
    )
    .await;
    step(
        s,
        t,
        "PUT user",
        body(
            Method::PUT,
            &user_path,
            json!({"schemas": [USER], "userName": "agree@example.com", "active": true}),
        ),
    )
    .await;
    step(s, t, "DELETE user", s.request(Method::DELETE, &user_path)).await;
    step(s, t, "GET deleted user", s.request(Method::GET, &user_path)).await;
    step(
        s,
        t,
        "GET group after delete",
        s.request(Method::GET, &group_path),
    )
    .await;
    step(
        s,
        t,
        "GET /Users sorted",
        s.request(Method::GET, "/Users?sortBy=userName&sortOrder=descending"),
    )
    .await;
    step(
        s,
        t,
        "GET /Users as b",
        s.request_as(Some(TOKEN_B), Method::GET, "/Users"),
    )
    .await;
    t.entries.push(json!({"revocations": s.revocations().iter().map(|r| json!([r.tenant, r.ids.len(), r.reason])).collect::<Vec<_>>()}));
    std::mem::take(t)
}

/// The script against every store (through axum) gives the same transcript as against
/// `MemoryStore`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_agree() {
    let reference = script(&scim_tests::start_axum().await).await;
    for (name, store) in [
        ("TinyStore", scim_tests::stores::tiny().await),
        (
            "RequiredOnly(MemoryStore)",
            scim_tests::stores::memory_required_only().await,
        ),
        (
            "RequiredOnly(TinyStore)",
            scim_tests::stores::tiny_required_only().await,
        ),
        ("SqlStore(SQLite)", scim_tests::stores::sqlite().await),
        ("SqlStore(PostgreSQL)", scim_tests::stores::postgres().await),
    ] {
        let Some(store) = store else { continue };
        let other = script(&scim_tests::start_axum_with(store).await).await;
        assert_eq!(reference.entries.len(), other.entries.len(), "{name}");
        for (a, b) in reference.entries.iter().zip(&other.entries) {
            assert_eq!(a, b, "MemoryStore vs {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_agree() {
    let axum = scim_tests::start_axum().await;
    let actix = scim_tests::start_actix().await;
    let from_axum = script(&axum).await;
    let from_actix = script(&actix).await;
    if std::env::var_os("SCIM_TESTS_DUMP").is_some() {
        for entry in &from_axum.entries {
            println!("{entry}");
        }
    }
    let mut differences = Vec::new();
    for (a, b) in from_axum.entries.iter().zip(&from_actix.entries) {
        if a != b {
            differences.push(format!(
                "axum:  {}\nactix: {}",
                serde_json::to_string(a).unwrap_or_default(),
                serde_json::to_string(b).unwrap_or_default()
            ));
        }
    }
    assert_eq!(from_axum.entries.len(), from_actix.entries.len());
    assert!(
        differences.is_empty(),
        "{} responses differ between the adapters:\n{}",
        differences.len(),
        differences.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------
// IdP compatibility and strictness (issue 10): every real IdP request accepted, every
// malformed one refused with nothing changed, per-client profiles.

/// `POST /ServiceProviderConfig` (and any method but GET on the discovery endpoints) is 405
/// with a SCIM error and `Allow: GET`, before the body is looked at: a broken body does not
/// turn it into a 400.
async fn discovery_writes_are_405(server: &TestServer) {
    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        "/ResourceTypes",
        "/ResourceTypes/User",
    ] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            for body in ["{not json", "{\"schemas\": []}"] {
                let response = send(
                    server
                        .request(method.clone(), path)
                        .header("content-type", SCIM_JSON)
                        .body(body),
                )
                .await;
                response.expect_error(405, None);
                assert_eq!(
                    response.header("allow").as_deref(),
                    Some("GET"),
                    "{method} {path}"
                );
            }
        }
    }
    let response = server.get("/ServiceProviderConfig").await;
    response.expect_status(200);
}

/// RFC 7643 §3: `schemas` is REQUIRED. POST and PUT of Users and Groups without it, with
/// it empty, null, not an array, or without the core URN: 400 and nothing stored.
async fn schemas_are_required(server: &TestServer) {
    let user = server.create_user("schemas-kept").await;
    let group = server.create_group("Schemas kept", &[]).await;
    let (user_path, group_path) = (
        format!("/Users/{}", id_of(&user)),
        format!("/Groups/{}", id_of(&group)),
    );
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("missing", None),
        ("null", Some(Value::Null)),
        ("empty", Some(json!([]))),
        ("a string", Some(json!(USER))),
        ("an object", Some(json!({"0": USER}))),
        ("the other core URN", Some(json!([GROUP]))),
        ("only an extension", Some(json!([ENTERPRISE]))),
    ];
    for (what, schemas) in &cases {
        let mut new_user = json!({"userName": format!("no-schemas-{what}")});
        let mut new_group = json!({"displayName": format!("No schemas {what}")});
        if let Some(schemas) = schemas {
            new_user["schemas"] = schemas.clone();
            // The "other core URN" for a Group is the User's.
            new_group["schemas"] = if schemas == &json!([GROUP]) {
                json!([USER])
            } else {
                schemas.clone()
            };
        }
        let body = server.post("/Users", &new_user).await.expect_refused(400);
        assert!(
            body["detail"].as_str().unwrap().contains("schemas"),
            "{what}: {body}"
        );
        server.post("/Groups", &new_group).await.expect_refused(400);
        server
            .put(&user_path, &new_user, None)
            .await
            .expect_refused(400);
        server
            .put(&group_path, &new_group, None)
            .await
            .expect_refused(400);
    }
    let listed = server.get("/Users").await.scim_json();
    assert_eq!(listed["totalResults"], 1, "{listed}");
    let listed = server.get("/Groups").await.scim_json();
    assert_eq!(listed["totalResults"], 1, "{listed}");
    let got = server.get(&user_path).await.scim_json();
    assert_eq!(got["userName"], "schemas-kept");
}

/// Extra URNs without data are accepted (Entra's custom-extension URN on groups, the legacy
/// 1.0 core URN), `meta` from the client is ignored; an unknown URN with attributes is 400.
async fn extra_schema_urns_without_data(server: &TestServer) {
    let created = server
        .post(
            "/Groups",
            &json!({
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "Entra group",
                "meta": {"resourceType": "Group", "created": "2001-01-01T00:00:00Z"}
            }),
        )
        .await;
    created.expect_status(201);
    let group = created.scim_json();
    assert_eq!(group["schemas"], json!([GROUP]));
    assert_ne!(group["meta"]["created"], "2001-01-01T00:00:00Z");
    let created = server
        .post(
            "/Users",
            &json!({"schemas": ["urn:scim:schemas:core:1.0", USER], "userName": "legacy-urn"}),
        )
        .await;
    created.expect_status(201);
    let body = server
        .post(
            "/Users",
            &json!({
                "schemas": [USER, "urn:example:unknown:2.0:User"],
                "userName": "unknown-data",
                "urn:example:unknown:2.0:User": {"colour": "green"}
            }),
        )
        .await
        .expect_refused(400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("urn:example:unknown"),
        "{body}"
    );
    let found = server
        .get("/Users?filter=userName%20eq%20%22unknown-data%22")
        .await
        .scim_json();
    assert_eq!(found["totalResults"], 0);
}

/// RFC 7643 §2.4: `"emails": {…}` instead of `[{…}]` is 400 `invalidValue` naming the
/// attribute, on POST, PUT and in a path-less PATCH; a client whose profile names
/// `multi_valued_object_as_array` (here `lenient`) gets a one-element array.
async fn multi_valued_attributes_need_arrays(server: &TestServer) {
    let single = json!({"value": "b@example.com", "type": "work"});
    let body = server
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "single-email", "emails": single}),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(
        body["detail"].as_str().unwrap().contains("`emails`"),
        "{body}"
    );
    let user = server.create_user("array-emails").await;
    let path = format!("/Users/{}", id_of(&user));
    server
        .put(&path, &json!({"schemas": [USER], "userName": "array-emails", "phoneNumbers": {"value": "+1 555"}}), None)
        .await
        .expect_error(400, Some("invalidValue"));
    server
        .patch(
            &path,
            json!([{"op": "add", "value": {"emails": single}}]),
            None,
        )
        .await
        .expect_error(400, Some("invalidValue"));
    let group = server.create_group("Single member", &[]).await;
    server
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "G", "members": {"value": id_of(&user)}}),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    let got = server.get(&path).await.scim_json();
    assert!(
        got.get("emails").is_none() && got.get("phoneNumbers").is_none(),
        "{got}"
    );
    // RFC 7644 §3.5.2.1: a path naming the attribute may add one value alone.
    let added = server
        .patch(
            &path,
            json!([{"op": "add", "path": "emails", "value": single}]),
            None,
        )
        .await;
    added.expect_status(200);
    assert_eq!(added.scim_json()["emails"][0]["value"], "b@example.com");
    let lenient = server
        .send_as(
            scim_tests::TOKEN_LENIENT,
            Method::POST,
            "/Users",
            &json!({"schemas": [USER], "userName": "lenient-email", "emails": single}),
        )
        .await;
    lenient.expect_status(201);
    assert_eq!(lenient.scim_json()["emails"], json!([single]));
    let _ = group;
}

/// RFC 7644 §3.5.2: `"Operations": []` is 400 under the default and strict profiles and a
/// no-op for a client whose profile names `empty_patch_operations` (`lenient`).
async fn empty_operations_are_refused(server: &TestServer) {
    let user = server.create_user("empty-ops").await;
    let path = format!("/Users/{}", id_of(&user));
    let body = json!({"schemas": [PATCH_OP], "Operations": []});
    for token in [TOKEN_A, scim_tests::TOKEN_STRICT] {
        server
            .send_as(token, Method::PATCH, &path, &body)
            .await
            .expect_refused(400);
    }
    let lenient = server
        .send_as(scim_tests::TOKEN_LENIENT, Method::PATCH, &path, &body)
        .await;
    assert!(matches!(lenient.status, 200 | 204), "{}", lenient.status);
    let got = server.get(&path).await;
    assert_eq!(got.etag(), server.get(&path).await.etag());
    assert_eq!(got.scim_json()["meta"]["version"], user["meta"]["version"]);
}

/// A `filter` that is not UTF-8 once percent-decoded is 400 `invalidFilter` (RFC 7644
/// §3.4.2.2), on a collection and at the root.
async fn filters_must_be_utf8(server: &TestServer) {
    server.create_user("utf8").await;
    for path in [
        "/Users?filter=userName%20eq%20%22%FF%FE%22",
        "/Users?filter=userName%20eq%20%22%C3%22",
        "/Groups?filter=displayName%20eq%20%22%80%22",
        "/?filter=userName%20eq%20%22%ED%A0%80%22",
    ] {
        let body = server
            .get(path)
            .await
            .expect_error(400, Some("invalidFilter"));
        assert!(
            body["detail"].as_str().unwrap().contains("UTF-8"),
            "{path}: {body}"
        );
    }
    let ok = server
        .get("/Users?filter=userName%20eq%20%22utf8%22")
        .await
        .scim_json();
    assert_eq!(ok["totalResults"], 1);
}

/// Reference `value`s that hold a resource `id` compare like `id`, case-exact (RFC 7643
/// §3.1, §4.2): Group `members.value`, User `groups.value`, enterprise `manager.value`.
async fn reference_values_are_case_exact(server: &TestServer) {
    let boss = server.create_user("case-boss").await;
    let boss_id = id_of(&boss);
    let other_case: String = boss_id
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    assert_ne!(other_case, boss_id, "the id has letters");
    let employee = server
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "userName": "case-employee", ENTERPRISE: {"manager": {"value": boss_id}}}),
        )
        .await;
    employee.expect_status(201);
    let group = server.create_group("Case group", &[&boss_id]).await;
    let group_id = id_of(&group);
    let count = |body: Value| body["totalResults"].as_u64().unwrap();
    for (path, exact) in [
        (
            format!(
                "/Groups?filter={}",
                enc(&format!("members.value eq \"{boss_id}\""))
            ),
            1,
        ),
        (
            format!(
                "/Groups?filter={}",
                enc(&format!("members.value eq \"{other_case}\""))
            ),
            0,
        ),
        (
            format!(
                "/Groups?filter={}",
                enc(&format!("members[value eq \"{other_case}\"]"))
            ),
            0,
        ),
        (
            format!(
                "/Users?filter={}",
                enc(&format!("groups.value eq \"{group_id}\""))
            ),
            1,
        ),
        (
            format!(
                "/Users?filter={}",
                enc(&format!("groups.value eq \"{}\"", group_id.to_uppercase()))
            ),
            0,
        ),
        (
            format!(
                "/Users?filter={}",
                enc(&format!("{ENTERPRISE}:manager.value eq \"{boss_id}\""))
            ),
            1,
        ),
        (
            format!(
                "/Users?filter={}",
                enc(&format!("{ENTERPRISE}:manager.value eq \"{other_case}\""))
            ),
            0,
        ),
    ] {
        let got = server.get(&path).await;
        got.expect_status(200);
        assert_eq!(count(got.scim_json()), exact, "{path}");
    }
    // Removing a member by the id in another case removes nothing.
    let path = format!("/Groups/{group_id}");
    let removed = server
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{other_case}\"]")}]),
            None,
        )
        .await;
    assert!(
        matches!(removed.status, 200 | 204 | 400),
        "{}",
        removed.status
    );
    let got = server.get(&path).await.scim_json();
    assert_eq!(got["members"][0]["value"], boss_id.as_str(), "{got}");
}

/// Unknown members of a PATCH operation (`"name": "addMember"`, as some IdPs send) and
/// unknown sub-attributes of a member value (`"displayName"`) are ignored: the member is
/// added, the existing ones kept.
async fn patch_operations_ignore_unknown_members(server: &TestServer) {
    let (a, b) = (
        server.create_user("op-member-a").await,
        server.create_user("op-member-b").await,
    );
    let group = server.create_group("Op members", &[&id_of(&a)]).await;
    let path = format!("/Groups/{}", id_of(&group));
    let body = json!({
        "schemas": [PATCH_OP],
        "Operations": [{
            "name": "addMember",
            "op": "add",
            "path": "members",
            "value": [{"displayName": "B", "value": id_of(&b)}]
        }]
    });
    for token in [TOKEN_A, scim_tests::TOKEN_STRICT] {
        let response = server.send_as(token, Method::PATCH, &path, &body).await;
        assert!(
            matches!(response.status, 200 | 204),
            "{token}: {} {}",
            response.status,
            response.json()
        );
    }
    let got = server.get(&path).await.scim_json();
    let members: BTreeSet<String> = got["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(members, BTreeSet::from([id_of(&a), id_of(&b)]), "{got}");
}

/// `attributes=emails[type eq "work"]` (not RFC 7644 §3.9 syntax, sent by some clients) is
/// refused with 400 `invalidValue` naming the parameter: never a 500 and never every email.
async fn attributes_with_a_value_filter_are_refused(server: &TestServer) {
    let created = server
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "projected", "emails": [
                {"value": "w@example.com", "type": "work"}, {"value": "h@example.com", "type": "home"}
            ]}),
        )
        .await;
    created.expect_status(201);
    let id = id_of(&created.scim_json());
    let projection = enc("emails[type eq \"work\"]");
    for path in [
        format!("/Users/{id}?attributes={projection}"),
        format!("/Users?attributes={projection}"),
        format!("/Users/{id}?excludedAttributes={projection}"),
    ] {
        let body = server
            .get(&path)
            .await
            .expect_error(400, Some("invalidValue"));
        assert!(
            body["detail"].as_str().unwrap().contains("attributes"),
            "{path}: {body}"
        );
    }
}

/// RFC 7644 §3.5.2.1/§3.5.2.3: `add`/`replace` on a value path that matches no element is
/// 400 `noTarget`, and the whole PATCH is applied or not at all. Entra ID's upsert stays
/// (default profile): a filter of `eq` conditions on canonical values only
/// (`emails[type eq "work"]`) creates the element; nothing wider does, and `strict` refuses
/// even that.
async fn value_paths_without_a_match_are_no_target(server: &TestServer) {
    let user = server.create_user("no-target").await;
    let path = format!("/Users/{}", id_of(&user));
    for (op, target) in [
        ("replace", "emails[type eq \"nonexistent\"].value"),
        ("add", "emails[type eq \"nonexistent\"].value"),
        ("replace", "emails[value eq \"x@example.com\"].type"),
        (
            "replace",
            "emails[type eq \"work\" and primary eq true].value",
        ),
        ("replace", "phoneNumbers[type ne \"work\"].value"),
    ] {
        let response = server
            .patch(
                &path,
                json!([
                    {"op": "replace", "path": "displayName", "value": "changed first"},
                    {"op": op, "path": target, "value": "x@example.com"}
                ]),
                None,
            )
            .await;
        let body = response.expect_error(400, Some("noTarget"));
        assert!(
            body["detail"].as_str().unwrap().contains("matches"),
            "{target}: {body}"
        );
        let got = server.get(&path).await.scim_json();
        assert!(
            got.get("displayName").is_none(),
            "{target}: the first operation was applied: {got}"
        );
        assert!(
            got.get("emails").is_none() && got.get("phoneNumbers").is_none(),
            "{got}"
        );
        assert_eq!(got["meta"]["version"], user["meta"]["version"], "{target}");
    }
    let upsert = json!([
        {"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@example.com"},
        {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"}
    ]);
    let strict = server
        .send_as(
            scim_tests::TOKEN_STRICT,
            Method::PATCH,
            &path,
            &scim_tests::patch_op(upsert.clone()),
        )
        .await;
    strict.expect_error(400, Some("noTarget"));
    let created = server.patch(&path, upsert, None).await;
    created.expect_status(200);
    let got = created.scim_json();
    assert_eq!(
        got["emails"],
        json!([{"type": "work", "value": "b@example.com"}]),
        "{got}"
    );
    assert_eq!(
        got["addresses"],
        json!([{"type": "work", "locality": "Redmond"}]),
        "{got}"
    );
}

/// The enterprise `manager` as Entra ID and others address it: the unqualified path
/// `manager` (unique among the User's schemas, RFC 7644 §3.10), a one-element array for this
/// single-valued attribute (Entra's legacy form), `remove` with `manager[value eq "…"]`, and
/// the filter `manager eq "<id>"` comparing `manager.value`; also with `?attributes=id`.
async fn enterprise_manager_as_idps_send_it(server: &TestServer) {
    let boss = id_of(&server.create_user("manager-boss").await);
    let other = id_of(&server.create_user("manager-other").await);
    let employee = server.create_user("manager-employee").await;
    let path = format!("/Users/{}", id_of(&employee));
    let manager_of = |body: &Value| body[ENTERPRISE]["manager"]["value"].clone();
    for query in ["", "?attributes=id"] {
        let target = format!("{path}{query}");
        // Unqualified path, value as an object.
        let set = server
            .patch(
                &target,
                json!([{"op": "add", "path": "manager", "value": {"value": other}}]),
                None,
            )
            .await;
        set.expect_status(200);
        assert_eq!(
            manager_of(&server.get(&path).await.scim_json()),
            json!(other)
        );
        // A one-element array for the single-valued attribute.
        let set = server
            .patch(
                &target,
                json!([{"op": "replace", "path": "manager", "value": [{"value": boss}]}]),
                None,
            )
            .await;
        set.expect_status(200);
        if query.is_empty() {
            assert_eq!(manager_of(&set.scim_json()), json!(boss));
        } else {
            assert_eq!(
                set.scim_json().get(ENTERPRISE),
                None,
                "attributes=id: {}",
                set.json()
            );
        }
        assert_eq!(
            manager_of(&server.get(&path).await.scim_json()),
            json!(boss)
        );
        // `manager eq "<id>"` compares manager.value.
        let found = server
            .get(&format!(
                "/Users?filter={}{}",
                enc(&format!("manager eq \"{boss}\"")),
                query.replace('?', "&")
            ))
            .await
            .scim_json();
        assert_eq!(found["totalResults"], 1, "{found}");
        assert_eq!(found["Resources"][0]["id"], json!(id_of(&employee)));
        if !query.is_empty() {
            assert_eq!(found["Resources"][0].get("userName"), None, "{found}");
        }
        // `remove` with a value filter that does not match leaves it; one that matches removes it.
        let kept = server
            .patch(
                &target,
                json!([{"op": "remove", "path": format!("manager[value eq \"{other}\"]")}]),
                None,
            )
            .await;
        assert!(matches!(kept.status, 200 | 204 | 400), "{}", kept.status);
        assert_eq!(
            manager_of(&server.get(&path).await.scim_json()),
            json!(boss)
        );
        let removed = server
            .patch(
                &target,
                json!([{"op": "remove", "path": format!("manager[value eq \"{boss}\"]")}]),
                None,
            )
            .await;
        assert!(
            matches!(removed.status, 200 | 204),
            "{} {}",
            removed.status,
            removed.json()
        );
        let got = server.get(&path).await.scim_json();
        assert!(
            got.get(ENTERPRISE)
                .is_none_or(|e| e.get("manager").is_none()),
            "{got}"
        );
    }
    // POST with the legacy one-element array.
    let created = server
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "userName": "manager-array", ENTERPRISE: {"manager": [{"value": boss}]}}),
        )
        .await;
    created.expect_status(201);
    assert_eq!(manager_of(&created.scim_json()), json!(boss));
    // Two elements are no single value.
    server
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "userName": "manager-two", ENTERPRISE: {"manager": [{"value": boss}, {"value": other}]}}),
        )
        .await
        .expect_refused(400);
}

/// Entra ID's filter `emails[type eq "work"].value eq "user@contoso.com"` (a value path,
/// a sub-attribute and a comparison; an extension of RFC 7644's grammar): the element must
/// be a work email *and* hold that value.
async fn entra_element_filters(server: &TestServer) {
    for (name, emails) in [
        (
            "entra-work",
            json!([{"type": "work", "value": "user@contoso.com"}]),
        ),
        (
            "entra-home",
            json!([{"type": "home", "value": "user@contoso.com"}, {"type": "work", "value": "other@contoso.com"}]),
        ),
    ] {
        server
            .post(
                "/Users",
                &json!({"schemas": [USER], "userName": name, "emails": emails}),
            )
            .await
            .expect_status(201);
    }
    for (filter, expected) in [
        (
            r#"emails[type eq "work"].value eq "user@contoso.com""#,
            vec!["entra-work"],
        ),
        (
            r#"emails[type eq "home"].value eq "user@contoso.com""#,
            vec!["entra-home"],
        ),
        (
            r#"emails[type eq "work"].value co "@contoso.com""#,
            vec!["entra-home", "entra-work"],
        ),
        (r#"emails[type eq "home"].value pr"#, vec!["entra-home"]),
        (
            r#"not (emails[type eq "work"].value eq "user@contoso.com") and userName sw "entra""#,
            vec!["entra-home"],
        ),
    ] {
        let response = server
            .get(&format!("/Users?filter={}&sortBy=userName", enc(filter)))
            .await;
        response.expect_status(200);
        let names = user_names(&list_resources(
            &response.scim_json(),
            expected.len() as u64,
        ));
        assert_eq!(names, expected, "{filter}");
    }
    // The same through POST /.search, and a malformed tail is still invalidFilter.
    let searched = server
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH_REQUEST], "filter": r#"emails[type eq "work"].value eq "user@contoso.com""#}),
        )
        .await;
    searched.expect_status(200);
    assert_eq!(searched.scim_json()["totalResults"], 1);
    server
        .get(&format!(
            "/Users?filter={}",
            enc(r#"emails[type eq "work"].value"#)
        ))
        .await
        .expect_error(400, Some("invalidFilter"));
}

/// Every tolerance of the default profile, request by request: accepted through a token
/// without a profile, refused (or handled per the RFC) through a `strict` token, with
/// nothing changed by the refused request.
async fn tolerances_follow_the_profile(server: &TestServer) {
    let strict = scim_tests::TOKEN_STRICT;
    let user = server.create_user("tolerated").await;
    let path = format!("/Users/{}", id_of(&user));
    let boss = id_of(&server.create_user("tolerated-boss").await);
    let cases = [
        (
            "capitalized op",
            json!([{"op": "Replace", "path": "displayName", "value": "Babs"}]),
        ),
        (
            "string boolean",
            json!([{"op": "replace", "path": "active", "value": "False"}]),
        ),
        (
            "manager as a string",
            json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": boss}]),
        ),
        (
            "dotted key",
            json!([{"op": "replace", "value": {"name.givenName": "Barbara"}}]),
        ),
        (
            "read-only key",
            json!([{"op": "replace", "value": {"id": "other", "title": "Guide"}}]),
        ),
    ];
    for (what, operations) in &cases {
        let body = scim_tests::patch_op(operations.clone());
        let before = server.get(&path).await.scim_json();
        server
            .send_as(strict, Method::PATCH, &path, &body)
            .await
            .expect_refused(400);
        let unchanged = server.get(&path).await.scim_json();
        assert_eq!(unchanged, before, "strict {what} changed the user");
        let accepted = server.send_as(TOKEN_A, Method::PATCH, &path, &body).await;
        assert_eq!(accepted.status, 200, "default {what}: {}", accepted.json());
    }
    let got = server.get(&path).await.scim_json();
    assert_eq!(got["displayName"], "Babs");
    assert_eq!(got["active"], false);
    assert_eq!(got["name"]["givenName"], "Barbara");
    assert_eq!(got["title"], "Guide");
    assert_eq!(got[ENTERPRISE]["manager"]["value"], json!(boss));
    assert_eq!(got["id"], json!(id_of(&user)));

    // `remove` on `members` with a value list: just those members by default; every member
    // under strict (RFC 7644 §3.5.2.2 ignores the value).
    let (m1, m2) = (
        id_of(&server.create_user("tolerated-m1").await),
        id_of(&server.create_user("tolerated-m2").await),
    );
    let remove = scim_tests::patch_op(
        json!([{"op": "remove", "path": "members", "value": [{"value": m1}]}]),
    );
    for (token, left) in [(TOKEN_A, vec![m2.clone()]), (strict, vec![])] {
        let group = server
            .create_group(&format!("Tolerated {token}"), &[&m1, &m2])
            .await;
        let group_path = format!("/Groups/{}", id_of(&group));
        let response = server
            .send_as(token, Method::PATCH, &group_path, &remove)
            .await;
        assert!(
            matches!(response.status, 200 | 204),
            "{token}: {}",
            response.status
        );
        let group = server.get(&group_path).await.scim_json();
        let members: Vec<String> = group["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(members, left, "{token}: {group}");
    }
}

// ---------------------------------------------------------------------------------------
// Request limits (RequestLimits defaults): strings over 64 KiB get 400 invalidValue, more
// than 1000 PATCH operations or 10 000 members in one operation get 413; nothing changes.

async fn request_limits(server: &TestServer) {
    let long = "x".repeat(64 * 1024 + 1);
    let at_limit = "y".repeat(64 * 1024);
    // A 100 000-character userName, and a long value deeper in the resource.
    for body in [
        json!({"schemas": [USER], "userName": "z".repeat(100_000)}),
        json!({"schemas": [USER], "userName": "deep@example.com",
               "emails": [{"value": "deep@example.com", "display": long}]}),
    ] {
        let err = server
            .post("/Users", &body)
            .await
            .expect_error(400, Some("invalidValue"));
        assert!(
            err["detail"].as_str().unwrap().contains("65536 bytes"),
            "{err}"
        );
    }
    let listed = server.get("/Users").await.scim_json();
    assert_eq!(listed["totalResults"], 0, "nothing was created: {listed}");

    let user = server.create_user("limits@example.com").await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    // At the limit is fine.
    server
        .patch(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": at_limit}]),
            None,
        )
        .await
        .expect_status(200);
    let before = server.get(&path).await.scim_json();
    let err = server
        .patch(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": long}]),
            None,
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(
        err["detail"].as_str().unwrap().contains("displayName"),
        "{err}"
    );
    let mut put = before.clone();
    put["nickName"] = json!(long);
    server
        .put(&path, &put, None)
        .await
        .expect_error(400, Some("invalidValue"));
    let operations: Vec<Value> = (0..1001)
        .map(|i| json!({"op": "replace", "path": "title", "value": format!("t{i}")}))
        .collect();
    let err = server
        .patch(&path, json!(operations), None)
        .await
        .expect_error(413, None);
    assert!(
        err["detail"].as_str().unwrap().contains("1001 operations"),
        "{err}"
    );
    assert_eq!(
        server.get(&path).await.scim_json(),
        before,
        "the user is unchanged"
    );

    let group = server.create_group("limits", &[id]).await;
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let group_before = server.get(&group_path).await.scim_json();
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"value": format!("m{i}")}))
        .collect();
    for operation in [
        json!({"op": "add", "path": "members", "value": many}),
        json!({"op": "replace", "value": {"members": many}}),
    ] {
        let err = server
            .patch(&group_path, json!([operation]), None)
            .await
            .expect_error(413, None);
        assert!(
            err["detail"].as_str().unwrap().contains("10001 members"),
            "{err}"
        );
    }
    server
        .patch(
            &group_path,
            json!([{"op": "add", "path": "members", "value": [{"value": long}]}]),
            None,
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert_eq!(
        server.get(&group_path).await.scim_json(),
        group_before,
        "the group is unchanged"
    );
}

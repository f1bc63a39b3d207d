//! Observers (`scim_core::observe`): what the engine reports of each finished exchange, and
//! that no secret (a `password`, the `Authorization` header) ever reaches an observer.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engine_support;

use engine_support::*;
use scim_core::observe::{AuthFailure, BulkSummary, REDACTED};
use scim_core::{
    BearerAuthenticator, Exchange, MemoryStore, Method, RevocationReason, ScimEngine, ScimObserver,
};
use serde_json::json;
use std::sync::{Arc, Mutex};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SECRET: &str = "t1meMach1ne-s3cr3t";

/// Keeps every exchange it is told of.
#[derive(Clone, Default)]
struct Keep {
    seen: Arc<Mutex<Vec<Exchange>>>,
    bodies: bool,
}

impl Keep {
    fn with_bodies() -> Self {
        Self {
            bodies: true,
            ..Self::default()
        }
    }

    fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    fn last(&self) -> Exchange {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("an exchange")
    }
}

impl ScimObserver for Keep {
    fn wants_bodies(&self) -> bool {
        self.bodies
    }

    fn observe(&self, exchange: &Exchange) {
        self.seen.lock().unwrap().push(exchange.clone());
    }
}

fn observed(keep: &Keep) -> (ScimEngine, Recorder) {
    let keep = keep.clone();
    engine_with(move |b| b.observer(keep))
}

#[tokio::test]
async fn a_create_is_reported_with_its_id_client_and_redacted_bodies() {
    let keep = Keep::with_bodies();
    let (engine, _) = observed(&keep);
    let res = call(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "bjensen", "password": SECRET})),
    )
    .await;
    assert_eq!(res.status, 201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let seen = keep.take();
    assert_eq!(seen.len(), 1);
    let exchange = &seen[0];
    assert_eq!(exchange.method, Method::Post);
    assert_eq!(exchange.path, "/Users");
    assert_eq!(exchange.operation, "create");
    assert_eq!(exchange.resource_type.as_deref(), Some("User"));
    assert_eq!(exchange.resource_id.as_deref(), Some(id.as_str()));
    assert_eq!(exchange.status, 201);
    assert_eq!(exchange.tenant.as_deref(), Some("t1"));
    assert_eq!(exchange.client.as_deref(), Some("anonymous"));
    assert_eq!(exchange.profile.as_deref(), Some("default"));
    assert_eq!(
        (exchange.scim_type.as_deref(), exchange.detail.as_deref()),
        (None, None)
    );
    assert!(!exchange.failed());
    let request = exchange.request_body.as_deref().unwrap();
    assert!(!request.contains(SECRET), "{request}");
    let request: serde_json::Value = serde_json::from_str(request).unwrap();
    assert_eq!(request["password"], REDACTED);
    assert_eq!(request["userName"], "bjensen");
    let response = exchange.response_body.as_deref().unwrap();
    assert!(
        response.contains(&id) && !response.contains(SECRET),
        "{response}"
    );
}

#[tokio::test]
async fn a_patch_that_sets_a_password_never_shows_it() {
    let keep = Keep::with_bodies();
    let (engine, _) = observed(&keep);
    let id = create_user(&engine, "bjensen").await;
    for ops in [
        json!([{"op": "replace", "path": "password", "value": SECRET}]),
        json!([{"op": "replace", "value": {"password": SECRET}}]),
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "value": SECRET}]),
    ] {
        let res = patch_call(&engine, &format!("/Users/{id}"), ops).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let exchange = keep.last();
        assert_eq!(exchange.operation, "patch");
        assert_eq!(exchange.resource_id.as_deref(), Some(id.as_str()));
        for body in [&exchange.request_body, &exchange.response_body] {
            let body = body.as_deref().unwrap();
            assert!(!body.contains(SECRET), "{body}");
        }
        assert!(exchange.request_body.unwrap().contains(REDACTED));
    }
}

#[tokio::test]
async fn errors_carry_their_scim_type_and_detail() {
    let keep = Keep::default();
    let (engine, _) = observed(&keep);
    create_user(&engine, "bjensen").await;
    let res = call(
        &engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": [USER], "userName": "BJensen"})),
    )
    .await;
    assert_eq!(res.status, 409);
    let exchange = keep.last();
    assert_eq!(exchange.status, 409);
    assert!(exchange.failed());
    assert_eq!(exchange.scim_type.as_deref(), Some("uniqueness"));
    assert_eq!(
        exchange.detail,
        res.json()["detail"].as_str().map(str::to_owned)
    );
    // Bodies were not asked for.
    assert_eq!(
        (exchange.request_body, exchange.response_body),
        (None, None)
    );

    let res = get_query(&engine, "/Users", "filter=userName%20eq").await;
    assert_eq!(res.status, 400);
    let exchange = keep.last();
    assert_eq!(exchange.operation, "list");
    assert_eq!(exchange.scim_type.as_deref(), Some("invalidFilter"));
    assert_eq!(exchange.query.as_deref(), Some("filter=userName%20eq"));
}

#[tokio::test]
async fn authentication_failures_are_reported_without_credentials() {
    let keep = Keep::with_bodies();
    let engine = ScimEngine::builder(MemoryStore::new())
        .authenticator(BearerAuthenticator::new().with_token("t1", "okta", "good-token"))
        .revoker(scim_core::NoSessionsToRevoke)
        .observer(keep.clone())
        .build()
        .unwrap();
    let missing = engine.handle(request(Method::Get, "/Users")).await;
    assert_eq!(missing.status, 401);
    let exchange = keep.last();
    assert_eq!(exchange.auth_failure, Some(AuthFailure::Missing));
    assert_eq!((exchange.tenant, exchange.client), (None, None));
    assert_eq!(exchange.operation, "list");

    let wrong = engine
        .handle(request(Method::Get, "/Users").with_header("authorization", "Bearer bad-token"))
        .await;
    assert_eq!(wrong.status, 401);
    let exchange = keep.last();
    assert_eq!(exchange.auth_failure, Some(AuthFailure::Invalid));
    assert_eq!(exchange.status, 401);
    let text = format!("{exchange:?}");
    assert!(!text.contains("bad-token"), "{text}");

    let ok = engine
        .handle(request(Method::Get, "/Users").with_header("authorization", "Bearer good-token"))
        .await;
    assert_eq!(ok.status, 200);
    let exchange = keep.last();
    assert_eq!(exchange.auth_failure, None);
    assert_eq!(exchange.client.as_deref(), Some("okta"));
    let text = format!("{exchange:?}");
    assert!(!text.contains("good-token"), "{text}");
}

#[tokio::test]
async fn deprovisioning_reports_the_revocation_and_its_session_count() {
    let keep = Keep::default();
    let (engine, recorder) = observed(&keep);
    let id = create_user(&engine, "bjensen").await;
    let res = patch_call(
        &engine,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(res.status, 200);
    let exchange = keep.last();
    assert_eq!(exchange.revocations.len(), 1);
    let revocation = &exchange.revocations[0];
    assert_eq!(revocation.reason, RevocationReason::Deactivated);
    assert_eq!(revocation.user_ids, std::slice::from_ref(&id));
    // The test revoker ends one session per user.
    assert_eq!(revocation.sessions, Some(1));
    assert!(revocation.succeeded);

    // A failed revocation is reported as such, with the 503 it caused.
    recorder.fail(true);
    let res = call(&engine, Method::Delete, &format!("/Users/{id}"), None).await;
    assert_eq!(res.status, 503);
    let exchange = keep.last();
    assert_eq!(exchange.operation, "delete");
    assert_eq!(exchange.revocations.len(), 1);
    assert_eq!(exchange.revocations[0].reason, RevocationReason::Deleted);
    assert!(!exchange.revocations[0].succeeded);
    assert_eq!(exchange.revocations[0].sessions, None);
    assert_eq!(exchange.status, 503);

    // A request that revokes nothing reports no revocation.
    recorder.fail(false);
    get(&engine, "/Users").await;
    assert!(keep.last().revocations.is_empty());
}

#[tokio::test]
async fn bulk_requests_report_how_their_operations_went() {
    let keep = Keep::with_bodies();
    let (engine, _) = observed(&keep);
    let res = call(
        &engine,
        Method::Post,
        "/Bulk",
        Some(json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "a", "password": SECRET}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "A"}},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"schemas": [USER], "userName": "c"}}
        ]})),
    )
    .await;
    assert_eq!(res.status, 200);
    let seen = keep.take();
    assert_eq!(seen.len(), 1, "one exchange per request, not per operation");
    let exchange = &seen[0];
    assert_eq!(exchange.operation, "bulk");
    assert_eq!(exchange.resource_type.as_deref(), Some("Bulk"));
    assert_eq!(exchange.resource_id, None);
    let bulk: BulkSummary = exchange.bulk.expect("a Bulk summary");
    assert_eq!((bulk.operations, bulk.failed), (3, 1));
    assert!(!exchange.request_body.as_deref().unwrap().contains(SECRET));
    // A request that is not Bulk has no Bulk summary.
    get(&engine, "/Users").await;
    assert_eq!(keep.last().bulk, None);
}

#[tokio::test]
async fn queries_naming_a_secret_attribute_are_hidden() {
    let keep = Keep::default();
    let (engine, _) = observed(&keep);
    get_query(&engine, "/Users", "filter=password%20eq%20%22hunter2%22").await;
    assert_eq!(keep.last().query.as_deref(), Some(REDACTED));
    get_query(&engine, "/Users", "count=5").await;
    assert_eq!(keep.last().query.as_deref(), Some("count=5"));
}

#[tokio::test]
async fn every_observer_is_told_and_durations_are_measured() {
    let first = Keep::default();
    let second = Keep::with_bodies();
    let (a, b) = (first.clone(), second.clone());
    let (engine, _) = engine_with(move |builder| builder.observer(a).observer(b));
    let id = create_user(&engine, "bjensen").await;
    get(&engine, &format!("/Users/{id}")).await;
    let (first, second) = (first.take(), second.take());
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 2);
    assert_eq!(first[1].operation, "get");
    assert_eq!(first[1].resource_id.as_deref(), Some(id.as_str()));
    // One observer asked for bodies, so both get them (they are captured once).
    assert!(first[1].response_body.is_some());
    assert!(first.iter().all(|e| e.duration > std::time::Duration::ZERO));
}

#[tokio::test]
async fn count_answers_the_total_a_list_would() {
    let (engine, _) = engine();
    let ctx = scim_core::RequestContext::new(scim_core::Principal::new("t1", "host"), BASE);
    assert_eq!(engine.count(&ctx, "User", None).await.unwrap(), 0);
    let a = create_user(&engine, "alice").await;
    create_user(&engine, "bob").await;
    create_group(&engine, "staff", &[&a]).await;
    assert_eq!(engine.count(&ctx, "User", None).await.unwrap(), 2);
    assert_eq!(engine.count(&ctx, "Group", None).await.unwrap(), 1);
    let filter = scim_core::scim_filter::parse_filter("userName sw \"A\"").unwrap();
    assert_eq!(engine.count(&ctx, "User", Some(&filter)).await.unwrap(), 1);
    let other = scim_core::RequestContext::new(scim_core::Principal::new("t2", "host"), BASE);
    assert_eq!(engine.count(&other, "User", None).await.unwrap(), 0);
    assert_eq!(
        engine
            .count(&ctx, "Widget", None)
            .await
            .unwrap_err()
            .status(),
        404
    );
}

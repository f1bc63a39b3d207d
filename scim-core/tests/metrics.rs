//! `MetricsObserver` (feature `metrics`): a known sequence of requests, scraped in the
//! Prometheus text format, shows the expected counters.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engine_support;

use engine_support::*;
use metrics_exporter_prometheus::PrometheusBuilder;
use scim_core::observe::MetricsObserver;
use scim_core::{BearerAuthenticator, MemoryStore, Method, ScimEngine};
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// The value of the sample whose line starts with `series` (name and labels as rendered).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample `{series}` in:\n{text}"))
}

#[test]
fn a_known_sequence_shows_the_expected_counters() {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.01, 0.1, 1.0])
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let (engine, recorder) = engine_with(|b| b.observer(MetricsObserver::new()));
            let id = create_user(&engine, "bjensen").await;
            create_user(&engine, "alice").await;
            let dup = call(
                &engine,
                Method::Post,
                "/Users",
                Some(json!({"schemas": [USER], "userName": "ALICE"})),
            )
            .await;
            assert_eq!(dup.status, 409);
            get(&engine, &format!("/Users/{id}")).await;
            get(&engine, "/Users/no-such-id").await;
            patch_call(
                &engine,
                &format!("/Users/{id}"),
                json!([{"op": "replace", "path": "active", "value": false}]),
            )
            .await;
            recorder.fail(true);
            let failed = call(&engine, Method::Delete, &format!("/Users/{id}"), None).await;
            assert_eq!(failed.status, 503);
            recorder.fail(false);
            let bulk = call(
                &engine,
                Method::Post,
                "/Bulk",
                Some(json!({"schemas": [BULK], "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "carol"}},
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "Carol"}}
                ]})),
            )
            .await;
            assert_eq!(bulk.status, 200);

            let guarded = ScimEngine::builder(MemoryStore::new())
                .authenticator(BearerAuthenticator::new().with_token("t1", "okta", "good"))
                .revoker(scim_core::NoSessionsToRevoke)
                .observer(MetricsObserver::new())
                .build()
                .unwrap();
            guarded.handle(request(Method::Get, "/Users")).await;
            guarded
                .handle(request(Method::Get, "/Users").with_header("authorization", "Bearer bad"))
                .await;
            guarded
                .handle(request(Method::Get, "/Users").with_header("authorization", "Bearer bad"))
                .await;
        });
    });
    let text = handle.render();
    let requests = "scim_requests_total{operation=";
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"create\",resource_type=\"User\",status=\"2xx\"}}")
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"create\",resource_type=\"User\",status=\"4xx\"}}")
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"get\",resource_type=\"User\",status=\"2xx\"}}")
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"get\",resource_type=\"User\",status=\"4xx\"}}")
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"delete\",resource_type=\"User\",status=\"5xx\"}}")
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"bulk\",resource_type=\"Bulk\",status=\"2xx\"}}")
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("{requests}\"list\",resource_type=\"User\",status=\"4xx\"}}")
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            "scim_authentication_failures_total{reason=\"missing\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "scim_authentication_failures_total{reason=\"invalid\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "scim_revocation_calls_total{reason=\"deactivated\",outcome=\"ok\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "scim_revocation_calls_total{reason=\"deleted\",outcome=\"error\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&text, "scim_revoked_users_total{reason=\"deactivated\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "scim_revoked_sessions_total{reason=\"deactivated\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "scim_bulk_operations_total{outcome=\"ok\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "scim_bulk_operations_total{outcome=\"error\"}"),
        1.0
    );
    // Every request was timed, in a histogram: 11 in all.
    let timed: f64 = text
        .lines()
        .filter(|l| l.starts_with("scim_request_duration_seconds_count"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(timed, 11.0, "{text}");
    assert!(
        text.contains("scim_request_duration_seconds_bucket{operation=\"get\",le=\"1\"} 2"),
        "{text}"
    );
}

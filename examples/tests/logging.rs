//! The example servers' log output: `--log-format json` writes one JSON object per line and
//! `--log-file` appends to a file; the `scim::audit` events keep their fields.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The audit event of the create, as JSON, once the writer thread has written it.
fn audit_line(path: &std::path::Path, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|event| event["target"] == "scim::audit" && event["fields"]["id"] == id);
        if let Some(event) = found {
            // Every line is JSON, not only the audit event.
            assert!(
                text.lines()
                    .all(|l| serde_json::from_str::<Value>(l).is_ok()),
                "{text}"
            );
            return event;
        }
        assert!(
            Instant::now() < deadline,
            "no audit line for {id} in {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn json_lines_in_a_log_file(bin: &str) {
    let dir = std::env::temp_dir().join(format!("scim-logging-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_file = dir.join("scim.log");
    let token = random_token();
    let server = Server::start(
        bin,
        &[
            "--token",
            &format!("entra={token}"),
            "--log-format",
            "json",
            "--log-file",
            log_file.to_str().unwrap(),
        ],
    );
    let id = server.create_user(&token, &unique("logged")).await;
    let event = audit_line(&log_file, &id);
    let fields = &event["fields"];
    assert_eq!(event["level"], "INFO", "{event}");
    for (field, value) in [
        ("tenant", "default"),
        ("subject", "scim-token-1"),
        ("profile", "entra"),
        ("operation", "create"),
        ("resource_type", "User"),
        ("outcome", "ok"),
    ] {
        assert_eq!(fields[field], value, "{field} in {event}");
    }
    assert_eq!(fields["status"], 201, "{event}");
    // Nothing went to standard error but the announcement.
    assert!(
        server.log().iter().all(|l| !l.contains("scim::audit")),
        "{:#?}",
        server.log()
    );
    let text = std::fs::read_to_string(&log_file).unwrap();
    assert!(!text.contains(&token), "the token is in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_json_lines_in_a_log_file() {
    json_lines_in_a_log_file(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_json_lines_in_a_log_file() {
    json_lines_in_a_log_file(ACTIX).await;
}

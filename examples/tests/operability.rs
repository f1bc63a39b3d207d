//! `/metrics` and `/admin` of both example servers over HTTP: the Prometheus page after a
//! known sequence of requests, the inspector's sign-in (admin token only, never a SCIM
//! token) and its JSON, with no secret in anything it serves. The browser test of the
//! page itself is `tests/admin_browser.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "correct-horse-battery-staple-42";
const ADMIN: &str = "admin-token-0f3c9a7d5e";

/// The value of the Prometheus sample `series` (name with labels, as rendered), 0 if absent.
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(server: &Server) -> String {
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(media.starts_with("text/plain"), "{media}");
    response.text().await.unwrap()
}

async fn metrics_after_a_known_sequence(bin: &str) {
    let token = random_token();
    let server = Server::start(bin, &["--token", &token, "--metrics"]);
    let user_name = unique("metrics");
    let id = server.create_user(&token, &user_name).await;
    let session = server.session(&user_name).await;
    let (status, _) = send(server.scim(Method::GET, &format!("/Users/{id}"), &token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(server.scim(Method::GET, "/Users/no-such-id", &token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(server.scim(Method::GET, "/Users", "wrong-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        server
            .scim(Method::PATCH, &format!("/Users/{id}"), &token)
            .json(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.me(&session).await.0, StatusCode::UNAUTHORIZED);

    let page = scrape(&server).await;
    let requests = |op: &str, class: &str| {
        sample(
            &page,
            &format!(
                "scim_requests_total{{operation=\"{op}\",resource_type=\"User\",status=\"{class}\"}}"
            ),
        )
    };
    assert_eq!(requests("create", "2xx"), 1.0, "{page}");
    assert_eq!(requests("get", "2xx"), 1.0, "{page}");
    assert_eq!(requests("get", "4xx"), 1.0, "{page}");
    assert_eq!(requests("list", "4xx"), 1.0, "{page}");
    assert_eq!(requests("patch", "2xx"), 1.0, "{page}");
    assert_eq!(
        sample(
            &page,
            "scim_authentication_failures_total{reason=\"invalid\"}"
        ),
        1.0,
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            "scim_revocation_calls_total{reason=\"deactivated\",outcome=\"ok\"}"
        ),
        1.0,
        "{page}"
    );
    assert_eq!(
        sample(&page, "scim_revoked_users_total{reason=\"deactivated\"}"),
        1.0
    );
    // The app ended the one session of the user.
    assert_eq!(
        sample(&page, "scim_revoked_sessions_total{reason=\"deactivated\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &page,
            "scim_request_duration_seconds_count{operation=\"patch\"}"
        ),
        1.0,
        "{page}"
    );
    assert!(
        page.contains("scim_request_duration_seconds_bucket{operation=\"get\",le="),
        "{page}"
    );
    assert!(!page.contains(&token), "no token in the metrics");

    // Without --metrics there is no page.
    let plain = Server::start(bin, &["--token", &token]);
    let response = plain
        .client
        .get(plain.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn axum_metrics_after_a_known_sequence() {
    metrics_after_a_known_sequence(AXUM).await;
}

#[tokio::test]
async fn actix_metrics_after_a_known_sequence() {
    metrics_after_a_known_sequence(ACTIX).await;
}

async fn state(server: &Server, query: &str) -> (StatusCode, Value) {
    send(
        server
            .client
            .get(server.url(&format!("/admin/api/state{query}")))
            .bearer_auth(ADMIN),
    )
    .await
}

async fn inspector_over_http(bin: &str) {
    let token = random_token();
    let server = Server::start(bin, &["--token", &token, "--admin-token", ADMIN]);

    // Without the admin token: 401 for the page (with the sign-in form) and the JSON; a
    // SCIM token is not an admin token.
    let page = server
        .client
        .get(server.url("/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.headers().contains_key("www-authenticate"));
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(page.text().await.unwrap().contains("name=\"token\""));
    for auth in [None, Some(token.as_str()), Some("admin-token-0f3c9a7d5f")] {
        let mut request = server.client.get(server.url("/admin/api/state"));
        if let Some(auth) = auth {
            request = request.bearer_auth(auth);
        }
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Redirects are looked at, not followed.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let wrong = browser
        .post(server.url("/admin/login"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());

    // Sign in through the form: a session cookie that opens the page.
    let signed_in = browser
        .post(server.url("/admin/login"))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let page = server
        .client
        .get(server.url("/admin"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Recent exchanges"));

    // A create with a password and a failing duplicate.
    let user_name = unique("inspect");
    let (status, created) = send(server.scim(Method::POST, "/Users", &token).json(&json!({
        "schemas": [USER_SCHEMA], "userName": user_name, "password": SECRET
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = send(server.scim(Method::POST, "/Users", &token).json(&json!({
        "schemas": [USER_SCHEMA], "userName": user_name.to_uppercase(), "password": SECRET
    })))
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, all) = state(&server, "").await;
    assert_eq!(status, StatusCode::OK);
    let exchanges = all["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 2, "{all}");
    assert_eq!(exchanges[0]["status"], 409, "newest first");
    assert_eq!(exchanges[0]["failed"], true);
    assert_eq!(exchanges[0]["scimType"], "uniqueness");
    assert_eq!(exchanges[0]["detail"], refused["detail"]);
    assert_eq!(exchanges[1]["status"], 201);
    assert_eq!(exchanges[1]["resourceId"], created["id"]);
    assert_eq!(all["counts"], json!({"users": 1, "groups": 0}));
    assert_eq!(all["clients"], json!(["scim-token-1"]));
    let (_, failures) = state(&server, "?failures=1").await;
    assert_eq!(failures["exchanges"].as_array().unwrap().len(), 1);
    let (_, nobody) = state(&server, "?client=someone-else").await;
    assert!(nobody["exchanges"].as_array().unwrap().is_empty());

    // The bodies: redacted, and the token never captured.
    for entry in exchanges {
        let (status, detail) = send(
            server
                .client
                .get(server.url(&format!("/admin/api/exchanges/{}", entry["seq"])))
                .bearer_auth(ADMIN),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let text = detail.to_string();
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&token), "{text}");
        assert!(
            detail["requestBody"]
                .as_str()
                .unwrap()
                .contains("[redacted]"),
            "{text}"
        );
    }
    let everything = all.to_string();
    assert!(!everything.contains(SECRET) && !everything.contains(&token));

    // Signing out ends the session.
    let out = browser
        .post(server.url("/admin/logout"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = server
        .client
        .get(server.url("/admin"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // The admin token cannot be a SCIM token.
    let status = std::process::Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--database-url", "memory"])
        .args(["--token", &token, "--admin-token", &token])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the server started with its SCIM token as admin token"
    );

    // Without --admin-token there is no inspector.
    let plain = Server::start(bin, &["--token", &token]);
    let response = plain.client.get(plain.url("/admin")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn axum_inspector_over_http() {
    inspector_over_http(AXUM).await;
}

#[tokio::test]
async fn actix_inspector_over_http() {
    inspector_over_http(ACTIX).await;
}

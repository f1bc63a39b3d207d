//! The session demo, end to end against the real binaries: a user's app session dies when
//! the IdP deactivates the user and when it deletes the user.
//!
//! Each test starts `axum-server` or `actix-server` on `127.0.0.1:0`, learns the bound
//! address (and a generated token) from the `announce` lines on the child's stderr, and
//! drives it over HTTP: SCIM under `/scim/v2`, the host app's `POST /app/login` and
//! `GET /app/me`. The child is killed when its guard drops, also when a test panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// Joiner → login → leaver by deactivation, then by delete; the session dies each time.
async fn session_dies_on_deactivation_and_delete(bin: &str) {
    let token = random_token();
    let server = Server::start(bin, &["--token", &token]);

    // A bystander whose session must survive everything below.
    let bystander = unique("bystander");
    let bystander_id = server.create_user(&token, &bystander).await;
    let bystander_session = server.session(&bystander).await;

    // Joiner, then the app session.
    let alice = unique("alice");
    let alice_id = server.create_user(&token, &alice).await;
    let session = server.session(&alice).await;
    let (status, me) = server.me(&session).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], alice_id.as_str());
    assert_eq!(me["userName"], alice.as_str());
    assert_eq!(me["active"], true);

    // Leaver, the way Entra ID deactivates: capitalized op, string boolean.
    let (status, body) = send(
        server
            .scim(
                reqwest::Method::PATCH,
                &format!("/Users/{alice_id}"),
                &token,
            )
            .json(&json!({
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "deactivate: {body}");
    assert_eq!(body["active"], false, "{body}");

    // The session died before the IdP got its 200, and the user cannot log in again.
    let (status, body) = server.me(&session).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/app/me after deactivation: {body}"
    );
    let (status, body) = server.login(&alice).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "login while inactive: {body}"
    );
    // The user still exists in SCIM, inactive.
    let (status, body) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{alice_id}"), &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false, "{body}");

    // Leaver by delete: two sessions of the same user both die.
    let bob = unique("bob");
    let bob_id = server.create_user(&token, &bob).await;
    let first = server.session(&bob).await;
    let second = server.session(&bob).await;
    assert_ne!(first, second);
    for session in [&first, &second] {
        let (status, body) = server.me(session).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["id"], bob_id.as_str());
    }
    let (status, body) =
        send(server.scim(reqwest::Method::DELETE, &format!("/Users/{bob_id}"), &token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "delete: {body}");
    for session in [&first, &second] {
        let (status, body) = server.me(session).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "/app/me after delete: {body}"
        );
    }
    let (status, body) = server.login(&bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "login after delete: {body}");
    let (status, _) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{bob_id}"), &token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revocation touched only the deprovisioned users.
    let (status, body) = server.me(&bystander_session).await;
    assert_eq!(status, StatusCode::OK, "the bystander's session: {body}");
    assert_eq!(body["id"], bystander_id.as_str());

    // The app's other answers.
    let (status, body) = server.login(&unique("nobody")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "unknown user: {body}");
    let (status, _) = send(
        server
            .client
            .post(server.url("/app/login"))
            .body("not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(server.client.get(server.url("/app/me"))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/app/me without a session"
    );
    let (status, _) = server.me("sess-forged").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/app/me with a forged session"
    );

    // SCIM without a token, or with a wrong one: 401 with a Bearer challenge.
    for request in [
        server.client.get(server.url("/scim/v2/Users")),
        server.scim(reqwest::Method::GET, "/Users", &random_token()),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers().get("www-authenticate").cloned();
        assert!(
            challenge.is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
            "401 without `WWW-Authenticate: Bearer`"
        );
    }

    // The SCIM token is never logged.
    let log = server.log();
    assert!(
        !log.iter().any(|line| line.contains(&token)),
        "the SCIM token appears in the server's log"
    );
}

/// `--token a,b`: both tokens authenticate (rotation without downtime).
async fn two_tokens_both_work(bin: &str) {
    let (old, new) = (random_token(), random_token());
    let tokens = format!("{old},{new}");
    let server = Server::start(bin, &["--token", &tokens]);
    assert_eq!(server.generated_token, None);
    let user = unique("rotated");
    let id = server.create_user(&old, &user).await;
    let (status, body) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{id}"), &new)).await;
    assert_eq!(status, StatusCode::OK, "the second token: {body}");
    assert_eq!(body["userName"], user.as_str());
    for token in [&old, &new] {
        let (status, _) =
            send(server.scim(reqwest::Method::GET, "/ServiceProviderConfig", token)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", &tokens)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the comma-joined text is no token"
    );
    let log = server.log();
    assert!(
        !log.iter()
            .any(|line| line.contains(&old) || line.contains(&new)),
        "a SCIM token appears in the server's log"
    );
}

/// `--token strict=A,B`: A's client runs under the `strict` profile, B's under `default`.
/// Entra ID's `{"op": "Replace", "path": "active", "value": "False"}` deactivates through B
/// and is refused (400) through A; the audit events name each request's profile.
async fn tokens_carry_their_profile(bin: &str) {
    let (strict, plain) = (random_token(), random_token());
    let tokens = format!("strict={strict},{plain}");
    let server = Server::start(bin, &["--token", &tokens]);
    let id = server.create_user(&plain, &unique("profiled")).await;
    let entra = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    });
    let path = format!("/Users/{id}");
    let (status, body) = send(
        server
            .scim(reqwest::Method::PATCH, &path, &strict)
            .json(&entra),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "strict: {body}");
    let (status, body) = send(
        server
            .scim(reqwest::Method::PATCH, &path, &plain)
            .json(&entra),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "default: {body}");
    assert_eq!(body["active"], false);
    let log = server.wait_for_log("auditing the strict and default PATCHes", |l| {
        l.contains("profile=\"strict\"") && l.contains("patch")
    });
    let log = server
        .wait_for_log("auditing the default PATCH", |l| {
            l.contains("profile=\"default\"") && l.contains("patch")
        })
        .into_iter()
        .chain(log)
        .collect::<Vec<_>>();
    let audited = |profile: &str| {
        log.iter().any(|l| {
            l.contains("scim::audit")
                && l.contains("patch")
                && l.contains(&format!("profile=\"{profile}\""))
        })
    };
    assert!(audited("strict") && audited("default"), "{log:#?}");
    assert!(
        log.iter().any(|l| l.contains("profiles: strict, default")),
        "{log:#?}"
    );
}

/// Without `--token`, a random token is generated, printed once, and works.
async fn generated_token_is_printed_and_works(bin: &str) {
    let server = Server::start(bin, &[]);
    let token = server
        .generated_token
        .clone()
        .unwrap_or_else(|| panic!("no generated token announced: {:?}", server.log()));
    assert!(token.len() >= 32, "a short generated token: {token}");
    let (status, body) = send(server.scim(reqwest::Method::GET, "/Users", &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 0, "{body}");
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", &random_token())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let printed = server.log().iter().filter(|l| l.contains(&token)).count();
    assert_eq!(printed, 1, "the generated token is printed exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_session_dies_on_deactivation_and_delete() {
    session_dies_on_deactivation_and_delete(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_session_dies_on_deactivation_and_delete() {
    session_dies_on_deactivation_and_delete(ACTIX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_two_tokens_both_work() {
    two_tokens_both_work(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_two_tokens_both_work() {
    two_tokens_both_work(ACTIX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_generated_token_is_printed_and_works() {
    generated_token_is_printed_and_works(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_generated_token_is_printed_and_works() {
    generated_token_is_printed_and_works(ACTIX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_tokens_carry_their_profile() {
    tokens_carry_their_profile(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_tokens_carry_their_profile() {
    tokens_carry_their_profile(ACTIX).await;
}

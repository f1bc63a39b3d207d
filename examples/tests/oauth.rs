//! The OAuth 2.0 token endpoint of the example servers (client credentials, RFC 6749 §4.4)
//! and its JWTs on the SCIM channel, end to end against both real binaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A token request of the error table: Basic credentials, form, status, error code.
type ErrorCase<'a> = (
    Option<(&'a str, &'a str)>,
    &'a [(&'a str, &'a str)],
    StatusCode,
    &'a str,
);

const OKTA_SECRET: &str = "okta-client-secret-0123456789";
const READER_SECRET: &str = "reader-client-secret-0123456789";
const KEY_2026: &str = "k2026=signing-secret-2026-of-at-least-32-bytes";
const KEY_2027: &str = "k2027=signing-secret-2027-of-at-least-32-bytes";

fn start(bin: &str, keys: &str) -> Server {
    Server::start_on(
        bin,
        "memory",
        &[
            "--token",
            "static-token-0123456789abcdef",
            "--oauth-client",
            &format!("okta={OKTA_SECRET}"),
            "--oauth-client",
            &format!("reader={READER_SECRET} scim:read"),
            "--oauth-signing-key",
            keys,
        ],
    )
}

/// `POST /oauth/token` with a form body and, if given, HTTP Basic credentials.
async fn token_request(
    server: &Server,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = server
        .client
        .post(server.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    try_send(request).await.unwrap()
}

async fn access_token(server: &Server, id: &str, secret: &str) -> String {
    let (status, headers, body) = token_request(
        server,
        Some((id, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    body["access_token"].as_str().unwrap().to_owned()
}

async fn provision_with_client_credentials(bin: &str) {
    let server = start(bin, KEY_2026);
    // HTTP Basic client authentication; the token provisions a user.
    let token = access_token(&server, "okta", OKTA_SECRET).await;
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let id = server.create_user(&token, &unique("oauth")).await;
    let (status, _) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{id}"), &token)).await;
    assert_eq!(status, StatusCode::OK);
    // Form-field client authentication, with a narrower scope than allowed.
    let (status, _, body) = token_request(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "okta"),
            ("client_secret", OKTA_SECRET),
            ("scope", "scim:read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "scim:read");
    let narrow = body["access_token"].as_str().unwrap();
    let (status, body) = send(
        server
            .scim(reqwest::Method::POST, "/Users", narrow)
            .json(&json!({"schemas": [USER_SCHEMA], "userName": unique("narrow")})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A read-only client reads and may not write.
    let reader = access_token(&server, "reader", READER_SECRET).await;
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", &reader)).await;
    assert_eq!(status, StatusCode::OK);
    let response = server
        .scim(reqwest::Method::DELETE, &format!("/Users/{id}"), &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");

    // RFC 6749 §5.2 errors.
    let cases: &[ErrorCase] = &[
        (
            Some(("okta", "wrong-secret-0123456789")),
            &[("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some(("nobody", OKTA_SECRET)),
            &[("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            None,
            &[("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some(("okta", OKTA_SECRET)),
            &[("grant_type", "password")],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            Some(("okta", OKTA_SECRET)),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Some(("reader", READER_SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "scim:write"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            Some(("okta", OKTA_SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", OKTA_SECRET),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (basic, form, status, code) in cases {
        let (got, headers, body) = token_request(&server, *basic, form).await;
        assert_eq!(got, *status, "{form:?}: {body}");
        assert_eq!(body["error"], *code, "{form:?}: {body}");
        assert!(body.get("access_token").is_none());
        if *status == StatusCode::UNAUTHORIZED && basic.is_some() {
            assert!(headers.contains_key("www-authenticate"), "{form:?}");
        }
    }
    // A made-up token and a token of another issuer's key are refused.
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", "a.b.c")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The static token keeps working beside OAuth.
    let (status, _) = send(server.scim(
        reqwest::Method::GET,
        "/Users",
        "static-token-0123456789abcdef",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    // No token text in the log.
    let log = server.log().join("\n");
    assert!(
        !log.contains(&token) && !log.contains(OKTA_SECRET),
        "a secret was logged"
    );
}

/// Replicas with the same keys verify each other's tokens; a server that has the next key
/// too still accepts tokens of the old one, and one without the old key refuses them.
async fn replicas_share_keys_and_rotate(bin: &str) {
    let first = start(bin, KEY_2026);
    let token = access_token(&first, "okta", OKTA_SECRET).await;
    let rotating = start(bin, &format!("{KEY_2027},{KEY_2026}"));
    let (status, _) = send(rotating.scim(reqwest::Method::GET, "/Users", &token)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token of the old key during the rotation"
    );
    let new_token = access_token(&rotating, "okta", OKTA_SECRET).await;
    let (status, _) = send(first.scim(reqwest::Method::GET, "/Users", &new_token)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the first server lacks the new key"
    );
    let rotated = start(bin, KEY_2027);
    let (status, _) = send(rotated.scim(reqwest::Method::GET, "/Users", &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old key is gone");
    let (status, _) = send(rotated.scim(reqwest::Method::GET, "/Users", &new_token)).await;
    assert_eq!(status, StatusCode::OK);
}

/// A token signed with `key` (HS256 unless `alg` says otherwise) under kid `k2026`.
fn forge(alg: jsonwebtoken::Algorithm, key: &jsonwebtoken::EncodingKey, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some("k2026".into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// Tokens the server did not issue, or may no longer accept, get 401 `invalid_token` on
/// the SCIM channel of the real binary: expired, for another audience, from another
/// issuer, `alg: none`, and an RS256 token under the HS256 key's id (key confusion).
async fn forged_tokens_are_refused(bin: &str) {
    let server = start(bin, KEY_2026);
    let secret = KEY_2026.split_once('=').unwrap().1.as_bytes();
    let hs = jsonwebtoken::EncodingKey::from_secret(secret);
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, iat: i64, exp: i64| {
        json!({
            "iss": iss, "aud": aud, "sub": "okta", "client_id": "okta", "tenant": "default",
            "scope": "scim:read scim:write", "iat": iat, "exp": exp,
        })
    };
    let (iss, aud) = (scim_examples::oauth::ISSUER, scim_examples::oauth::AUDIENCE);
    // The same signing path, with good claims, is accepted: the refusals below are about
    // what each token gets wrong.
    let good = forge(
        jsonwebtoken::Algorithm::HS256,
        &hs,
        &claims(iss, aud, now, now + 600),
    );
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", &good)).await;
    assert_eq!(status, StatusCode::OK);

    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let rsa = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
        "../../scim-core/tests/fixtures/jwt/rsa-private.pem"
    ))
    .unwrap();
    let cases = [
        (
            "expired",
            forge(
                jsonwebtoken::Algorithm::HS256,
                &hs,
                &claims(iss, aud, now - 7200, now - 3600),
            ),
        ),
        (
            "another audience",
            forge(
                jsonwebtoken::Algorithm::HS256,
                &hs,
                &claims(iss, "urn:other:api", now, now + 600),
            ),
        ),
        (
            "another issuer",
            forge(
                jsonwebtoken::Algorithm::HS256,
                &hs,
                &claims("https://evil.example", aud, now, now + 600),
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": "k2026"})),
                b64(&claims(iss, aud, now, now + 600))
            ),
        ),
        (
            "RS256 under the HS256 key's id",
            forge(
                jsonwebtoken::Algorithm::RS256,
                &rsa,
                &claims(iss, aud, now, now + 600),
            ),
        ),
        (
            "HS256 signed with another secret",
            forge(
                jsonwebtoken::Algorithm::HS256,
                &jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!"),
                &claims(iss, aud, now, now + 600),
            ),
        ),
    ];
    for (what, token) in cases {
        let response = server
            .scim(reqwest::Method::GET, "/Users", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.contains("invalid_token"), "{what}: {challenge}");
    }
}

#[tokio::test]
async fn axum_refuses_forged_tokens() {
    forged_tokens_are_refused(AXUM).await;
}

#[tokio::test]
async fn actix_refuses_forged_tokens() {
    forged_tokens_are_refused(ACTIX).await;
}

#[tokio::test]
async fn axum_provisions_with_client_credentials() {
    provision_with_client_credentials(AXUM).await;
}

#[tokio::test]
async fn actix_provisions_with_client_credentials() {
    provision_with_client_credentials(ACTIX).await;
}

#[tokio::test]
async fn axum_replicas_share_keys_and_rotate() {
    replicas_share_keys_and_rotate(AXUM).await;
}

#[tokio::test]
async fn actix_replicas_share_keys_and_rotate() {
    replicas_share_keys_and_rotate(ACTIX).await;
}

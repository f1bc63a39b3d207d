//! JWT access tokens on the SCIM channel (feature `jwt`), through the whole engine: what is
//! accepted, what gets 401 `invalid_token` and what gets 403 `insufficient_scope`
//! (RFC 6750 §3.1). The keys under `tests/fixtures/jwt/` are test keys made for this file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scim_core::jwt::{JwtAuthenticator, JwtKey};
use scim_core::{
    BearerAuthenticator, FirstOf, MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimRequest,
};
use serde_json::{Value, json};
use std::sync::Arc;

const ISSUER: &str = "https://app.example.com";
const AUDIENCE: &str = "https://app.example.com/scim/v2";
const HMAC: &[u8] = b"test-secret-of-at-least-32-bytes-long!!";
const RSA_PRIVATE: &[u8] = include_bytes!("fixtures/jwt/rsa-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/rsa-public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("fixtures/jwt/ec-private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("fixtures/jwt/ec-public.pem");
const STATIC_TOKEN: &str = "static-token-for-the-same-tenant-0123";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(scope: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "tenant": "acme", "client_id": "okta-oauth",
        "sub": "okta-oauth", "scope": scope, "iat": now(), "exp": now() + 300,
    })
}

fn sign(kid: &str, alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs(kid: &str, claims: &Value) -> String {
    sign(
        kid,
        Algorithm::HS256,
        &EncodingKey::from_secret(HMAC),
        claims,
    )
}

fn rs(kid: &str, claims: &Value) -> String {
    sign(
        kid,
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        claims,
    )
}

fn authenticator() -> JwtAuthenticator {
    JwtAuthenticator::new(ISSUER, AUDIENCE)
        .with_key("hs-1", JwtKey::hs256(HMAC))
        .with_key("rs-1", JwtKey::rs256_pem(RSA_PUBLIC).unwrap())
        .with_key("es-1", JwtKey::es256_pem(EC_PUBLIC).unwrap())
}

fn engine(jwt: &JwtAuthenticator) -> ScimEngine {
    let bearer = BearerAuthenticator::new().with_token("acme", "static", STATIC_TOKEN);
    ScimEngine::builder(MemoryStore::new())
        .authenticator(FirstOf::new(vec![Arc::new(bearer), Arc::new(jwt.clone())]))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

async fn call(
    engine: &ScimEngine,
    token: &str,
    method: Method,
    path: &str,
) -> scim_core::ScimResponse {
    let mut request = ScimRequest::new(method, path)
        .with_header("authorization", format!("Bearer {token}"))
        .with_base_url("https://app.example.com/scim/v2");
    if method == Method::Post {
        request = request
            .with_header("content-type", "application/scim+json")
            .with_body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": format!("u{}", uuid::Uuid::new_v4())})
                .to_string(),
            );
    }
    engine.handle(request).await
}

fn assert_invalid_token(response: &scim_core::ScimResponse, what: &str) {
    assert_eq!(response.status, 401, "{what}: {:?}", response.json());
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
}

#[tokio::test]
async fn valid_tokens_of_every_key_provision_and_static_tokens_still_work() {
    let jwt = authenticator();
    let engine = engine(&jwt);
    let es = sign(
        "es-1",
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        &claims("scim:write"),
    );
    for token in [
        hs("hs-1", &claims("scim:write")),
        rs("rs-1", &claims("openid scim:write")),
        es,
        STATIC_TOKEN.to_owned(),
    ] {
        let created = call(&engine, &token, Method::Post, "/Users").await;
        assert_eq!(created.status, 201, "{:?}", created.json());
        let listed = call(&engine, &token, Method::Get, "/Users").await;
        assert_eq!(listed.status, 200);
    }
    // Every token is of tenant `acme`: all four users are in one list.
    let listed = call(&engine, STATIC_TOKEN, Method::Get, "/Users").await;
    assert_eq!(listed.json()["totalResults"], 4);
}

#[tokio::test]
async fn bad_tokens_get_401_invalid_token() {
    let jwt = authenticator();
    let engine = engine(&jwt);
    let mut expired = claims("scim:write");
    expired["exp"] = json!(now() - 120);
    let mut early = claims("scim:write");
    early["nbf"] = json!(now() + 600);
    let mut audience = claims("scim:write");
    audience["aud"] = json!("https://other.example.com");
    let mut issuer = claims("scim:write");
    issuer["iss"] = json!("https://evil.example.com");
    let mut no_tenant = claims("scim:write");
    no_tenant.as_object_mut().unwrap().remove("tenant");
    let mut no_exp = claims("scim:write");
    no_exp.as_object_mut().unwrap().remove("exp");
    // `alg: none`: header and claims, no signature.
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "hs-1", "typ": "JWT"})),
        b64(&claims("scim:write"))
    );
    // HS/RS confusion: an HS256 token whose secret is the RSA public key, under the RSA
    // key's kid.
    let confused = sign(
        "rs-1",
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUBLIC),
        &claims("scim:write"),
    );
    // The right algorithm under another key's kid, and a wrong secret.
    let wrong_kid = hs("rs-1", &claims("scim:write"));
    let wrong_secret = sign(
        "hs-1",
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!"),
        &claims("scim:write"),
    );
    let mut tampered = hs("hs-1", &claims("scim:read"));
    tampered.push('x');
    let cases = [
        ("expired", hs("hs-1", &expired)),
        ("not yet valid", hs("hs-1", &early)),
        ("wrong audience", rs("rs-1", &audience)),
        ("wrong issuer", rs("rs-1", &issuer)),
        ("no tenant", hs("hs-1", &no_tenant)),
        ("no exp", hs("hs-1", &no_exp)),
        ("alg none", none),
        ("HS/RS confusion", confused),
        ("wrong kid", wrong_kid),
        ("wrong secret", wrong_secret),
        ("unknown kid", hs("hs-9", &claims("scim:write"))),
        ("tampered", tampered),
        ("not a JWT", "not-a-token".to_owned()),
    ];
    for (what, token) in cases {
        let response = call(&engine, &token, Method::Get, "/Users").await;
        assert_invalid_token(&response, what);
        let detail = response.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!detail.contains(&token), "{what}: the token is echoed");
    }
    // Without credentials: 401 without an error code (RFC 6750 §3.1).
    let response = engine.handle(ScimRequest::new(Method::Get, "/Users")).await;
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"SCIM\"")
    );
}

#[tokio::test]
async fn scopes_decide_what_a_token_may_do() {
    let jwt = authenticator();
    let engine = engine(&jwt);
    let read = hs("hs-1", &claims("scim:read"));
    assert_eq!(
        call(&engine, &read, Method::Get, "/Users").await.status,
        200
    );
    let search = engine
        .handle(
            ScimRequest::new(Method::Post, "/Users/.search")
                .with_header("authorization", format!("Bearer {read}"))
                .with_header("content-type", "application/scim+json")
                .with_body(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})
                        .to_string(),
                ),
        )
        .await;
    assert_eq!(search.status, 200, "{:?}", search.json());
    for (token, method, path, scope) in [
        (&read, Method::Post, "/Users", "scim:write"),
        (&read, Method::Delete, "/Users/x", "scim:write"),
        (&read, Method::Post, "/Bulk", "scim:write"),
    ] {
        let response = call(&engine, token, method, path).await;
        assert_eq!(response.status, 403, "{method:?} {path}");
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"insufficient_scope\"")
                && challenge.contains(&format!("scope=\"{scope}\"")),
            "{challenge}"
        );
    }
    // Nothing was created by the read-only token.
    let listed = call(&engine, &read, Method::Get, "/Users").await;
    assert_eq!(listed.json()["totalResults"], 0);
    // A token without a SCIM scope may do nothing; `scp` arrays count too.
    let none = hs("hs-1", &claims("openid profile"));
    let response = call(&engine, &none, Method::Get, "/Users").await;
    assert_eq!(response.status, 403);
    assert!(
        response
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"scim:read\"")
    );
    let mut scp = claims("");
    scp["scp"] = json!(["scim:write"]);
    let response = call(&engine, &hs("hs-1", &scp), Method::Post, "/Users").await;
    assert_eq!(response.status, 201);
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_valid_until_removed() {
    let jwt = JwtAuthenticator::new(ISSUER, AUDIENCE).with_key("hs-1", JwtKey::hs256(HMAC));
    let engine = engine(&jwt);
    let old = hs("hs-1", &claims("scim:write"));
    let host_side = jwt.clone();
    host_side.add_key("rs-1", JwtKey::rs256_pem(RSA_PUBLIC).unwrap());
    let new = rs("rs-1", &claims("scim:write"));
    assert_eq!(call(&engine, &old, Method::Get, "/Users").await.status, 200);
    assert_eq!(call(&engine, &new, Method::Get, "/Users").await.status, 200);
    assert!(host_side.remove_key("hs-1"));
    assert_invalid_token(
        &call(&engine, &old, Method::Get, "/Users").await,
        "removed key",
    );
    assert_eq!(call(&engine, &new, Method::Get, "/Users").await.status, 200);
    // Within the leeway an expired token still passes; past it, not.
    let mut just_expired = claims("scim:write");
    just_expired["exp"] = json!(now() - 5);
    assert_eq!(
        call(&engine, &rs("rs-1", &just_expired), Method::Get, "/Users")
            .await
            .status,
        200
    );
    let strict = jwt.clone().with_leeway(0);
    let strict_engine = self::engine(&strict);
    assert_invalid_token(
        &call(
            &strict_engine,
            &rs("rs-1", &just_expired),
            Method::Get,
            "/Users",
        )
        .await,
        "no leeway",
    );
}

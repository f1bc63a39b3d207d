//! The built-in bearer authenticator (RFC 6750 §2.1) and the `Authenticator` trait.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::{AuthError, Authenticator, BearerAuthenticator, Headers, Principal};
use std::sync::Arc;

const OKTA: &str = "okta-token-1f3a9c7e5b2d4f6a8c0e";
const ENTRA: &str = "entra-token-9b8a7c6d5e4f3a2b1c0d";

fn bearer(value: &str) -> Headers {
    let mut headers = Headers::new();
    headers.insert("Authorization", value);
    headers
}

async fn auth_with(
    authenticator: &impl Authenticator,
    token: &str,
) -> Result<Principal, AuthError> {
    authenticator
        .authenticate(&bearer(&format!("Bearer {token}")))
        .await
}

#[tokio::test]
async fn valid_token_yields_principal_with_tenant_and_label() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta-prod", OKTA);
    let principal = auth_with(&auth, OKTA).await.unwrap();
    assert_eq!(&*principal.tenant, "acme");
    assert_eq!(&*principal.subject, "okta-prod");
    assert_eq!(principal.user_id, None);
}

#[tokio::test]
async fn user_token_binds_principal_to_user() {
    let auth = BearerAuthenticator::new().with_user_token("acme", "bjensen-cli", "2819c223", OKTA);
    let principal = auth_with(&auth, OKTA).await.unwrap();
    assert_eq!(principal.user_id.as_deref(), Some("2819c223"));
    assert_eq!(&*principal.subject, "bjensen-cli");
}

#[tokio::test]
async fn several_tokens_per_tenant_all_work() {
    let auth = BearerAuthenticator::new()
        .with_token("acme", "okta-prod", OKTA)
        .with_token("acme", "entra-prod", ENTRA);
    assert_eq!(
        auth_with(&auth, OKTA).await.unwrap().subject.as_ref(),
        "okta-prod"
    );
    assert_eq!(
        auth_with(&auth, ENTRA).await.unwrap().subject.as_ref(),
        "entra-prod"
    );
    assert_eq!(auth.tokens_for("acme"), vec!["okta-prod", "entra-prod"]);
    assert_eq!(auth.len(), 2);
}

#[tokio::test]
async fn removed_token_is_rejected() {
    let auth = BearerAuthenticator::new()
        .with_token("acme", "okta-prod", OKTA)
        .with_token("acme", "entra-prod", ENTRA);
    assert!(auth.remove_token(OKTA));
    assert!(!auth.remove_token(OKTA), "already removed");
    assert_eq!(auth_with(&auth, OKTA).await, Err(AuthError::Invalid));
    assert!(auth_with(&auth, ENTRA).await.is_ok());
}

#[tokio::test]
async fn rotation_through_a_shared_handle_without_downtime() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta-2024", OKTA);
    // The engine owns the authenticator as a trait object; the host keeps a clone.
    let engine_side: Arc<dyn Authenticator> = Arc::new(auth.clone());
    let host_side = auth;

    assert!(auth_with(&engine_side, OKTA).await.is_ok());
    let new_token = "okta-token-rotated-0a1b2c3d4e5f6a7b";
    host_side.add_token("acme", "okta-2025", new_token);
    // Both live during the switch-over.
    assert_eq!(
        auth_with(&engine_side, OKTA)
            .await
            .unwrap()
            .subject
            .as_ref(),
        "okta-2024"
    );
    assert_eq!(
        auth_with(&engine_side, new_token)
            .await
            .unwrap()
            .subject
            .as_ref(),
        "okta-2025"
    );
    assert!(host_side.remove_token(OKTA));
    assert_eq!(auth_with(&engine_side, OKTA).await, Err(AuthError::Invalid));
    assert_eq!(
        auth_with(&engine_side, new_token)
            .await
            .unwrap()
            .subject
            .as_ref(),
        "okta-2025"
    );
}

#[tokio::test]
async fn remove_by_label_and_tenant() {
    let auth = BearerAuthenticator::new()
        .with_token("acme", "okta-prod", OKTA)
        .with_token("acme", "entra-prod", ENTRA)
        .with_token("globex", "okta-prod", "globex-token-5a4b3c2d1e0f");
    assert_eq!(auth.remove_label("acme", "okta-prod"), 1);
    assert_eq!(auth_with(&auth, OKTA).await, Err(AuthError::Invalid));
    assert!(auth_with(&auth, "globex-token-5a4b3c2d1e0f").await.is_ok());
    assert_eq!(auth.remove_tenant("acme"), 1);
    assert_eq!(auth.tokens_for("acme"), Vec::<String>::new());
    assert_eq!(auth.len(), 1);
}

#[tokio::test]
async fn tenants_are_separated() {
    let auth = BearerAuthenticator::new()
        .with_token("acme", "okta", OKTA)
        .with_token("globex", "okta", ENTRA);
    assert_eq!(
        auth_with(&auth, OKTA).await.unwrap().tenant.as_ref(),
        "acme"
    );
    assert_eq!(
        auth_with(&auth, ENTRA).await.unwrap().tenant.as_ref(),
        "globex"
    );
    assert_eq!(auth.tokens_for("acme").len(), 1);
    assert_eq!(auth.tokens_for("globex").len(), 1);
}

#[tokio::test]
async fn re_adding_a_token_reassigns_it() {
    let auth = BearerAuthenticator::new().with_token("acme", "old-label", OKTA);
    auth.add_token("acme", "new-label", OKTA);
    assert_eq!(auth.len(), 1);
    assert_eq!(
        auth_with(&auth, OKTA).await.unwrap().subject.as_ref(),
        "new-label"
    );
}

#[tokio::test]
async fn missing_header_is_missing() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
    assert_eq!(
        auth.authenticate(&Headers::new()).await,
        Err(AuthError::Missing)
    );
}

#[tokio::test]
async fn wrong_token_is_invalid() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
    assert_eq!(
        auth_with(&auth, "not-the-token").await,
        Err(AuthError::Invalid)
    );
    // A prefix or an extension of a live token is not the token.
    assert_eq!(auth_with(&auth, &OKTA[..10]).await, Err(AuthError::Invalid));
    assert_eq!(
        auth_with(&auth, &format!("{OKTA}x")).await,
        Err(AuthError::Invalid)
    );
}

#[tokio::test]
async fn no_tokens_rejects_everything() {
    let auth = BearerAuthenticator::new();
    assert!(auth.is_empty());
    assert_eq!(auth_with(&auth, OKTA).await, Err(AuthError::Invalid));
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let principal = auth
            .authenticate(&bearer(&format!("{scheme} {OKTA}")))
            .await;
        assert!(principal.is_ok(), "{scheme}");
    }
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
    let mut headers = Headers::new();
    headers.insert("AUTHORIZATION", format!("Bearer {OKTA}"));
    assert!(auth.authenticate(&headers).await.is_ok());
}

#[tokio::test]
async fn malformed_credentials_are_invalid() {
    let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
    for value in [
        String::new(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {OKTA}"),
        format!("Token {OKTA}"),
        format!("Bearer{OKTA}"),
        format!("Bearer {OKTA} extra"),
        format!("Bearer {OKTA}, Basic abc"),
        format!("Bearer \"{OKTA}\""),
        OKTA.to_owned(),
    ] {
        assert_eq!(
            auth.authenticate(&bearer(&value)).await,
            Err(AuthError::Invalid),
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn extra_spaces_between_scheme_and_token_are_allowed() {
    // RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token.
    let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
    assert!(
        auth.authenticate(&bearer(&format!("Bearer   {OKTA}")))
            .await
            .is_ok()
    );
    assert!(
        auth.authenticate(&bearer(&format!("  Bearer {OKTA}  ")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn tokens_that_cannot_be_sent_are_refused() {
    let auth = BearerAuthenticator::new()
        .with_token("acme", "empty", "")
        .with_token("acme", "spaced", "two words");
    assert!(auth.is_empty());
}

#[test]
fn debug_shows_counts_never_tokens_or_digests() {
    use sha2::{Digest, Sha256};
    let auth = BearerAuthenticator::new()
        .with_token("acme", "okta-prod", OKTA)
        .with_token("acme", "entra-prod", ENTRA)
        .with_token("globex", "okta", "globex-token-5a4b3c2d1e0f");
    let debug = format!("{auth:?}");
    let pretty = format!("{auth:#?}");
    for text in [&debug, &pretty] {
        for secret in [OKTA, ENTRA, "globex-token-5a4b3c2d1e0f"] {
            assert!(!text.contains(secret), "{text}");
            let hex: String = Sha256::digest(secret.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(!text.contains(&hex), "{text}");
            assert!(!text.contains(&hex[..16]), "{text}");
        }
    }
    assert!(debug.contains('3'), "{debug}");
    assert!(debug.contains("acme"), "{debug}");
}

mod through_the_engine {
    use super::*;
    use scim_core::{MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimRequest};

    fn engine(auth: BearerAuthenticator) -> ScimEngine {
        ScimEngine::builder(MemoryStore::new())
            .authenticator(auth)
            .revoker(NoSessionsToRevoke)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn missing_or_wrong_credentials_get_401_with_www_authenticate() {
        let engine = engine(BearerAuthenticator::new().with_token("acme", "okta", OKTA));
        for header in [None, Some("Bearer wrong-token"), Some("Basic YWJjOmRlZg==")] {
            let mut request = ScimRequest::new(Method::Get, "/Users");
            if let Some(value) = header {
                request = request.with_header("Authorization", value);
            }
            let response = engine.handle(request).await;
            assert_eq!(response.status, 401, "{header:?}");
            assert!(
                response
                    .header("www-authenticate")
                    .unwrap()
                    .starts_with("Bearer"),
                "{header:?}"
            );
            let body = response.json();
            assert_eq!(body["status"], "401");
            assert_eq!(
                body["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
            assert!(!body.to_string().contains("wrong-token"));
        }
    }

    #[tokio::test]
    async fn valid_token_is_served_and_rotation_applies_at_once() {
        let auth = BearerAuthenticator::new().with_token("acme", "okta", OKTA);
        let engine = engine(auth.clone());
        let get = |token: &str| {
            ScimRequest::new(Method::Get, "/Users")
                .with_header("Authorization", format!("Bearer {token}"))
        };
        assert_eq!(engine.handle(get(OKTA)).await.status, 200);
        auth.add_token("acme", "okta-next", ENTRA);
        auth.remove_token(OKTA);
        assert_eq!(engine.handle(get(OKTA)).await.status, 401);
        assert_eq!(engine.handle(get(ENTRA)).await.status, 200);
    }
}

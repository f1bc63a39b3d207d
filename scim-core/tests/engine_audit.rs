//! Audit events (issue: "a `tracing` event for every operation (tenant, operation, resource
//! type, id, outcome, status) and a warning for every authentication failure; token text
//! never appears in any log").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::{
    BearerAuthenticator, MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimRequest,
};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const TOKEN: &str = "tok-7f3a9c1e5b2d4f60-very-secret";
const WRONG_TOKEN: &str = "tok-wrong-0123456789abcdef-guess";

#[test]
fn every_operation_is_audited_and_no_token_text_is_logged() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let created_id = tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let engine = ScimEngine::builder(MemoryStore::new())
                .authenticator(BearerAuthenticator::new().with_token("acme", "okta", TOKEN))
                .revoker(NoSessionsToRevoke)
                .build()
                .unwrap();
            let authed = |method, path: &str| {
                ScimRequest::new(method, path)
                    .with_header("authorization", format!("Bearer {TOKEN}"))
                    .with_base_url("https://example.com/scim/v2")
            };
            let created = engine
                .handle(
                    authed(Method::Post, "/Users")
                        .with_body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "active": true}).to_string()),
                )
                .await;
            assert_eq!(created.status, 201);
            let id = created.json()["id"].as_str().unwrap().to_owned();
            let deleted = engine
                .handle(authed(Method::Delete, &format!("/Users/{id}")))
                .await;
            assert_eq!(deleted.status, 204);
            let missing = engine
                .handle(authed(Method::Get, &format!("/Users/{id}")))
                .await;
            assert_eq!(missing.status, 404);
            let refused = engine
                .handle(
                    ScimRequest::new(Method::Get, "/Users")
                        .with_header("authorization", format!("Bearer {WRONG_TOKEN}")),
                )
                .await;
            assert_eq!(refused.status, 401);
            id
        })
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let audit: Vec<&str> = log.lines().filter(|l| l.contains("scim::audit")).collect();
    // One event per operation, each with tenant, operation, resource type, outcome, status.
    let create = audit
        .iter()
        .find(|l| l.contains("create"))
        .expect("create is audited");
    for field in ["tenant=\"acme\"", "User", "status=201"] {
        assert!(create.contains(field), "{field} missing in {create}");
    }
    assert!(
        audit
            .iter()
            .any(|l| l.contains("delete") && l.contains("status=204"))
    );
    assert!(
        audit
            .iter()
            .any(|l| l.contains("get") && l.contains("status=404"))
    );
    let auth_failure = audit
        .iter()
        .find(|l| l.contains("WARN") && l.contains("status=401"))
        .expect("authentication failure is a warning");
    assert!(auth_failure.contains("authentication failed"));
    // The created id is in the audit trail; neither token ever is.
    assert!(
        create.contains(&format!("id=\"{created_id}\""))
            || create.contains(&format!("id={created_id}")),
        "create event names the created id {created_id}: {create}"
    );
    assert!(!log.contains(TOKEN), "the live token leaked into the log");
    assert!(
        !log.contains(WRONG_TOKEN),
        "the presented token leaked into the log"
    );
}

/// Accepts every request as a caller whose subject (say, a JWT's `sub`) carries a line break.
struct ForgingSubject;

#[async_trait::async_trait]
impl scim_core::Authenticator for ForgingSubject {
    async fn authenticate(
        &self,
        _headers: &scim_core::Headers,
    ) -> Result<scim_core::Principal, scim_core::AuthError> {
        Ok(scim_core::Principal::new(
            "acme",
            "mallory\nINFO scim::audit: forged=\"yes\"",
        ))
    }
}

/// The log lines (plain text) of one request through an engine with `authenticator`, and
/// the response's status.
fn logged_lines(
    authenticator: impl scim_core::Authenticator,
    request: ScimRequest,
) -> (u16, Vec<String>) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let engine = ScimEngine::builder(MemoryStore::new())
                .authenticator(authenticator)
                .revoker(NoSessionsToRevoke)
                .build()
                .unwrap();
            engine.handle(request).await.status
        })
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (status, log.lines().map(str::to_owned).collect())
}

#[test]
fn a_subject_cannot_forge_an_audit_line() {
    let (status, lines) = logged_lines(ForgingSubject, ScimRequest::new(Method::Get, "/Users"));
    assert_eq!(status, 200);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(r#"subject="mallory\nINFO scim::audit: forged=\"yes\"""#),
        "{lines:#?}"
    );
}

#[test]
fn a_request_path_cannot_forge_an_audit_line() {
    let (status, lines) = logged_lines(
        BearerAuthenticator::new().with_token("acme", "okta", TOKEN),
        ScimRequest::new(Method::Get, "/Users%0AINFO%20scim::audit:%20forged"),
    );
    assert_eq!(status, 401);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(r#"path="/Users\nINFO scim::audit: forged""#),
        "{lines:#?}"
    );
}

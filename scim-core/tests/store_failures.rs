//! A store that fails: the client gets 503 with `Retry-After` and a generic detail, never a
//! panic or a partial write; the failure is logged once, as a `scim::store` error event with
//! tenant, operation, resource type, id and the whole source chain — without the request
//! body or the token.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use scim_core::schema::ResourceTypeView;
use scim_core::store::{Membership, Query, QueryPage, Replaced, StoredResource, Version};
use scim_core::{
    BearerAuthenticator, MemoryStore, Method, NoSessionsToRevoke, RequestContext, ScimEngine,
    ScimRequest, Store, StoreError,
};
use serde_json::json;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

/// The database's own error, with a cause.
#[derive(Debug, thiserror::Error)]
#[error("pool timed out while waiting for an open connection")]
struct PoolTimeout(#[source] std::io::Error);

/// `MemoryStore` that fails every call while `down` is set.
#[derive(Clone, Default)]
struct Flaky {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            let cause = std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection refused (os error 111)",
            );
            return Err(StoreError::backend(PoolTimeout(cause)));
        }
        Ok(())
    }
}

#[async_trait]
impl Store for Flaky {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        r: &StoredResource,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create(ctx, view, r).await
    }
    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.check()?;
        self.inner.get(ctx, view, id).await
    }
    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        r: &StoredResource,
        v: Version,
    ) -> Result<Replaced, StoreError> {
        self.check()?;
        self.inner.replace(ctx, view, r, v).await
    }
    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        v: Option<Version>,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete(ctx, view, id, v).await
    }
    async fn query(&self, ctx: &RequestContext, q: &Query<'_>) -> Result<QueryPage, StoreError> {
        self.check()?;
        self.inner.query(ctx, q).await
    }
    async fn memberships(
        &self,
        ctx: &RequestContext,
        g: &ResourceTypeView,
        ids: &[&str],
    ) -> Result<Vec<Membership>, StoreError> {
        self.check()?;
        self.inner.memberships(ctx, g, ids).await
    }
}

const TOKEN: &str = "tok-51f0c2a8e7d94b36-secret";

#[test]
fn a_failing_store_answers_503_and_logs_the_source_chain_once() {
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
    let store = Flaky::default();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let engine = ScimEngine::builder(store.clone())
                .authenticator(BearerAuthenticator::new().with_token("acme", "okta-prod", TOKEN))
                .revoker(NoSessionsToRevoke)
                .build()
                .unwrap();
            let send = |method, path: &str, body: Option<serde_json::Value>| {
                let mut req = ScimRequest::new(method, path)
                    .with_header("authorization", format!("Bearer {TOKEN}"))
                    .with_base_url("https://example.com/scim/v2");
                if let Some(body) = body {
                    req = req.with_body(body.to_string().into_bytes());
                }
                engine.handle(req)
            };
            let created = send(Method::Post, "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}))).await;
            assert_eq!(created.status, 201);
            let id = created.json()["id"].as_str().unwrap().to_owned();

            store.down.store(true, Ordering::SeqCst);
            let secret_body =
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "private-name-in-body", "password": "hunter2-in-body"});
            let requests = [
                (Method::Get, format!("/Users/{id}"), None),
                (Method::Get, "/Users".to_owned(), None),
                (Method::Post, "/Users".to_owned(), Some(secret_body)),
                (
                    Method::Patch,
                    format!("/Users/{id}"),
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "active", "value": false}]
                    })),
                ),
                (Method::Delete, format!("/Users/{id}"), None),
            ];
            for (method, path, body) in requests {
                let res = send(method, &path, body).await;
                assert_eq!(res.status, 503, "{} {path}", method.as_str());
                assert_eq!(res.header("retry-after"), Some("5"));
                let detail = res.json()["detail"].as_str().unwrap().to_owned();
                assert!(detail.contains("storage is unavailable"), "{detail}");
                assert!(
                    !detail.contains("pool"),
                    "the cause stays in the log: {detail}"
                );
            }

            store.down.store(false, Ordering::SeqCst);
            let back = send(Method::Get, &format!("/Users/{id}"), None).await;
            assert_eq!(back.status, 200, "nothing changed while the store was down");
            assert_eq!(back.json()["active"], json!(null));
        })
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("store failure"))
        .collect();
    assert_eq!(failures.len(), 5, "one event per failed request:\n{log}");
    for line in &failures {
        assert!(
            line.contains("ERROR") && line.contains("scim::store"),
            "{line}"
        );
        assert!(
            line.contains("tenant=\"acme\"") || line.contains("tenant=acme"),
            "{line}"
        );
        assert!(line.contains("resource_type=User"), "{line}");
        assert!(
            line.contains("pool timed out while waiting for an open connection: connection refused (os error 111)"),
            "the whole source chain: {line}"
        );
    }
    assert!(
        failures.iter().any(|l| l.contains("operation=\"get\"")),
        "{log}"
    );
    assert!(
        failures.iter().any(|l| l.contains("operation=\"query\"")),
        "{log}"
    );
    assert!(
        failures.iter().any(|l| l.contains("operation=\"create\"")),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "no token text in the log");
    assert!(
        !log.contains("hunter2-in-body") && !log.contains("private-name-in-body"),
        "no request body in the log"
    );
}

/// Counts the store errors observers are told of.
#[derive(Clone, Default)]
struct StoreErrors(Arc<Mutex<Vec<(u16, u32)>>>);

impl scim_core::ScimObserver for StoreErrors {
    fn observe(&self, exchange: &scim_core::Exchange) {
        self.0
            .lock()
            .unwrap()
            .push((exchange.status, exchange.store_errors));
    }
}

#[test]
fn observers_are_told_of_store_failures() {
    // Under a subscriber like the test above: tracing caches a callsite's interest, and a
    // callsite first reached with none would stay silent for the other test.
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Captured::default())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || runtime.block_on(observed_store_failures()));
}

async fn observed_store_failures() {
    let store = Flaky::default();
    let seen = StoreErrors::default();
    let engine = ScimEngine::builder(store.clone())
        .authenticator(scim_core::InsecureNoAuthentication::for_tenant("acme"))
        .revoker(NoSessionsToRevoke)
        .observer(seen.clone())
        .build()
        .unwrap();
    let list = || engine.handle(ScimRequest::new(Method::Get, "/Users"));
    assert_eq!(list().await.status, 200);
    store.down.store(true, Ordering::SeqCst);
    assert_eq!(list().await.status, 503);
    store.down.store(false, Ordering::SeqCst);
    assert_eq!(list().await.status, 200);
    assert_eq!(*seen.0.lock().unwrap(), [(200, 0), (503, 1), (200, 0)]);
}

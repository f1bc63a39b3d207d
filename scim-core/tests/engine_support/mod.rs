//! Shared helpers of the engine-level test suites (`tests/engine*.rs`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use scim_core::engine::EngineBuilder;
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, RequestContext, RevocationError,
    RevocationReason, Revoked, ScimEngine, ScimRequest, ScimResponse, TokenRevoker,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub const BASE: &str = "https://example.com/scim/v2";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// One revoker call: tenant, user ids, reason.
pub type Call = (String, Vec<String>, RevocationReason);

/// A revoker that records its calls and can be switched to fail.
#[derive(Clone, Default)]
pub struct Recorder {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub failing: Arc<AtomicBool>,
}

impl Recorder {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }
}

#[async_trait]
impl TokenRevoker for Recorder {
    async fn revoke(
        &self,
        ctx: &RequestContext,
        user_ids: &[String],
        reason: RevocationReason,
    ) -> Result<Revoked, RevocationError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(RevocationError::new("session service unreachable"));
        }
        self.calls
            .lock()
            .unwrap()
            .push((ctx.tenant().to_owned(), user_ids.to_vec(), reason));
        // One session per user, so observers see a count.
        Ok(Revoked::sessions(user_ids.len() as u64))
    }
}

/// An engine over a fresh `MemoryStore`, tenant `t1`, with a recording revoker.
pub fn engine() -> (ScimEngine, Recorder) {
    engine_with(|b| b)
}

/// As [`engine`], with builder tweaks.
pub fn engine_with(tweak: impl FnOnce(EngineBuilder) -> EngineBuilder) -> (ScimEngine, Recorder) {
    let recorder = Recorder::default();
    let builder = ScimEngine::builder(MemoryStore::new())
        .authenticator(InsecureNoAuthentication::for_tenant("t1"))
        .revoker(recorder.clone());
    (tweak(builder).build().unwrap(), recorder)
}

pub fn request(method: Method, path: &str) -> ScimRequest {
    ScimRequest::new(method, path).with_base_url(BASE)
}

pub fn with_json(req: ScimRequest, body: &Value) -> ScimRequest {
    req.with_header("content-type", "application/scim+json")
        .with_body(serde_json::to_vec(body).unwrap())
}

pub async fn call(
    engine: &ScimEngine,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> ScimResponse {
    let mut req = request(method, path);
    if let Some(body) = body {
        req = with_json(req, &body);
    }
    engine.handle(req).await
}

pub async fn get(engine: &ScimEngine, path: &str) -> ScimResponse {
    call(engine, Method::Get, path, None).await
}

pub async fn get_query(engine: &ScimEngine, path: &str, query: &str) -> ScimResponse {
    engine
        .handle(request(Method::Get, path).with_query(query))
        .await
}

pub async fn create_user(engine: &ScimEngine, user_name: &str) -> String {
    let res = call(
        engine,
        Method::Post,
        "/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()["id"].as_str().unwrap().to_owned()
}

pub async fn create_group(engine: &ScimEngine, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let res = call(
        engine,
        Method::Post,
        "/Groups",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()["id"].as_str().unwrap().to_owned()
}

pub fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

pub async fn patch_call(engine: &ScimEngine, path: &str, ops: Value) -> ScimResponse {
    call(engine, Method::Patch, path, Some(patch(ops))).await
}

/// Asserts a SCIM error response with `status` and optional `scimType`.
pub fn assert_error(res: &ScimResponse, status: u16, scim_type: Option<&str>) {
    assert_eq!(res.status, status, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.header("content-type"), Some("application/scim+json"));
    let body = res.json();
    assert_eq!(body["schemas"][0], ERROR);
    assert_eq!(body["status"], status.to_string());
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
}

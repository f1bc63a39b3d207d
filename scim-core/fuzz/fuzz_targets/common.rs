#![allow(dead_code)] // each engine-level target uses a part of this module
//! Engines over a memory store for the engine-level targets, and a helper that sends a
//! request through one and checks the answer's shape.

use scim_core::schema::SchemaRegistry;
use scim_core::{
    InsecureNoAuthentication, MemoryStore, Method, NoSessionsToRevoke, ScimEngine, ScimRequest,
};
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

/// The built-in registry, built once (building it per input dominated `bulk`).
fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(SchemaRegistry::default)
}

/// An engine over an empty memory store. Authentication is not what these targets fuzz
/// (the bearer parser has unit tests, the token digest is SHA-256), so every request is
/// let in as tenant `fuzz`, with no digest per request.
pub fn fresh_engine() -> ScimEngine {
    ScimEngine::builder(MemoryStore::new())
        .registry(registry().clone())
        .authenticator(InsecureNoAuthentication::for_tenant("fuzz"))
        .revoker(NoSessionsToRevoke)
        .build()
        .expect("engine")
}

/// One engine for every input of a target that does not write.
pub fn shared_engine() -> &'static ScimEngine {
    static ENGINE: OnceLock<ScimEngine> = OnceLock::new();
    ENGINE.get_or_init(fresh_engine)
}

/// Sends the request to `engine`; a client's input never gets a 5xx, and every answer with
/// a body is JSON.
pub fn check(engine: &ScimEngine, method: Method, path: &str, query: Option<&str>, body: &[u8]) {
    let runtime = runtime();
    let mut request = ScimRequest::new(method, path)
        .with_header("content-type", "application/scim+json")
        .with_body(body.to_vec())
        .with_base_url("http://fuzz.example/scim/v2");
    if let Some(query) = query {
        request = request.with_query(query);
    }
    let response = runtime.block_on(engine.handle(request));
    assert!(response.status < 500, "{} for {path}?{query:?}: {:?}", response.status, response.json());
    if !response.body.is_empty() {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&response.body).is_ok(),
            "a body that is not JSON"
        );
    }
}

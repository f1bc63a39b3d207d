//! axum adapter for the SCIM 2.0 engine in [`scim_core`] (RFC 7644 over HTTP).
//!
//! [`router`] turns a configured [`ScimEngine`] into an [`axum::Router`] that a host nests
//! under any path next to its own routes and state. The adapter only translates: an axum
//! request becomes a [`ScimRequest`], the engine's [`ScimResponse`] becomes an axum
//! response. All protocol logic lives in `scim-core`, which this crate re-exports, so a host
//! needs this one dependency.
//!
//! axum 0.8 routes a nested router's root only without a trailing slash (`/scim/v2`, not
//! `/scim/v2/`); to answer both, wrap the host app in tower-http's
//! `NormalizePathLayer::trim_trailing_slash()`, as the bundled example server does.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use scim_axum::scim_core::{BearerAuthenticator, MemoryStore, NoSessionsToRevoke, ScimEngine};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = ScimEngine::builder(MemoryStore::new())
//!     .authenticator(BearerAuthenticator::new().with_token("default", "okta", "s3cr3t-token"))
//!     .revoker(NoSessionsToRevoke)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "my app" }))
//!     .nest("/scim/v2", scim_axum::router(engine));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

pub use scim_core;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::any;
use scim_core::ScimEngine;
use scim_core::error::ScimError;
use scim_core::http::{BaseUrl, Headers, Method, ScimRequest, ScimResponse};
use std::sync::Arc;

/// A SCIM router with the default options: the base URL comes from the request
/// ([`BaseUrl::FromRequest`]). Nest it with `Router::nest("/scim/v2", …)`.
pub fn router<S>(engine: ScimEngine) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    ScimRouter::new(engine).into_router()
}

/// Options for the SCIM router.
#[derive(Debug, Clone)]
pub struct ScimRouter {
    engine: ScimEngine,
    base_url: BaseUrl,
}

impl ScimRouter {
    /// Options for serving `engine`.
    pub fn new(engine: ScimEngine) -> Self {
        Self {
            engine,
            base_url: BaseUrl::default(),
        }
    }

    /// Where `Location` and `meta.location` URLs come from (RFC 7644 §3.1).
    pub fn base_url(mut self, base_url: BaseUrl) -> Self {
        self.base_url = base_url;
        self
    }

    /// The router, to nest under the SCIM mount path.
    pub fn into_router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let state = Arc::new(self);
        Router::new()
            .route("/", any(handle))
            .route("/{*path}", any(handle))
            .with_state(state)
    }
}

async fn handle(
    State(scim): State<Arc<ScimRouter>>,
    OriginalUri(original): OriginalUri,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let limit = scim.engine.max_request_bytes();
    let body = match to_bytes(body, limit).await {
        Ok(body) => body,
        Err(_) => {
            return into_axum(ScimResponse::from_error(&ScimError::PayloadTooLarge(
                format!("the request body is over the limit of {limit} bytes"),
            )));
        }
    };
    let mut headers = Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
        }
    }
    // Inside `nest`, `parts.uri` is relative to the mount point; the original URI keeps it.
    let inner_path = parts.uri.path();
    let mount_path = original.path().strip_suffix(inner_path).unwrap_or("");
    let scheme = parts.uri.scheme_str().unwrap_or("http");
    let base_url = scim.base_url.resolve(scheme, &headers, mount_path);
    // The engine routes on decoded segments (`/Schemas/urn%3Aietf…` → `/Schemas/urn:ietf…`).
    let decoded = percent_encoding::percent_decode_str(inner_path).decode_utf8_lossy();
    let mut scim_request = ScimRequest::new(Method::from_name(parts.method.as_str()), decoded)
        .with_body(body)
        .with_base_url(base_url);
    scim_request.headers = headers;
    scim_request.query = parts.uri.query().map(str::to_owned);
    into_axum(scim.engine.handle(scim_request).await)
}

fn into_axum(response: ScimResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

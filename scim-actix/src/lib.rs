//! actix-web adapter for the SCIM 2.0 engine in [`scim_core`] (RFC 7644 over HTTP).
//!
//! [`configure`] registers a configured [`ScimEngine`] in a `web::scope`, so a host mounts
//! SCIM under any path next to its own services. The adapter only translates: an actix
//! request becomes a [`ScimRequest`], the engine's [`ScimResponse`] becomes an actix
//! response. All protocol logic lives in `scim-core`, which this crate re-exports, so a host
//! needs this one dependency.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use scim_actix::scim_core::{BearerAuthenticator, MemoryStore, NoSessionsToRevoke, ScimEngine};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = ScimEngine::builder(MemoryStore::new())
//!     .authenticator(BearerAuthenticator::new().with_token("default", "okta", "s3cr3t-token"))
//!     .revoker(NoSessionsToRevoke)
//!     .build()?;
//! HttpServer::new(move || {
//!     App::new()
//!         .route("/", web::get().to(|| async { "my app" }))
//!         .service(web::scope("/scim/v2").configure(scim_actix::configure(engine.clone())))
//! })
//! .bind("127.0.0.1:8080")?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! ```

pub use scim_core;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use scim_core::ScimEngine;
use scim_core::error::ScimError;
use scim_core::http::{BaseUrl, Headers, Method, ScimRequest, ScimResponse};
use std::borrow::Cow;
use web::Bytes;

/// Registers the SCIM service with the default options (base URL from the request,
/// [`BaseUrl::FromRequest`]). Use with `web::scope("/scim/v2").configure(…)`.
pub fn configure(engine: ScimEngine) -> impl FnOnce(&mut web::ServiceConfig) {
    ScimScope::new(engine).into_configure()
}

/// Options for the SCIM scope.
#[derive(Debug, Clone)]
pub struct ScimScope {
    engine: ScimEngine,
    base_url: BaseUrl,
}

impl ScimScope {
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

    /// The configuration function for `web::scope(…).configure(…)`.
    pub fn into_configure(self) -> impl FnOnce(&mut web::ServiceConfig) {
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::new(self))
                .default_service(web::to(handle));
        }
    }
}

async fn handle(
    scim: web::Data<ScimScope>,
    request: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    let limit = scim.engine.max_request_bytes();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return into_actix(ScimResponse::from_error(&ScimError::BadRequest(
                "the request body could not be read".into(),
            )));
        };
        if body.len() + chunk.len() > limit {
            return into_actix(ScimResponse::from_error(&ScimError::PayloadTooLarge(
                format!("the request body is over the limit of {limit} bytes"),
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let bytes = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let mut headers = Headers::with_capacity(request.headers().len(), bytes);
    for (name, value) in request.headers() {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
        }
    }
    // The scope consumed the mount path; what is left is the SCIM path. The router's view
    // of the path is partly decoded, so the mount path is found by its segment count in
    // the raw path (decoding never adds or removes a `/`: actix keeps `%2F` encoded), and
    // the engine decodes the rest itself, as for every adapter.
    let routed = request.match_info();
    let mount_segments = routed
        .as_str()
        .strip_suffix(routed.unprocessed())
        .unwrap_or_default()
        .matches('/')
        .count();
    let raw_path = request.uri().path();
    let split = raw_path
        .match_indices('/')
        .nth(mount_segments)
        .map_or(raw_path.len(), |(i, _)| i);
    let (mount_path, inner_path) = raw_path.split_at(split);
    let inner_path = if inner_path.is_empty() {
        "/"
    } else {
        inner_path
    };
    // The connection's scheme: `https` only on a listener the server binds with TLS.
    // (`connection_info()` would take `X-Forwarded-Proto` and `Forwarded` from the client.)
    let scheme = if request.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let base_url = scim.base_url.resolve(scheme, &headers, mount_path);
    let mut scim_request =
        ScimRequest::new(Method::from_name(request.method().as_str()), inner_path)
            .with_body(body.freeze())
            .with_base_url(base_url);
    scim_request.headers = headers;
    scim_request.query = Some(request.query_string().to_owned()).filter(|q| !q.is_empty());
    into_actix(scim.engine.handle(scim_request).await)
}

fn into_actix(response: ScimResponse) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), header_value(value))
        {
            out.append_header((name, value));
        }
    }
    out.body(response.body)
}

/// A header value without copying: fixed values are borrowed, others handed over.
fn header_value(
    value: Cow<'static, str>,
) -> Result<HeaderValue, actix_web::http::header::InvalidHeaderValue> {
    match value {
        Cow::Borrowed(text) => HeaderValue::from_maybe_shared(Bytes::from_static(text.as_bytes())),
        Cow::Owned(text) => HeaderValue::from_maybe_shared(Bytes::from(text)),
    }
}

//! axum adapter for the SCIM 2.0 engine in [`scim_core`] (RFC 7644 over HTTP).
//!
//! [`router`] turns a configured [`ScimEngine`] into an [`axum::Router`] that a host nests
//! under any path next to its own routes and state. The adapter only translates: an axum
//! request becomes a [`ScimRequest`], the engine's [`ScimResponse`] becomes an axum
//! response. All protocol logic lives in `scim-core`, which this crate re-exports, so a host
//! needs this one dependency.
//!
//! Two ways to mount it:
//!
//! * [`ScimRouter::mounted_at`] gives a router with the SCIM routes at their full paths,
//!   to [`merge`](axum::Router::merge) into the host app. It answers both `/scim/v2` and
//!   `/scim/v2/`, and it is the cheaper of the two: axum's `nest` rebuilds every request's
//!   URI without the prefix (an allocation-heavy few thousand instructions per request).
//!   The bundled example server mounts it this way.
//! * [`router`] / [`ScimRouter::into_router`] give a router to
//!   [`nest`](axum::Router::nest) under any path. axum 0.8 routes a nested router's root
//!   only without a trailing slash (`/scim/v2`, not `/scim/v2/`); to answer both, wrap the
//!   host app in tower-http's `NormalizePathLayer::trim_trailing_slash()`.
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
//!     .merge(scim_axum::ScimRouter::new(engine).mounted_at("/scim/v2")?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

pub use scim_core;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, any_service};
use scim_core::ScimEngine;
use scim_core::error::ScimError;
use scim_core::http::{BaseUrl, Headers, Method, ScimRequest, ScimResponse};
use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use tower::service_fn;

/// A SCIM router with the default options: the base URL comes from the request
/// ([`BaseUrl::FromRequest`]). Nest it with `Router::nest("/scim/v2", …)`; see
/// [`ScimRouter::mounted_at`] for the cheaper alternative.
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
    scheme: ConnectionScheme,
}

/// The scheme of the connection a request came over, for
/// [`BaseUrl::FromRequest`](scim_core::http::BaseUrl) (RFC 7644 §3.1 `Location`).
///
/// axum does not say whether a connection is TLS, so the router assumes
/// [`ScimRouter::connection_scheme`] (`http` unless set); a host that serves both inserts
/// this type as a request extension per connection (e.g. from its TLS acceptor), which
/// wins. Never taken from the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionScheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS terminated by this server.
    Https,
}

impl ConnectionScheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionScheme::Http => "http",
            ConnectionScheme::Https => "https",
        }
    }
}

/// A mount path [`ScimRouter::mounted_at`] cannot route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the SCIM mount path `{0}` must start with `/` and hold only letters, digits and `-._~/` \
     (no empty segments, no route parameters)"
)]
pub struct InvalidMountPath(pub String);

/// The state of a router from [`ScimRouter::mounted_at`].
#[derive(Debug)]
struct Mounted {
    scim: ScimRouter,
    /// The mount path without a trailing `/` (empty at the root).
    path: String,
}

impl ScimRouter {
    /// Options for serving `engine`.
    pub fn new(engine: ScimEngine) -> Self {
        Self {
            engine,
            base_url: BaseUrl::default(),
            scheme: ConnectionScheme::default(),
        }
    }

    /// Where `Location` and `meta.location` URLs come from (RFC 7644 §3.1).
    pub fn base_url(mut self, base_url: BaseUrl) -> Self {
        self.base_url = base_url;
        self
    }

    /// The scheme of the connections this router serves (`Https` when the server
    /// terminates TLS itself); a [`ConnectionScheme`] request extension overrides it.
    pub fn connection_scheme(mut self, scheme: ConnectionScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The router, to nest under the SCIM mount path (`Router::nest("/scim/v2", …)`).
    pub fn into_router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let endpoints = literal_endpoints(&self.engine);
        let state = Arc::new(self);
        let service = service_fn(move |request| handle_nested(Arc::clone(&state), request));
        let serve_all = || any_service(service.clone());
        let router = Router::new()
            .route("/", serve_all())
            .route("/{*path}", serve_all());
        with_endpoint_routes(router, "", &endpoints, serve_all)
    }

    /// The router with the SCIM service at `mount_path` (e.g. `/scim/v2`, or `/` for the
    /// root), to [`merge`](axum::Router::merge) into the host app. It answers the mount path
    /// with and without a trailing `/` and everything below it (RFC 7644 §3: the SCIM base
    /// URL and its endpoints). Its routes are the mount path, a catch-all below it, and each
    /// resource type's endpoint (e.g. `/scim/v2/Users`) with a catch-all below that; as with
    /// any axum routes, merging a host route at one of those paths panics.
    ///
    /// # Errors
    ///
    /// [`InvalidMountPath`] when `mount_path` does not start with `/`, has an empty segment,
    /// or holds characters other than ASCII letters, digits and `-._~`.
    pub fn mounted_at<S>(self, mount_path: &str) -> Result<Router<S>, InvalidMountPath>
    where
        S: Clone + Send + Sync + 'static,
    {
        let invalid = || InvalidMountPath(mount_path.to_owned());
        let path = mount_path.strip_suffix('/').unwrap_or(mount_path);
        let segments = mount_path.strip_prefix('/').ok_or_else(invalid)?;
        let segments = segments.strip_suffix('/').unwrap_or(segments);
        if !segments.is_empty() && !segments.split('/').all(is_plain_segment) {
            return Err(invalid());
        }
        let endpoints = literal_endpoints(&self.engine);
        let state = Arc::new(Mounted {
            scim: self,
            path: path.to_owned(),
        });
        let service = service_fn(move |request| handle_mounted(Arc::clone(&state), request));
        let serve_all = || any_service(service.clone());
        let router = Router::new().route(&format!("{path}/{{*path}}"), serve_all());
        let router = if path.is_empty() {
            router.route("/", serve_all())
        } else {
            router
                .route(path, serve_all())
                .route(&format!("{path}/"), serve_all())
        };
        Ok(with_endpoint_routes(router, path, &endpoints, serve_all))
    }
}

/// Whether `segment` is one path segment axum routes literally: ASCII letters, digits
/// and `-._~`, not empty.
fn is_plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The resource type endpoints (e.g. `Users`) that get routes of their own next to the
/// catch-all one: axum routes a literal path without capturing and decoding a route
/// parameter, which saves several allocations on every list, search and create, and a
/// catch-all below the endpoint keeps `Users/{id}` from backtracking out of the literal
/// route. Endpoints axum cannot route literally are served by the catch-all route alone.
fn literal_endpoints(engine: &ScimEngine) -> Vec<String> {
    engine
        .registry()
        .resource_types()
        .map(|view| view.resource_type.endpoint.trim_start_matches('/'))
        .filter(|endpoint| is_plain_segment(endpoint))
        .map(str::to_owned)
        .collect()
}

/// `router` with a route for each of `endpoints` under `prefix` and a catch-all below it.
/// Every route is a method router over the SCIM service, so every method reaches the engine,
/// which answers 405 itself; a method router rather than `route_service`, because
/// `Router::merge` wraps a service route in one more boxed layer per request.
fn with_endpoint_routes<S>(
    router: Router<S>,
    prefix: &str,
    endpoints: &[String],
    serve_all: impl Fn() -> MethodRouter<S>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    endpoints.iter().fold(router, |router, endpoint| {
        router
            .route(&format!("{prefix}/{endpoint}"), serve_all())
            .route(&format!("{prefix}/{endpoint}/{{*path}}"), serve_all())
    })
}

/// A request to a router from [`ScimRouter::into_router`], nested under the mount path.
async fn handle_nested(scim: Arc<ScimRouter>, request: Request) -> Result<Response, Infallible> {
    let (parts, body) = request.into_parts();
    // Inside `nest`, `parts.uri` is relative to the mount point; the original URI keeps it.
    let inner_path = parts.uri.path();
    let mount_path = parts
        .extensions
        .get::<OriginalUri>()
        .and_then(|original| original.path().strip_suffix(inner_path))
        .unwrap_or("");
    Ok(serve(&scim, &parts, body, mount_path, inner_path).await)
}

/// A request to a router from [`ScimRouter::mounted_at`].
async fn handle_mounted(mounted: Arc<Mounted>, request: Request) -> Result<Response, Infallible> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    // The routes are the mount path and what is below it.
    let inner_path = path.strip_prefix(mounted.path.as_str()).unwrap_or(path);
    Ok(serve(&mounted.scim, &parts, body, &mounted.path, inner_path).await)
}

/// Translates the request, runs the engine and translates its answer.
async fn serve(
    scim: &ScimRouter,
    parts: &Parts,
    body: Body,
    mount_path: &str,
    inner_path: &str,
) -> Response {
    let body = match read_body(scim, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request = scim_request(scim, parts, body, mount_path, inner_path);
    into_axum(scim.engine.handle(request).await)
}

/// The body, up to the engine's limit (RFC 7644 §3.12 `413` beyond it).
async fn read_body(scim: &ScimRouter, body: Body) -> Result<Bytes, Response> {
    // A request without a body (most GETs and DELETEs) has nothing to collect.
    if axum::body::HttpBody::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    let limit = scim.engine.max_request_bytes();
    to_bytes(body, limit).await.map_err(|_| {
        into_axum(ScimResponse::from_error(&ScimError::PayloadTooLarge(
            format!("the request body is over the limit of {limit} bytes"),
        )))
    })
}

/// The engine's view of the request.
fn scim_request(
    scim: &ScimRouter,
    parts: &Parts,
    body: Bytes,
    mount_path: &str,
    inner_path: &str,
) -> ScimRequest {
    let bytes = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let mut headers = Headers::with_capacity(parts.headers.len(), bytes);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
        }
    }
    // The connection's scheme, never the request's (an absolute-form request target or an
    // HTTP/2 `:scheme` is the client's word): a host-inserted `ConnectionScheme`, else the
    // router's setting.
    let scheme = parts
        .extensions
        .get::<ConnectionScheme>()
        .copied()
        .unwrap_or(scim.scheme)
        .as_str();
    let base_url = scim.base_url.resolve(scheme, &headers, mount_path);
    // The raw path; the engine decodes it.
    let inner_path = if inner_path.is_empty() {
        "/"
    } else {
        inner_path
    };
    let mut request = ScimRequest::new(Method::from_name(parts.method.as_str()), inner_path)
        .with_body(body)
        .with_base_url(base_url);
    request.headers = headers;
    request.query = parts.uri.query().map(str::to_owned);
    request
}

fn into_axum(response: ScimResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (header_name(name), header_value(value)) {
            headers.append(name, value);
        }
    }
    out
}

/// The name of a response header: the ones every response carries without parsing.
fn header_name(name: &str) -> Result<HeaderName, axum::http::header::InvalidHeaderName> {
    use axum::http::header;
    match name {
        "content-type" => Ok(header::CONTENT_TYPE),
        "etag" => Ok(header::ETAG),
        "location" => Ok(header::LOCATION),
        _ => HeaderName::from_bytes(name.as_bytes()),
    }
}

/// A header value without copying: fixed values are borrowed, others handed over.
fn header_value(
    value: Cow<'static, str>,
) -> Result<HeaderValue, axum::http::header::InvalidHeaderValue> {
    match value {
        Cow::Borrowed(text) => HeaderValue::from_maybe_shared(Bytes::from_static(text.as_bytes())),
        Cow::Owned(text) => HeaderValue::from_maybe_shared(Bytes::from(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request as HttpRequest;
    use axum::routing::any;
    use scim_core::{BearerAuthenticator, MemoryStore, NoSessionsToRevoke};
    use tower::ServiceExt;

    const TOKEN: &str = "adapter-test-token";

    fn engine() -> ScimEngine {
        ScimEngine::builder(MemoryStore::new())
            .authenticator(BearerAuthenticator::new().with_token("default", "test", TOKEN))
            .revoker(NoSessionsToRevoke)
            .build()
            .expect("engine")
    }

    async fn call(app: &Router, method: &str, uri: &str, body: &str) -> Response {
        let request = HttpRequest::builder()
            .method(method)
            .uri(uri)
            .header("host", "app.example.com")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/scim+json")
            .body(Body::from(body.to_owned()))
            .expect("request");
        app.clone().oneshot(request).await.expect("infallible")
    }

    async fn json(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
        serde_json::from_slice(&bytes).expect("JSON body")
    }

    /// Both mounting forms answer the same requests with the same URLs.
    #[tokio::test]
    async fn nested_and_mounted_routers_answer_alike() {
        let host = || Router::new().route("/health", any(|| async { "ok" }));
        let nested = host().nest("/scim/v2", router(engine()));
        let mounted = host().merge(
            ScimRouter::new(engine())
                .mounted_at("/scim/v2/")
                .expect("valid mount path"),
        );
        for app in [&nested, &mounted] {
            let created = call(app, "POST", "/scim/v2/Users", r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}"#).await;
            assert_eq!(created.status(), StatusCode::CREATED);
            let location = created
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .expect("Location");
            assert!(
                location.starts_with("http://app.example.com/scim/v2/Users/"),
                "{location}"
            );
            assert_eq!(
                created
                    .headers()
                    .get("content-type")
                    .map(HeaderValue::as_bytes),
                Some(&b"application/scim+json"[..])
            );
            let body = json(created).await;
            assert_eq!(body["meta"]["location"], location.as_str());
            let path = location.trim_start_matches("http://app.example.com");
            let fetched = call(app, "GET", path, "").await;
            assert_eq!(fetched.status(), StatusCode::OK);
            assert!(fetched.headers().contains_key("etag"));
            assert_eq!(json(fetched).await["userName"], "bjensen");
            // Percent-encoded segments are decoded before routing.
            let schema = call(
                app,
                "GET",
                "/scim/v2/Schemas/urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser",
                "",
            )
            .await;
            assert_eq!(schema.status(), StatusCode::OK);
            // The base URL itself: a query across resource types (RFC 7644 §3.4.2.1).
            let root = call(app, "GET", "/scim/v2", "").await;
            assert_eq!(root.status(), StatusCode::OK);
            assert_eq!(json(root).await["totalResults"], 1);
            // Any letter case and a trailing `/` reach the same collection.
            for collection in ["/scim/v2/Users", "/scim/v2/users", "/scim/v2/Users/"] {
                let listed = call(app, "GET", collection, "").await;
                assert_eq!(listed.status(), StatusCode::OK, "{collection}");
                assert_eq!(json(listed).await["totalResults"], 1, "{collection}");
            }
            // Every method reaches the engine, which answers the ones a path does not
            // serve (RFC 9110 §15.5.6).
            let refused = call(app, "PUT", "/scim/v2/Users", "{}").await;
            assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(
                refused.headers().get("allow").map(HeaderValue::as_bytes),
                Some(&b"GET, POST"[..])
            );
            let health = call(app, "GET", "/health", "").await;
            assert_eq!(health.status(), StatusCode::OK);
        }
        // Only the mounted form routes the base path with a trailing `/` by itself.
        let root = call(&mounted, "GET", "/scim/v2/", "").await;
        assert_eq!(root.status(), StatusCode::OK);
        assert_eq!(json(root).await["totalResults"], 1);
        let unrouted = call(&mounted, "GET", "/scim/v2x/Users", "").await;
        assert_eq!(unrouted.status(), StatusCode::NOT_FOUND);
        assert!(unrouted.headers().get("content-type").is_none());
    }

    #[tokio::test]
    async fn mounted_at_the_root_serves_every_path() {
        let app: Router = ScimRouter::new(engine())
            .mounted_at("/")
            .expect("valid mount path");
        let response = call(&app, "GET", "/ServiceProviderConfig", "").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            json(response).await["meta"]["location"],
            "http://app.example.com/ServiceProviderConfig"
        );
    }

    #[test]
    fn mount_paths_that_cannot_be_routed_are_refused() {
        for path in [
            "",
            "scim",
            "/scim//v2",
            "/{tenant}/scim",
            "/scim/*rest",
            "/scim v2",
        ] {
            let result: Result<Router, _> = ScimRouter::new(engine()).mounted_at(path);
            assert_eq!(
                result.err(),
                Some(InvalidMountPath(path.to_owned())),
                "{path:?}"
            );
        }
        for path in ["/", "/scim/v2", "/scim/v2/", "/a-b_c.d~e/2"] {
            let result: Result<Router, _> = ScimRouter::new(engine()).mounted_at(path);
            assert!(result.is_ok(), "{path:?}");
        }
    }
}

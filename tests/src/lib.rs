//! Harness for the HTTP-level SCIM 2.0 suite (RFC 7643/7644) that runs unchanged against
//! every adapter.
//!
//! [`start_axum`] and [`start_actix`] each start a real HTTP server on `127.0.0.1:0` that
//! mounts the **same** engine configuration ([`engine`]) under `/scim/v2`, next to a host
//! route `/health` that answers `ok`:
//!
//! * a fresh, empty store per server, from [`stores`]: the suite runs unchanged against
//!   every store of the workspace (`MemoryStore`, `TinyStore`, and both with only their
//!   required methods), so a difference between stores is a failing test;
//! * a [`BearerAuthenticator`] with the tokens [`TOKEN_A`] (tenant `a`, label `idp-a`),
//!   [`TOKEN_A2`] (a second live token of tenant `a`, for rotation) and [`TOKEN_B`]
//!   (tenant `b`), all under the engine's default profile, and [`TOKEN_STRICT`] and
//!   [`TOKEN_LENIENT`] (tenant `a`, under the `strict` and `lenient` profiles); the server keeps a clone in [`TestServer::auth`] so a test can add and
//!   remove tokens at runtime;
//! * a [`RecordingRevoker`] that records every successful [`TokenRevoker::revoke`] call
//!   and can be made to fail on demand ([`TestServer::fail_revocations`]).
//!
//! The cases live in `tests/suite.rs`; each is an `async fn(&TestServer)` and a macro
//! runs it once per adapter, so a behaviour that differs between the adapters fails one
//! of the two runs. Requests go through [`reqwest`]; [`TestServer::request`] and friends
//! send the bearer token of tenant `a` unless told otherwise, and [`Response`] keeps the
//! status, headers and body for assertions.
//!
//! [`Transcript`] normalizes a sequence of responses (URLs, ids, versions, timestamps
//! replaced by placeholders) so that the `adapters_agree` test can run one script against
//! both adapters and require identical answers, including for requests no case pins down
//! (HEAD/OPTIONS, trailing slashes, percent-encoding, the mount root).
//!
//! The axum server runs as a task of the test's tokio runtime; the actix server runs on
//! its own thread with an actix `System` (actix servers are not `Send`). Dropping the
//! [`TestServer`] stops either.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use scim_core::http::BaseUrl;
use scim_core::{
    BearerAuthenticator, Profile, RequestContext, RevocationError, RevocationReason, ScimEngine,
    Store, TokenRevoker,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use reqwest::Method;

/// Bearer token of tenant `a` (label `idp-a`).
pub const TOKEN_A: &str = "token-a";
/// A second live bearer token of tenant `a` (label `idp-a-rotated`).
pub const TOKEN_A2: &str = "token-a2";
/// Bearer token of tenant `b` (label `idp-b`).
pub const TOKEN_B: &str = "token-b";

/// Bearer token of tenant `a` whose requests run under the `strict` profile (label
/// `strict-client`).
pub const TOKEN_STRICT: &str = "token-strict";
/// Bearer token of tenant `a` whose requests run under the `lenient` profile (label
/// `lenient-client`).
pub const TOKEN_LENIENT: &str = "token-lenient";

/// Where SCIM is mounted on the host app.
pub const MOUNT: &str = "/scim/v2";

/// `application/scim+json` (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";
/// Core User schema URN (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension URN (RFC 7643 §4.3).
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ServiceProviderConfig schema URN (RFC 7643 §5).
pub const SP_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType schema URN (RFC 7643 §6).
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema URN (RFC 7643 §7).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Error message URN (RFC 7644 §3.12).
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// ListResponse message URN (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// SearchRequest message URN (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// PatchOp message URN (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// BulkRequest message URN (RFC 7644 §3.7).
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// BulkResponse message URN (RFC 7644 §3.7).
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// One successful call of the [`RecordingRevoker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// `ctx.tenant()` of the call.
    pub tenant: String,
    /// The user ids, as passed.
    pub ids: Vec<String>,
    /// `deactivated` or `deleted`.
    pub reason: String,
}

/// A [`TokenRevoker`] that records its calls and fails while [`fail`](Self::fail) is set.
#[derive(Debug, Clone, Default)]
pub struct RecordingRevoker {
    /// Every successful call, in order.
    pub calls: Arc<Mutex<Vec<Revocation>>>,
    /// While true, every call fails (and is not recorded in `calls`).
    pub fail: Arc<AtomicBool>,
    /// How many calls failed.
    pub failed_calls: Arc<AtomicUsize>,
}

#[async_trait]
impl TokenRevoker for RecordingRevoker {
    async fn revoke(
        &self,
        ctx: &RequestContext,
        user_ids: &[String],
        reason: RevocationReason,
    ) -> Result<scim_core::Revoked, RevocationError> {
        if self.fail.load(Ordering::SeqCst) {
            self.failed_calls.fetch_add(1, Ordering::SeqCst);
            return Err(RevocationError::new("session store unreachable (test)"));
        }
        self.calls.lock().unwrap().push(Revocation {
            tenant: ctx.tenant().to_owned(),
            ids: user_ids.to_vec(),
            reason: reason.as_str().to_owned(),
        });
        Ok(scim_core::Revoked::uncounted())
    }
}

/// The authenticator every test server uses: [`TOKEN_A`], [`TOKEN_A2`] (tenant `a`) and
/// [`TOKEN_B`] (tenant `b`).
pub fn authenticator() -> BearerAuthenticator {
    BearerAuthenticator::new()
        .with_token("a", "idp-a", TOKEN_A)
        .with_token("a", "idp-a-rotated", TOKEN_A2)
        .with_token("b", "idp-b", TOKEN_B)
        .with_profile_token("a", "strict-client", Profile::strict(), TOKEN_STRICT)
        .with_profile_token("a", "lenient-client", Profile::lenient(), TOKEN_LENIENT)
}

/// The stores the suite runs against, each a fresh, empty one per call; `None` when the
/// store is not available here (PostgreSQL without `SCIM_TEST_POSTGRES_URL`, outside CI).
pub mod stores {
    use scim_core::Store;
    use scim_core::store::suite::RequiredOnly;
    use scim_core::store::{MemoryStore, TinyStore};
    use scim_sqlx::SqlStore;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    /// The indexed reference store, every optional method.
    pub async fn memory() -> Option<Arc<dyn Store>> {
        Some(Arc::new(MemoryStore::new()))
    }

    /// The one-file store: required methods and `modify_members`.
    pub async fn tiny() -> Option<Arc<dyn Store>> {
        Some(Arc::new(TinyStore::new()))
    }

    /// `MemoryStore` through its required methods only (the engine's fallbacks).
    pub async fn memory_required_only() -> Option<Arc<dyn Store>> {
        Some(Arc::new(RequiredOnly(MemoryStore::new())))
    }

    /// `TinyStore` through its required methods only.
    pub async fn tiny_required_only() -> Option<Arc<dyn Store>> {
        Some(Arc::new(RequiredOnly(TinyStore::new())))
    }

    /// A URL of a new SQLite file in the temporary directory.
    pub fn sqlite_url() -> String {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("scim-http-tests-{}", std::process::id()));
        let path = dir.join(format!("db{n}.sqlite"));
        format!("sqlite://{}", path.display())
    }

    /// `SqlStore` on a new SQLite file.
    pub async fn sqlite() -> Option<Arc<dyn Store>> {
        Some(Arc::new(
            SqlStore::connect(&sqlite_url())
                .await
                .expect("SQLite store"),
        ))
    }

    /// The PostgreSQL server of the tests (`SCIM_TEST_POSTGRES_URL`); under `CI=true` its
    /// absence is a failure, elsewhere the PostgreSQL tests skip with a message.
    pub fn postgres_server() -> Option<String> {
        match std::env::var("SCIM_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!(
                    "CI=true but SCIM_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run"
                )
            }
            _ => {
                eprintln!("skipping: SCIM_TEST_POSTGRES_URL is not set");
                None
            }
        }
    }

    /// The URL of a new, empty database on the PostgreSQL server.
    pub async fn postgres_url(server: &str) -> String {
        let name = format!("scim_http_{}", uuid::Uuid::now_v7().simple());
        let admin = sqlx::PgPool::connect(server)
            .await
            .expect("PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await;
        let (base, _) = server.rsplit_once('/').expect("a database URL");
        format!("{base}/{name}")
    }

    /// `SqlStore` on a new PostgreSQL database.
    pub async fn postgres() -> Option<Arc<dyn Store>> {
        let server = postgres_server()?;
        let url = postgres_url(&server).await;
        let options = scim_sqlx::Options::default().max_connections(4);
        Some(Arc::new(
            SqlStore::connect_with(&url, &options)
                .await
                .expect("PostgreSQL store"),
        ))
    }
}

/// The one engine configuration both adapters serve: the given store, authenticator and
/// revoker, and otherwise the defaults (1 MiB body limit, the `default` compatibility
/// profile for tokens without one, hard delete, 409 on duplicates).
pub fn engine(
    store: Arc<dyn Store>,
    auth: BearerAuthenticator,
    revoker: RecordingRevoker,
) -> ScimEngine {
    ScimEngine::builder(store)
        .authenticator(auth)
        .revoker(revoker)
        .build()
        .expect("the test engine builds")
}

/// A running host app with SCIM mounted at [`MOUNT`].
pub struct TestServer {
    /// `axum` or `actix`.
    pub adapter: &'static str,
    /// The host app's root, e.g. `http://127.0.0.1:41234`.
    pub root: String,
    /// The SCIM base URL, e.g. `http://127.0.0.1:41234/scim/v2`.
    pub base: String,
    /// The engine's authenticator (shares its token set), to rotate tokens at runtime.
    pub auth: BearerAuthenticator,
    /// The engine's revoker.
    pub revoker: RecordingRevoker,
    client: reqwest::Client,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

fn client() -> reqwest::Client {
    // No idle connections are reused: with hundreds of servers running at once, a server
    // may close an idle keep-alive connection just as the client reuses it (hyper's
    // `IncompleteMessage`), which would be a flaky test, not a SCIM answer.
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("reqwest client")
}

/// Starts the axum host app on `127.0.0.1:0`, mounted as the example server and the
/// scim-axum docs do it: `Router::new().route("/health", …)
/// .merge(ScimRouter::new(engine).mounted_at("/scim/v2")?)`. (scim-axum's own tests cover
/// the `nest` form.)
pub async fn start_axum() -> TestServer {
    start_axum_with(Arc::new(scim_core::MemoryStore::new())).await
}

/// [`start_axum`] over `store`.
pub async fn start_axum_with(store: Arc<dyn Store>) -> TestServer {
    start_axum_configured(store, BaseUrl::default()).await
}

/// [`start_axum`] over `store`, with `base_url` as the router's [`BaseUrl`] mode.
pub async fn start_axum_configured(store: Arc<dyn Store>, base_url: BaseUrl) -> TestServer {
    let auth = authenticator();
    let revoker = RecordingRevoker::default();
    let engine = engine(store, auth.clone(), revoker.clone());
    let app: axum::Router = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .merge(
            scim_axum::ScimRouter::new(engine)
                .base_url(base_url)
                .mounted_at(MOUNT)
                .expect("a valid mount path"),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("axum serves");
    });
    let root = format!("http://127.0.0.1:{port}");
    TestServer {
        adapter: "axum",
        base: format!("{root}{MOUNT}"),
        root,
        auth,
        revoker,
        client: client(),
        stop: Some(Box::new(move || task.abort())),
    }
}

/// Starts the actix-web host app on `127.0.0.1:0`, on its own thread:
/// `App::new().route("/health", …).service(web::scope("/scim/v2").configure(scim_actix::configure(engine)))`.
pub async fn start_actix() -> TestServer {
    start_actix_with(Arc::new(scim_core::MemoryStore::new())).await
}

/// [`start_actix`] over `store`.
pub async fn start_actix_with(store: Arc<dyn Store>) -> TestServer {
    start_actix_configured(store, BaseUrl::default()).await
}

/// [`start_actix`] over `store`, with `base_url` as the scope's [`BaseUrl`] mode.
pub async fn start_actix_configured(store: Arc<dyn Store>, base_url: BaseUrl) -> TestServer {
    use actix_web::{App, HttpServer, web};

    let auth = authenticator();
    let revoker = RecordingRevoker::default();
    let engine = engine(store, auth.clone(), revoker.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("actix-{port}"))
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .route("/health", web::get().to(|| async { "ok" }))
                        .service(
                            web::scope(MOUNT).configure(
                                scim_actix::ScimScope::new(engine.clone())
                                    .base_url(base_url.clone())
                                    .into_configure(),
                            ),
                        )
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("actix listens")
                .run();
                let _ = tx.send(server.handle());
                let _ = server.await;
            });
        })
        .expect("spawn the actix thread");
    let handle = rx.await.expect("the actix server starts");
    let root = format!("http://127.0.0.1:{port}");
    TestServer {
        adapter: "actix",
        base: format!("{root}{MOUNT}"),
        root,
        auth,
        revoker,
        client: client(),
        stop: Some(Box::new(move || {
            // Sends the stop command now; the returned future only awaits completion.
            drop(handle.stop(false));
        })),
    }
}

/// A response, read completely.
#[derive(Debug, Clone)]
pub struct Response {
    /// The method and URL of the request, for failure messages.
    pub request: String,
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body text.
    pub text: String,
}

impl Response {
    /// The body as JSON; panics (with the body) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| {
            panic!(
                "{}: body is not JSON ({err}): status {} body {:?}",
                self.request, self.status, self.text
            )
        })
    }

    /// The first value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The `ETag` header; panics when absent.
    pub fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| panic!("{}: no ETag header in {self:?}", self.request))
    }

    /// Panics (showing the whole response) unless the status is `status`.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{}: expected status {status}, got {} with headers {:?} and body {}",
            self.request, self.status, self.headers, self.text
        );
        self
    }

    /// Asserts a JSON body with `Content-Type: application/scim+json` and returns it.
    #[track_caller]
    pub fn scim_json(&self) -> Value {
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with(SCIM_JSON),
            "{}: content-type {content_type:?} is not {SCIM_JSON} (status {}, body {})",
            self.request,
            self.status,
            self.text
        );
        self.json()
    }

    /// Asserts an RFC 7644 §3.12 error response: this status, `application/scim+json`, the
    /// Error schema, `status` as a **string**, and the given `scimType` (or none). Returns
    /// the body.
    #[track_caller]
    pub fn expect_error(&self, status: u16, scim_type: Option<&str>) -> Value {
        let body = self.expect_error_any(status);
        match scim_type {
            Some(t) => assert_eq!(
                body["scimType"],
                json!(t),
                "{}: scimType in {body}",
                self.request
            ),
            None => assert!(
                body.get("scimType").is_none_or(Value::is_null),
                "{}: unexpected scimType in {body}",
                self.request
            ),
        }
        body
    }

    /// Asserts an RFC 7644 §3.12 error with this status and a non-empty `detail`, whatever
    /// its `scimType`; returns the body.
    #[track_caller]
    pub fn expect_error_any(&self, status: u16) -> Value {
        self.expect_status(status);
        let body = self.scim_json();
        assert_eq!(
            body["schemas"],
            json!([ERROR]),
            "{}: error schemas in {body}",
            self.request
        );
        assert_eq!(
            body["status"],
            json!(status.to_string()),
            "{}: error `status` must be the string {status:?}: {body}",
            self.request
        );
        if let Some(detail) = body.get("detail") {
            assert!(detail.is_string(), "{}: detail in {body}", self.request);
        }
        body
    }

    /// [`expect_error_any`](Self::expect_error_any) with a `detail` that says what to fix.
    #[track_caller]
    pub fn expect_refused(&self, status: u16) -> Value {
        let body = self.expect_error_any(status);
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}: no detail in {body}",
            self.request
        );
        body
    }
}

/// Sends a request and reads the whole response; panics on transport errors.
pub async fn send(request: reqwest::RequestBuilder) -> Response {
    let (client, request) = request.build_split();
    let request = request.expect("a valid request");
    let label = format!("{} {}", request.method(), request.url());
    let response = client
        .execute(request)
        .await
        .unwrap_or_else(|err| panic!("{label}: transport error: {err:?}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response
        .text()
        .await
        .unwrap_or_else(|err| panic!("{label}: reading the body: {err:?}"));
    Response {
        request: label,
        status,
        headers,
        text,
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A PatchOp request body with these operations.
pub fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

impl TestServer {
    /// The absolute URL of a SCIM path (e.g. `/Users?filter=…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to a SCIM path with `Authorization: Bearer token-a`.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(Some(TOKEN_A), method, path)
    }

    /// A request to a SCIM path with the given bearer token (or none).
    pub fn request_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.header("authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    /// A request to a host-app path (outside SCIM), without credentials.
    pub fn host_request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.root))
    }

    /// A request with an `application/scim+json` body.
    pub fn with_body(&self, method: Method, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.request(method, path)
            .header("content-type", SCIM_JSON)
            .body(serde_json::to_vec(body).expect("serializable"))
    }

    /// GET as tenant `a`.
    pub async fn get(&self, path: &str) -> Response {
        send(self.request(Method::GET, path)).await
    }

    /// GET as the holder of `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        send(self.request_as(Some(token), Method::GET, path)).await
    }

    /// POST an `application/scim+json` body as tenant `a`.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        send(self.with_body(Method::POST, path, body)).await
    }

    /// POST an `application/scim+json` body as the holder of `token`.
    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> Response {
        send(
            self.request_as(Some(token), Method::POST, path)
                .header("content-type", SCIM_JSON)
                .body(serde_json::to_vec(body).expect("serializable")),
        )
        .await
    }

    /// A request with a JSON body (sent exactly as given) as the holder of `token`.
    pub async fn send_as(&self, token: &str, method: Method, path: &str, body: &Value) -> Response {
        send(
            self.request_as(Some(token), method, path)
                .header("content-type", SCIM_JSON)
                .body(serde_json::to_vec(body).expect("serializable")),
        )
        .await
    }

    /// PUT as tenant `a`, with `If-Match` if given.
    pub async fn put(&self, path: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut request = self.with_body(Method::PUT, path, body);
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        send(request).await
    }

    /// PATCH as tenant `a` with a PatchOp of `operations`, with `If-Match` if given.
    pub async fn patch(&self, path: &str, operations: Value, if_match: Option<&str>) -> Response {
        let mut request = self.with_body(Method::PATCH, path, &patch_op(operations));
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        send(request).await
    }

    /// DELETE as tenant `a`, with `If-Match` if given.
    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Response {
        let mut request = self.request(Method::DELETE, path);
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        send(request).await
    }

    /// Creates a User `{userName, active: true}` as tenant `a`; asserts 201 and returns it.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let response = self
            .post(
                "/Users",
                &json!({"schemas": [USER], "userName": user_name, "active": true}),
            )
            .await;
        response.expect_status(201);
        response.scim_json()
    }

    /// Creates a Group with these member ids as tenant `a`; asserts 201 and returns it.
    pub async fn create_group(&self, display_name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
        let response = self
            .post(
                "/Groups",
                &json!({"schemas": [GROUP], "displayName": display_name, "members": members}),
            )
            .await;
        response.expect_status(201);
        response.scim_json()
    }

    /// The revocations recorded so far.
    pub fn revocations(&self) -> Vec<Revocation> {
        self.revoker.calls.lock().unwrap().clone()
    }

    /// Makes the revoker fail (`true`) or succeed (`false`).
    pub fn fail_revocations(&self, fail: bool) {
        self.revoker.fail.store(fail, Ordering::SeqCst);
    }
}

/// The `id` of a resource body; panics when absent.
pub fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string `id` in {resource}"))
        .to_owned()
}

/// A normalized record of responses, to compare what two adapters answered to the same
/// script of requests.
///
/// Each entry keeps the request label (method and path below the SCIM base), the status,
/// the headers the engine sets (`content-type`, `location`, `etag`, `www-authenticate`)
/// and the body. Values that legitimately differ between two servers are replaced by
/// stable placeholders: the server's URLs (`{base}`, `{root}`), resource ids (`{id1}`, …
/// in order of first appearance), versions (`{v1}`, …) and timestamps (`{timestamp}`).
#[derive(Debug, Default)]
pub struct Transcript {
    /// The normalized entries, in request order.
    pub entries: Vec<Value>,
    ids: Vec<String>,
    versions: Vec<String>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `response` to the request labelled `label` on `server`.
    pub fn record(&mut self, server: &TestServer, label: &str, response: &Response) {
        let body: Value = if response.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&response.text).unwrap_or_else(|_| json!({"text": response.text}))
        };
        if let Some(location) = response.header("location") {
            self.learn(&json!({ "location": location }));
        }
        self.learn(&body);
        if let Some(etag) = response.header("etag") {
            if !self.versions.contains(&etag) {
                self.versions.push(etag);
            }
        }
        let mut headers = serde_json::Map::new();
        for name in ["content-type", "location", "etag", "www-authenticate"] {
            let values: Vec<Value> = response
                .headers
                .get_all(name)
                .iter()
                .map(|v| Value::String(self.text(server, v.to_str().unwrap_or("<binary>"))))
                .collect();
            if !values.is_empty() {
                headers.insert(name.into(), Value::Array(values));
            }
        }
        let body = self.value(server, None, &body);
        self.entries.push(json!({
            "request": label,
            "status": response.status,
            "headers": headers,
            "body": body,
        }));
    }

    /// Collects ids and versions, in document order.
    fn learn(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if let Value::String(s) = v {
                        match key.as_str() {
                            "id" | "value" if looks_like_uuid(s) => remember(&mut self.ids, s),
                            "location" => {
                                if let Some(id) =
                                    s.rsplit('/').next().filter(|id| looks_like_uuid(id))
                                {
                                    remember(&mut self.ids, id);
                                }
                            }
                            "version" => remember(&mut self.versions, s),
                            _ => {}
                        }
                    }
                    self.learn(v);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn(v)),
            _ => {}
        }
    }

    fn text(&self, server: &TestServer, s: &str) -> String {
        let mut out = s
            .replace(&server.base, "{base}")
            .replace(&server.root, "{root}");
        for (n, id) in self.ids.iter().enumerate() {
            out = out.replace(id.as_str(), &format!("{{id{}}}", n + 1));
        }
        for (n, version) in self.versions.iter().enumerate() {
            out = out.replace(version.as_str(), &format!("{{v{}}}", n + 1));
        }
        out
    }

    fn value(&self, server: &TestServer, key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::String(_) if matches!(key, Some("created" | "lastModified")) => {
                json!("{timestamp}")
            }
            Value::String(s) => Value::String(self.text(server, s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.value(server, None, v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(server, Some(k), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn remember(list: &mut Vec<String>, s: &str) {
    if !list.iter().any(|known| known == s) {
        list.push(s.to_owned());
    }
}

/// Whether `s` has the 8-4-4-4-12 hex shape of a UUID.
fn looks_like_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

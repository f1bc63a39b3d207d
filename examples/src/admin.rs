//! The provisioning inspector of the example servers: `GET /admin`, a page an administrator
//! reads at a glance to see whether provisioning is healthy and why a sync failed.
//!
//! * [`Inspector`] is a [`ScimObserver`]: it keeps the last exchanges (a bounded ring
//!   buffer, newest first) with their redacted bodies, and the recent deprovisionings with
//!   the number of sessions each revoked.
//! * [`Admin`] answers the page and its JSON: enabled only with `--admin-token`, which is
//!   never the SCIM token. A person signs in once with the token (a form, `POST
//!   /admin/login`) and gets a random session cookie (`HttpOnly`, `SameSite=Strict`, path
//!   `/admin`); scripts send `Authorization: Bearer <admin token>`. Tokens are compared as
//!   SHA-256 digests in constant time.
//! * The page is static HTML, CSS and JavaScript (no build step) that polls
//!   `/admin/api/state` every two seconds and renders with `textContent` only, under a
//!   `Content-Security-Policy` that allows no inline script: what an IdP sent is shown,
//!   never run.
//!
//! | path | answer |
//! | --- | --- |
//! | `GET /admin` | the page (401 with the sign-in form without a session) |
//! | `POST /admin/login` | form field `token`: sets the session cookie, 303 to `/admin` |
//! | `POST /admin/logout` | ends the session |
//! | `GET /admin/app.js`, `/admin/app.css` | the page's script and style (not secret) |
//! | `GET /admin/api/state?failures=1&client=…` | exchanges (without bodies), clients, counts of users and groups, deprovisionings |
//! | `GET /admin/api/exchanges/{seq}` | one exchange with its redacted request and response bodies |

use scim_core::observe::{Exchange, ScimObserver};
use scim_core::{Principal, RequestContext, ScimEngine};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How many exchanges the inspector keeps by default.
pub const DEFAULT_HISTORY: usize = 200;
/// How many deprovisionings it keeps.
const DEPROVISIONINGS: usize = 50;
/// The longest body kept per exchange, in bytes; longer ones are cut (after redaction).
const MAX_BODY: usize = 64 * 1024;
/// How long an administrator's session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sessions at once; signing in beyond that ends the oldest.
const MAX_SESSIONS: usize = 64;
/// The session cookie.
const COOKIE: &str = "scim_admin";

const PAGE: &str = include_str!("admin/page.html");
const LOGIN: &str = include_str!("admin/login.html");
const SCRIPT: &str = include_str!("admin/app.js");
const STYLE: &str = include_str!("admin/app.css");

/// One kept exchange.
#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    exchange: Exchange,
}

/// One deprovisioning: a revocation of some request.
#[derive(Debug, Clone)]
struct Deprovisioning {
    seq: u64,
    at: String,
    client: String,
    reason: &'static str,
    user_ids: Vec<String>,
    sessions: Option<u64>,
    succeeded: bool,
}

#[derive(Debug, Default)]
struct History {
    next_seq: u64,
    exchanges: VecDeque<Entry>,
    deprovisionings: VecDeque<Deprovisioning>,
}

/// Keeps the last exchanges of an engine for the page (a [`ScimObserver`] that wants the
/// redacted bodies). Cheap to clone: clones share the history.
#[derive(Debug, Clone)]
pub struct Inspector {
    capacity: usize,
    history: Arc<Mutex<History>>,
}

impl Inspector {
    /// An inspector that keeps the last `capacity` exchanges (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            history: Arc::default(),
        }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `text` cut to at most `MAX_BODY` bytes at a character boundary, saying so.
fn bounded(text: Option<String>) -> Option<String> {
    let mut text = text?;
    if text.len() > MAX_BODY {
        let mut end = MAX_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let total = text.len();
        text.truncate(end);
        text.push_str(&format!("… [cut: {total} bytes in all]"));
    }
    Some(text)
}

fn timestamp(exchange: &Exchange) -> String {
    exchange
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ScimObserver for Inspector {
    fn wants_bodies(&self) -> bool {
        true
    }

    fn observe(&self, exchange: &Exchange) {
        let mut exchange = exchange.clone();
        exchange.request_body = bounded(exchange.request_body.take());
        exchange.response_body = bounded(exchange.response_body.take());
        let mut history = self.history();
        history.next_seq += 1;
        let seq = history.next_seq;
        for revocation in &exchange.revocations {
            history.deprovisionings.push_front(Deprovisioning {
                seq,
                at: timestamp(&exchange),
                client: exchange.client.as_deref().unwrap_or("-").to_owned(),
                reason: revocation.reason.as_str(),
                user_ids: revocation.user_ids.clone(),
                sessions: revocation.sessions,
                succeeded: revocation.succeeded,
            });
        }
        history.deprovisionings.truncate(DEPROVISIONINGS);
        history.exchanges.push_front(Entry { seq, exchange });
        history.exchanges.truncate(self.capacity);
    }
}

/// An answer of the admin endpoints, for the server's framework to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Headers besides the defaults every admin answer gets ([`Reply::SECURITY_HEADERS`]).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Sent with every admin answer: no caching, no framing, no sniffing, no script or
    /// style but the page's own files.
    pub const SECURITY_HEADERS: [(&'static str, &'static str); 5] = [
        ("cache-control", "no-store"),
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ];

    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
        }
    }

    fn json(status: u16, value: &Value) -> Self {
        Self::new(status, "application/json", value.to_string())
    }

    fn html(status: u16, body: &str) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The 401 of a request without a valid session or admin token.
    fn unauthorized(html: bool, message: &str) -> Self {
        let reply = if html {
            Self::html(401, &LOGIN.replace("{{message}}", message))
        } else {
            Self::json(401, &json!({"error": message}))
        };
        reply.with("www-authenticate", "Bearer realm=\"scim-admin\"")
    }
}

/// What the admin endpoints need of a request.
#[derive(Debug, Clone, Copy)]
pub struct AdminRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, starting with `/admin`.
    pub path: &'a str,
    /// The raw query string, if any.
    pub query: Option<&'a str>,
    /// The `Cookie` header, if any.
    pub cookie: Option<&'a str>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The body (a form for `/admin/login`).
    pub body: &'a [u8],
}

/// The admin endpoints: the inspector's page and JSON behind `--admin-token`.
#[derive(Clone)]
pub struct Admin {
    token_digest: [u8; 32],
    sessions: Arc<Mutex<HashMap<[u8; 32], Instant>>>,
    inspector: Inspector,
    engine: ScimEngine,
    tenant: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

fn digest(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

impl Admin {
    /// The admin endpoints for `admin_token`, showing `inspector`'s history and the
    /// counts of `tenant`'s users and groups through `engine`.
    pub fn new(admin_token: &str, inspector: Inspector, engine: ScimEngine, tenant: &str) -> Self {
        Self {
            token_digest: digest(admin_token.as_bytes()),
            sessions: Arc::default(),
            inspector,
            engine,
            tenant: tenant.to_owned(),
        }
    }

    /// Whether `token` is the admin token (constant time: digests of equal length).
    fn is_admin_token(&self, token: &str) -> bool {
        bool::from(digest(token.as_bytes()).ct_eq(&self.token_digest))
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Instant>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the request carries the admin token or a live session cookie.
    fn authorized(&self, request: &AdminRequest<'_>) -> bool {
        if let Some(token) = request
            .authorization
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
        {
            return self.is_admin_token(token);
        }
        let Some(session) = session_cookie(request.cookie) else {
            return false;
        };
        let key = digest(session.as_bytes());
        let mut sessions = self.sessions();
        let now = Instant::now();
        sessions.retain(|_, expires| *expires > now);
        sessions.contains_key(&key)
    }

    /// Starts a session; answers the cookie's value.
    fn start_session(&self) -> String {
        let session = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut sessions = self.sessions();
        let now = Instant::now();
        sessions.retain(|_, expires| *expires > now);
        while sessions.len() >= MAX_SESSIONS {
            let Some(oldest) = sessions.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k) else {
                break;
            };
            sessions.remove(&oldest);
        }
        sessions.insert(digest(session.as_bytes()), now + SESSION_LIFETIME);
        session
    }

    /// Answers a request under `/admin`.
    pub async fn handle(&self, request: AdminRequest<'_>) -> Reply {
        let reply = self.route(&request).await;
        let mut reply = reply;
        for (name, value) in Reply::SECURITY_HEADERS {
            reply.headers.push((name, value.to_owned()));
        }
        reply
    }

    async fn route(&self, request: &AdminRequest<'_>) -> Reply {
        let path = request.path.trim_end_matches('/');
        match (request.method, path) {
            ("GET", "/admin/app.js") => Reply::new(200, "text/javascript; charset=utf-8", SCRIPT),
            ("GET", "/admin/app.css") => Reply::new(200, "text/css; charset=utf-8", STYLE),
            ("POST", "/admin/login") => self.login(request.body),
            ("POST", "/admin/logout") => {
                if let Some(session) = session_cookie(request.cookie) {
                    self.sessions().remove(&digest(session.as_bytes()));
                }
                Reply::new(303, "text/plain", "signed out")
                    .with("location", "/admin")
                    .with(
                        "set-cookie",
                        format!("{COOKIE}=; Max-Age=0; Path=/admin; HttpOnly; SameSite=Strict"),
                    )
            }
            ("GET", "/admin") => {
                if self.authorized(request) {
                    Reply::html(200, PAGE)
                } else {
                    Reply::unauthorized(true, "Sign in with the admin token.")
                }
            }
            ("GET", "/admin/api/state") => {
                if !self.authorized(request) {
                    return Reply::unauthorized(false, "sign in with the admin token");
                }
                Reply::json(200, &self.state(request.query).await)
            }
            ("GET", p) if p.starts_with("/admin/api/exchanges/") => {
                if !self.authorized(request) {
                    return Reply::unauthorized(false, "sign in with the admin token");
                }
                let seq = p
                    .trim_start_matches("/admin/api/exchanges/")
                    .parse::<u64>()
                    .ok();
                match seq.and_then(|seq| self.exchange(seq)) {
                    Some(found) => Reply::json(200, &found),
                    None => Reply::json(
                        404,
                        &json!({"error": "no such exchange (it may have left the history)"}),
                    ),
                }
            }
            (_, "/admin" | "/admin/login" | "/admin/logout" | "/admin/api/state") => {
                Reply::json(405, &json!({"error": "method not allowed"}))
            }
            _ => Reply::json(404, &json!({"error": "not found"})),
        }
    }

    /// `POST /admin/login` with the form field `token`.
    fn login(&self, body: &[u8]) -> Reply {
        let token = form_urlencoded::parse(body)
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        if !self.is_admin_token(token.trim()) {
            return Reply::unauthorized(true, "That is not the admin token.");
        }
        let session = self.start_session();
        Reply::new(303, "text/plain", "signed in")
            .with("location", "/admin")
            .with(
                "set-cookie",
                format!(
                    "{COOKIE}={session}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}",
                    SESSION_LIFETIME.as_secs()
                ),
            )
    }

    /// The page's data: the exchanges the filters let through (no bodies), every client of
    /// the history, counts, deprovisionings.
    async fn state(&self, query: Option<&str>) -> Value {
        let mut failures_only = false;
        let mut client_filter: Option<String> = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*name {
                "failures" => failures_only = value == "1" || value == "true",
                "client" if !value.is_empty() => client_filter = Some(value.into_owned()),
                _ => {}
            }
        }
        let (exchanges, clients, kept, failed, deprovisionings, seen) = {
            let history = self.inspector.history();
            let mut clients: Vec<&str> = history
                .exchanges
                .iter()
                .filter_map(|e| e.exchange.client.as_deref())
                .collect();
            clients.sort_unstable();
            clients.dedup();
            let clients: Vec<String> = clients.into_iter().map(str::to_owned).collect();
            let exchanges: Vec<Value> = history
                .exchanges
                .iter()
                .filter(|e| !failures_only || e.exchange.failed())
                .filter(|e| {
                    client_filter
                        .as_deref()
                        .is_none_or(|c| e.exchange.client.as_deref() == Some(c))
                })
                .map(summary)
                .collect();
            let failed = history
                .exchanges
                .iter()
                .filter(|e| e.exchange.failed())
                .count();
            let deprovisionings: Vec<Value> = history
                .deprovisionings
                .iter()
                .map(|d| {
                    json!({
                        "seq": d.seq,
                        "at": d.at,
                        "client": d.client,
                        "reason": d.reason,
                        "userIds": d.user_ids,
                        "sessions": d.sessions,
                        "succeeded": d.succeeded,
                    })
                })
                .collect();
            (
                exchanges,
                clients,
                history.exchanges.len(),
                failed,
                deprovisionings,
                history.next_seq,
            )
        };
        let ctx = RequestContext::new(Principal::new(self.tenant.as_str(), "admin-page"), "");
        let count =
            |n: Result<usize, scim_core::ScimError>| n.ok().map_or(Value::Null, Value::from);
        let users = count(self.engine.count(&ctx, "User", None).await);
        let groups = count(self.engine.count(&ctx, "Group", None).await);
        json!({
            "exchanges": exchanges,
            "clients": clients,
            "kept": kept,
            "capacity": self.inspector.capacity,
            "seen": seen,
            "failed": failed,
            "counts": {"users": users, "groups": groups},
            "deprovisionings": deprovisionings,
        })
    }

    /// One exchange with its bodies.
    fn exchange(&self, seq: u64) -> Option<Value> {
        let history = self.inspector.history();
        let entry = history.exchanges.iter().find(|e| e.seq == seq)?;
        let mut value = summary(entry);
        value["requestBody"] = entry.exchange.request_body.clone().into();
        value["responseBody"] = entry.exchange.response_body.clone().into();
        value["tenant"] = entry.exchange.tenant.as_deref().into();
        Some(value)
    }
}

/// An exchange as the page's table shows it.
fn summary(entry: &Entry) -> Value {
    let e = &entry.exchange;
    json!({
        "seq": entry.seq,
        "at": timestamp(e),
        "client": e.client.as_deref(),
        "profile": e.profile,
        "method": e.method.as_str(),
        "path": e.path,
        "query": e.query,
        "operation": e.operation,
        "resourceType": e.resource_type,
        "resourceId": e.resource_id,
        "status": e.status,
        "failed": e.failed(),
        "scimType": e.scim_type,
        "detail": e.detail,
        "authFailure": e.auth_failure.map(|f| f.as_str()),
        "durationMs": (e.duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        "revokedSessions": e.revocations.iter().filter_map(|r| r.sessions).sum::<u64>(),
        "revokedUsers": e.revocations.iter().map(|r| r.user_ids.len()).sum::<usize>(),
        "bulk": e.bulk.map(|b| json!({"operations": b.operations, "failed": b.failed})),
    })
}

/// The value of the session cookie in a `Cookie` header (RFC 6265 §5.4).
fn session_cookie(header: Option<&str>) -> Option<&str> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        assert_eq!(
            session_cookie(Some("a=b; scim_admin=xyz; c=d")),
            Some("xyz")
        );
        assert_eq!(session_cookie(Some("scim_admin=")), None);
        assert_eq!(session_cookie(Some("other=1")), None);
        assert_eq!(session_cookie(None), None);
    }

    #[test]
    fn long_bodies_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_BODY);
        let cut = bounded(Some(long)).unwrap_or_default();
        assert!(cut.len() < MAX_BODY + 64, "{}", cut.len());
        assert!(cut.ends_with(&format!("[cut: {} bytes in all]", 2 * MAX_BODY)));
        assert_eq!(bounded(Some("short".into())).as_deref(), Some("short"));
    }
}

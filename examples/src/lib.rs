//! The example host application shared by the `axum-server` and `actix-server` binaries.
//!
//! It is a small app with its own sessions, to show deprovisioning end to end:
//!
//! * `POST /app/login` with `{"userName": "…"}` returns `{"token": "…"}` for an active
//!   SCIM-provisioned user (a demo: no password) and 403 for an inactive or unknown one.
//! * `GET /app/me` with `Authorization: Bearer <that token>` returns the user, and 401 as
//!   soon as SCIM deactivates or deletes the user: [`Sessions`] is the app's
//!   [`TokenRevoker`], so the engine revokes the user's sessions before it answers the IdP.
//!
//! SCIM itself is served under `/scim/v2` by the adapter crates, over a [`SqlStore`]
//! (`--database-url`, default `sqlite://scim.db`: a persistent service with no set-up) or a
//! [`MemoryStore`] (`--database-url memory`).

use async_trait::async_trait;
use clap::Parser;
use scim_axum::scim_core::scim_filter::{AttrPath, CompValue, CompareOp, Filter};
use scim_axum::scim_core::{
    BearerAuthenticator, MemoryStore, Principal, Profile, RequestContext, RevocationError,
    RevocationReason, Revoked, ScimEngine, Store, StoredResource, TokenRevoker,
};
use scim_sqlx::SqlStore;

pub mod admin;
mod logging;
pub mod oauth;
pub use logging::{
    LOG_BATCH_BYTES, LOG_BUFFER_BYTES, LOG_FLUSH_INTERVAL, LogFormat, LogGuard, LogWriter, Logging,
    init_tracing, log_writer,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

/// The repository README: its Rust code blocks are compiled and run as doc tests of this
/// crate (`cargo test -p scim-examples --doc`), so the README's examples stay correct.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The one tenant of the example (every SCIM token belongs to it).
pub const TENANT: &str = "default";

/// Command-line options, shared by both binaries.
#[derive(Debug, Clone, Parser)]
#[command(
    about = "Example SCIM 2.0 service provider with a host app whose sessions die on deprovisioning"
)]
pub struct Options {
    /// Address to listen on.
    #[arg(long, env = "SCIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// SCIM bearer token(s) the IdP uses; several (comma-separated) allow rotation without
    /// downtime. `PROFILE=TOKEN` gives the token's client a compatibility profile
    /// (`default`, `strict`, `entra`, `okta`, `lenient`), e.g. `--token entra=s3cr3t`; a
    /// plain token gets `default`, which Okta and Entra ID provision with. When absent, a
    /// random token is generated and printed.
    #[arg(long, env = "SCIM_TOKEN", value_delimiter = ',')]
    pub token: Vec<String>,
    /// Where users, groups and the app's sessions live: `sqlite://PATH` (created with its
    /// folder if missing), `postgres://…` (several servers may share one database), or
    /// `memory` (gone when the server stops).
    #[arg(long, env = "SCIM_DATABASE_URL", default_value = "sqlite://scim.db")]
    pub database_url: String,
    /// How log lines (and the `scim::audit` events among them) are written: `text`, or
    /// `json` (one JSON object per line, for log shippers).
    #[arg(long, env = "SCIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Append log lines to this file instead of standard error.
    #[arg(long, env = "SCIM_LOG_FILE")]
    pub log_file: Option<std::path::PathBuf>,
    /// OAuth 2.0 clients of `POST /oauth/token` (client credentials grant), as
    /// `ID=SECRET`, optionally followed by the scopes the client may have
    /// (`ID=SECRET scim:read`; default `scim:read scim:write`). Only secrets' SHA-256 is kept.
    #[arg(long, env = "SCIM_OAUTH_CLIENTS", value_delimiter = ',')]
    pub oauth_client: Vec<oauth::OAuthClient>,
    /// Keys that sign and verify the JWT access tokens, as `KID=SECRET` (HS256, secrets of
    /// 32 bytes or more); the first signs, all verify. Give every replica the same keys.
    /// Without a key the token endpoint is off and only static tokens work.
    #[arg(long, env = "SCIM_OAUTH_SIGNING_KEYS", value_delimiter = ',')]
    pub oauth_signing_key: Vec<oauth::SigningKey>,
    /// Lifetime of an issued access token, in seconds.
    #[arg(long, env = "SCIM_OAUTH_TOKEN_TTL", default_value_t = 3600)]
    pub oauth_token_ttl: u64,
    /// Serve Prometheus metrics (requests, latency, authentication failures, revocations,
    /// store errors, Bulk operations) at `GET /metrics`, outside the SCIM path. Off by
    /// default; put the page where only your monitoring reaches it.
    #[arg(long, env = "SCIM_METRICS")]
    pub metrics: bool,
    /// Enable the provisioning inspector at `/admin`, signed in with this token (never a
    /// SCIM token): the last exchanges with their redacted bodies, failures, counts of
    /// users and groups, recent deprovisionings.
    #[arg(long, env = "SCIM_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// How many exchanges the inspector keeps (bodies of up to 64 KiB each).
    #[arg(long, env = "SCIM_ADMIN_HISTORY", default_value_t = admin::DEFAULT_HISTORY)]
    pub admin_history: usize,
}

/// One SCIM bearer token of the command line and the profile of the client holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimToken {
    /// The profile named before the token (`entra=…`), or `None` for the engine's default.
    pub profile: Option<Profile>,
    /// The bearer token.
    pub token: String,
}

impl std::str::FromStr for ScimToken {
    type Err = String;

    /// `TOKEN` or `PROFILE=TOKEN`. Text before the first `=` made only of ASCII letters is
    /// a profile name and must be a built-in one (a typo is an error, not part of the
    /// token); anything else is a plain token.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some((name, token)) = text.split_once('=') {
            if !name.is_empty()
                && !token.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphabetic())
            {
                let profile = Profile::builtin(name).ok_or_else(|| {
                    format!(
                        "unknown profile `{name}` in `--token {name}=…` (known: {})",
                        Profile::BUILTIN.join(", ")
                    )
                })?;
                return Ok(Self {
                    profile: Some(profile),
                    token: token.to_owned(),
                });
            }
        }
        Ok(Self {
            profile: None,
            token: text.to_owned(),
        })
    }
}

impl Options {
    /// The OAuth token endpoint of `--oauth-client` and `--oauth-signing-key`, for tenant
    /// [`TENANT`]; `None` without signing keys.
    pub fn token_endpoint(&self) -> Option<oauth::TokenEndpoint> {
        oauth::TokenEndpoint::new(
            self.oauth_client.clone(),
            self.oauth_signing_key.clone(),
            self.oauth_token_ttl,
            TENANT,
        )
    }

    /// The configured tokens, or one freshly generated random token (then `true`).
    ///
    /// # Errors
    ///
    /// A `PROFILE=TOKEN` whose profile is not a built-in one.
    pub fn tokens(&self) -> Result<(Vec<ScimToken>, bool), String> {
        let tokens = self
            .token
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.parse::<ScimToken>())
            .collect::<Result<Vec<_>, _>>()?;
        if tokens.is_empty() {
            let random = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            Ok((
                vec![ScimToken {
                    profile: None,
                    token: random,
                }],
                true,
            ))
        } else {
            Ok((tokens, false))
        }
    }
}

/// The host app's own sessions: opaque bearer tokens bound to SCIM User `id`s (never to
/// `userName`, which an IdP may rename). Also the app's [`TokenRevoker`].
///
/// With a SQL database they live in its `app_sessions` table, beside the SCIM tables, so a
/// session revoked through one server is dead on every server of the database.
#[derive(Debug, Clone)]
pub struct Sessions {
    backend: SessionBackend,
}

#[derive(Debug, Clone)]
enum SessionBackend {
    Memory(Arc<RwLock<SessionTable>>),
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

#[derive(Debug, Default)]
struct SessionTable {
    by_token: HashMap<String, (String, String)>,
    by_user: HashMap<(String, String), HashSet<String>>,
}

/// A session store failed.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct SessionError(#[from] sqlx::Error);

const SESSIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS app_sessions (token TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL)";
const SESSIONS_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS app_sessions_user ON app_sessions (tenant, user_id)";

impl Sessions {
    /// Sessions in memory.
    pub fn in_memory() -> Self {
        Self {
            backend: SessionBackend::Memory(Arc::default()),
        }
    }

    /// Sessions in the SQL store's database (its table is created if missing).
    pub async fn in_database(store: &SqlStore) -> Result<Self, SessionError> {
        let backend = match (store.sqlite_pool(), store.postgres_pool()) {
            (Some(pool), _) => {
                sqlx::query(SESSIONS_TABLE).execute(pool).await?;
                sqlx::query(SESSIONS_INDEX).execute(pool).await?;
                SessionBackend::Sqlite(pool.clone())
            }
            (None, Some(pool)) => {
                // Replicas starting at once may race on CREATE … IF NOT EXISTS.
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7315)")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(SESSIONS_TABLE).execute(&mut *tx).await?;
                sqlx::query(SESSIONS_INDEX).execute(&mut *tx).await?;
                tx.commit().await?;
                SessionBackend::Postgres(pool.clone())
            }
            (None, None) => SessionBackend::Memory(Arc::default()),
        };
        Ok(Self { backend })
    }

    /// Starts a session for `user_id` of `tenant` and returns its token.
    pub async fn start(&self, tenant: &str, user_id: &str) -> Result<String, SessionError> {
        let token = format!("sess-{}", uuid::Uuid::new_v4().simple());
        let insert = "INSERT INTO app_sessions (token, tenant, user_id) VALUES ($1, $2, $3)";
        match &self.backend {
            SessionBackend::Memory(table) => {
                let mut table = table.write().unwrap_or_else(PoisonError::into_inner);
                let key = (tenant.to_owned(), user_id.to_owned());
                table.by_token.insert(token.clone(), key.clone());
                table.by_user.entry(key).or_default().insert(token.clone());
            }
            SessionBackend::Sqlite(pool) => {
                sqlx::query(insert)
                    .bind(&token)
                    .bind(tenant)
                    .bind(user_id)
                    .execute(pool)
                    .await?;
            }
            SessionBackend::Postgres(pool) => {
                sqlx::query(insert)
                    .bind(&token)
                    .bind(tenant)
                    .bind(user_id)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(token)
    }

    /// The tenant and user id of a live session.
    pub async fn user_of(&self, token: &str) -> Result<Option<(String, String)>, SessionError> {
        let select = "SELECT tenant, user_id FROM app_sessions WHERE token = $1";
        Ok(match &self.backend {
            SessionBackend::Memory(table) => table
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .by_token
                .get(token)
                .cloned(),
            SessionBackend::Sqlite(pool) => {
                sqlx::query_as(select)
                    .bind(token)
                    .fetch_optional(pool)
                    .await?
            }
            SessionBackend::Postgres(pool) => {
                sqlx::query_as(select)
                    .bind(token)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// Ends every session of these users of `tenant`; answers how many ended.
    pub async fn revoke_users(
        &self,
        tenant: &str,
        user_ids: &[String],
    ) -> Result<u64, SessionError> {
        let delete = "DELETE FROM app_sessions WHERE tenant = $1 AND user_id = $2";
        let mut revoked = 0;
        match &self.backend {
            SessionBackend::Memory(table) => {
                let mut table = table.write().unwrap_or_else(PoisonError::into_inner);
                for user_id in user_ids {
                    let key = (tenant.to_owned(), user_id.clone());
                    for token in table.by_user.remove(&key).unwrap_or_default() {
                        table.by_token.remove(&token);
                        revoked += 1;
                    }
                }
            }
            SessionBackend::Sqlite(pool) => {
                for user_id in user_ids {
                    revoked += sqlx::query(delete)
                        .bind(tenant)
                        .bind(user_id)
                        .execute(pool)
                        .await?
                        .rows_affected();
                }
            }
            SessionBackend::Postgres(pool) => {
                for user_id in user_ids {
                    revoked += sqlx::query(delete)
                        .bind(tenant)
                        .bind(user_id)
                        .execute(pool)
                        .await?
                        .rows_affected();
                }
            }
        }
        Ok(revoked)
    }
}

#[async_trait]
impl TokenRevoker for Sessions {
    async fn revoke(
        &self,
        ctx: &RequestContext,
        user_ids: &[String],
        reason: RevocationReason,
    ) -> Result<Revoked, RevocationError> {
        let revoked = self
            .revoke_users(ctx.tenant(), user_ids)
            .await
            .map_err(RevocationError::new)?;
        tracing::info!(
            tenant = ctx.tenant(),
            users = user_ids.len(),
            sessions = revoked,
            reason = reason.as_str(),
            "revoked app sessions"
        );
        Ok(Revoked::sessions(revoked))
    }
}

/// Why `POST /app/login` or `GET /app/me` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppError {
    /// 400: the body is not `{"userName": "…"}`.
    BadRequest,
    /// 401: no or unknown session token.
    Unauthorized,
    /// 403: the user is unknown or inactive.
    Forbidden,
    /// 500: the store failed.
    Internal,
}

impl AppError {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            AppError::BadRequest => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::Internal => 500,
        }
    }

    /// A JSON error body.
    pub fn body(self) -> Value {
        let message = match self {
            AppError::BadRequest => "send {\"userName\": \"…\"}",
            AppError::Unauthorized => "no valid session; log in again",
            AppError::Forbidden => "unknown or inactive user",
            AppError::Internal => "internal error",
        };
        json!({ "error": message })
    }
}

/// What [`DemoApp::open_with`] adds to the SCIM service, each off by default.
#[derive(Debug, Clone)]
pub struct Extras {
    /// The OAuth token endpoint (`--oauth-signing-key`).
    pub oauth: Option<oauth::TokenEndpoint>,
    /// Whether to record metrics for `GET /metrics` (`--metrics`).
    pub metrics: bool,
    /// The token of the `/admin` inspector (`--admin-token`).
    pub admin_token: Option<String>,
    /// How many exchanges the inspector keeps.
    pub admin_history: usize,
}

impl Default for Extras {
    fn default() -> Self {
        Self {
            oauth: None,
            metrics: false,
            admin_token: None,
            admin_history: admin::DEFAULT_HISTORY,
        }
    }
}

/// Latency buckets of `scim_request_duration_seconds`, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process's Prometheus recorder (the `metrics` facade's global recorder) with
/// latency histograms, and keeps its histograms drained.
fn install_prometheus()
-> Result<metrics_exporter_prometheus::PrometheusHandle, Box<dyn std::error::Error>> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })?;
    Ok(handle)
}

/// The example app: the SCIM engine plus the host's own login and sessions.
#[derive(Clone)]
pub struct DemoApp {
    /// The SCIM engine to mount under `/scim/v2`.
    pub engine: ScimEngine,
    /// The store the engine writes (shared: the load-test server seeds it).
    pub store: Arc<dyn Store>,
    /// The app's sessions (also the engine's token revoker).
    pub sessions: Sessions,
    /// The OAuth token endpoint, when signing keys are configured.
    pub oauth: Option<oauth::TokenEndpoint>,
    /// The provisioning inspector, with `--admin-token`.
    pub admin: Option<admin::Admin>,
    /// The Prometheus page, with `--metrics`.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl std::fmt::Debug for DemoApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoApp")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl DemoApp {
    /// Opens the app on `database_url` (see [`Options::database_url`]) with these SCIM
    /// bearer tokens (all of tenant [`TENANT`]), without a token endpoint, metrics or
    /// inspector.
    pub async fn open(
        scim_tokens: &[ScimToken],
        database_url: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        Self::open_with(scim_tokens, database_url, &Extras::default()).await
    }

    /// The app as the command line configures it: [`DemoApp::open`] plus the OAuth token
    /// endpoint, `/metrics` and the `/admin` inspector when their options are given.
    pub async fn from_options(
        options: &Options,
        scim_tokens: &[ScimToken],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let admin_token = options.admin_token.clone().filter(|t| !t.trim().is_empty());
        if let Some(admin) = &admin_token {
            if scim_tokens.iter().any(|t| t.token == *admin) {
                return Err(
                    "--admin-token must not be one of the SCIM tokens: the inspector shows \
                            what every client sent, so it needs a secret of its own"
                        .into(),
                );
            }
        }
        let extras = Extras {
            oauth: options.token_endpoint(),
            metrics: options.metrics,
            admin_token,
            admin_history: options.admin_history,
        };
        Self::open_with(scim_tokens, &options.database_url, &extras).await
    }

    /// [`DemoApp::open`] with [`Extras`].
    pub async fn open_with(
        scim_tokens: &[ScimToken],
        database_url: &str,
        extras: &Extras,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let (store, sessions): (Arc<dyn Store>, Sessions) = if database_url == "memory" {
            (Arc::new(MemoryStore::new()), Sessions::in_memory())
        } else {
            let store = SqlStore::connect(database_url).await?;
            let sessions = Sessions::in_database(&store).await?;
            (Arc::new(store), sessions)
        };
        let authenticator = BearerAuthenticator::new();
        for (i, token) in scim_tokens.iter().enumerate() {
            let label = format!("scim-token-{}", i + 1);
            match &token.profile {
                Some(profile) => {
                    authenticator.add_profile_token(TENANT, &label, profile.clone(), &token.token);
                }
                None => authenticator.add_token(TENANT, &label, &token.token),
            }
        }
        let oauth = extras.oauth.clone();
        let bearer: Arc<dyn scim_core::Authenticator> = Arc::new(authenticator);
        // Bearer tokens alone need no chain around them.
        let authenticator = match &oauth {
            Some(endpoint) => Arc::new(scim_core::FirstOf::new(vec![
                bearer,
                Arc::new(endpoint.authenticator()),
            ])),
            None => bearer,
        };
        let mut builder = ScimEngine::builder(Arc::clone(&store))
            .authenticator(authenticator)
            .revoker(sessions.clone());
        let metrics = if extras.metrics {
            builder = builder.observer(scim_core::observe::MetricsObserver::new());
            Some(install_prometheus()?)
        } else {
            None
        };
        let inspector = extras
            .admin_token
            .as_ref()
            .map(|_| admin::Inspector::new(extras.admin_history));
        if let Some(inspector) = &inspector {
            builder = builder.observer(inspector.clone());
        }
        let engine = builder.build()?;
        let admin = match (&extras.admin_token, inspector) {
            (Some(token), Some(inspector)) => {
                Some(admin::Admin::new(token, inspector, engine.clone(), TENANT))
            }
            _ => None,
        };
        Ok(Self {
            engine,
            store,
            sessions,
            oauth,
            admin,
            metrics,
        })
    }

    /// `GET /metrics`: the Prometheus text format, or `None` (404) without `--metrics`.
    pub fn metrics_page(&self) -> Option<String> {
        self.metrics.as_ref().map(|handle| handle.render())
    }

    /// A request under `/admin`; 404 without `--admin-token`.
    pub async fn admin(&self, request: admin::AdminRequest<'_>) -> admin::Reply {
        match &self.admin {
            Some(admin) => admin.handle(request).await,
            None => admin::Reply {
                status: 404,
                headers: vec![("content-type", "text/plain; charset=utf-8".into())],
                body: b"the inspector is off: start the server with --admin-token".to_vec(),
            },
        }
    }

    /// `POST /oauth/token` (RFC 6749 §4.4); 404 when no signing key is configured.
    pub fn token(&self, authorization: Option<&str>, body: &[u8]) -> oauth::TokenResponse {
        match &self.oauth {
            Some(endpoint) => endpoint.token(authorization, body),
            None => oauth::TokenResponse {
                status: 404,
                body: json!({"error": "not_found", "error_description": "start the server with --oauth-signing-key to enable the token endpoint"}),
                basic_challenge: false,
            },
        }
    }

    fn context(&self) -> RequestContext {
        RequestContext::new(Principal::new(TENANT, "demo-app"), "")
    }

    /// `POST /app/login`: a session token for an active user with this `userName`.
    pub async fn login(&self, body: &[u8]) -> Result<Value, AppError> {
        let body: Value = serde_json::from_slice(body).map_err(|_| AppError::BadRequest)?;
        let user_name = body
            .get("userName")
            .and_then(Value::as_str)
            .ok_or(AppError::BadRequest)?;
        let filter = Filter::Compare {
            path: AttrPath::new("userName"),
            op: CompareOp::Eq,
            value: CompValue::String(user_name.to_owned()),
        };
        let found = self
            .engine
            .find(&self.context(), "User", &filter, 1)
            .await
            .map_err(|_| AppError::Internal)?;
        let user = found.first().ok_or(AppError::Forbidden)?;
        let (_, active) = user_fields(user)?;
        if !active {
            return Err(AppError::Forbidden);
        }
        let token = self
            .sessions
            .start(TENANT, user.id())
            .await
            .map_err(|_| AppError::Internal)?;
        Ok(json!({ "token": token }))
    }

    /// `GET /app/me`: the user behind a live session.
    pub async fn me(&self, authorization: Option<&str>) -> Result<Value, AppError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(AppError::Unauthorized)?;
        let (_, user_id) = self
            .sessions
            .user_of(token)
            .await
            .map_err(|_| AppError::Internal)?
            .ok_or(AppError::Unauthorized)?;
        let user = self
            .engine
            .get(&self.context(), "User", &user_id)
            .await
            .map_err(|_| AppError::Internal)?
            .ok_or(AppError::Unauthorized)?;
        let (user_name, active) = user_fields(&user)?;
        Ok(json!({
            "id": user_id,
            "userName": user_name,
            "active": active,
        }))
    }
}

/// A User's `userName` and `active` (RFC 7643 §4.1.1; `active` defaults to true).
fn user_fields(user: &StoredResource) -> Result<(Option<String>, bool), AppError> {
    let attributes = user.attributes().map_err(|_| AppError::Internal)?;
    let user_name = attributes
        .get("userName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let active = attributes.get("active").and_then(Value::as_bool) != Some(false);
    Ok((user_name, active))
}

/// Prints how to reach the server, including a generated token.
pub fn announce(framework: &str, listen: SocketAddr, tokens: &[ScimToken], generated: bool) {
    eprintln!("scim-examples ({framework}) listening on http://{listen}");
    eprintln!("  SCIM base URL: http://{listen}/scim/v2");
    if generated {
        if let Some(token) = tokens.first() {
            // Printed once on purpose: the operator needs it to configure the IdP.
            eprintln!("  generated SCIM bearer token: {}", token.token);
        }
    } else {
        let profiles: Vec<&str> = tokens
            .iter()
            .map(|t| t.profile.as_ref().map_or("default", Profile::name))
            .collect();
        eprintln!(
            "  {} SCIM bearer token(s) configured (profiles: {})",
            tokens.len(),
            profiles.join(", ")
        );
    }
    eprintln!("  app: POST /app/login {{\"userName\": \"…\"}}, GET /app/me");
}

#[cfg(test)]
mod tests {
    use super::{Profile, ScimToken};

    #[test]
    fn tokens_may_name_a_profile() {
        let plain: ScimToken = "s3cr3t".parse().unwrap();
        assert_eq!((plain.profile, plain.token.as_str()), (None, "s3cr3t"));
        let entra: ScimToken = "entra=s3cr3t".parse().unwrap();
        assert_eq!(entra.profile, Some(Profile::entra()));
        assert_eq!(entra.token, "s3cr3t");
        let strict: ScimToken = " STRICT=a=b ".parse().unwrap();
        assert_eq!(strict.profile, Some(Profile::strict()));
        assert_eq!(strict.token, "a=b");
        // Base64 padding and other non-letter prefixes are part of the token.
        for token in ["YWJj=", "a1=b", "=x", "abc="] {
            let parsed: ScimToken = token.parse().unwrap();
            assert_eq!((parsed.profile, parsed.token.as_str()), (None, token));
        }
        let typo = "entar=s3cr3t".parse::<ScimToken>().unwrap_err();
        assert!(typo.contains("unknown profile `entar`"), "{typo}");
    }
}

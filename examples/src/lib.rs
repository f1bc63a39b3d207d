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
//! SCIM itself is served under `/scim/v2` by the adapter crates, over a [`MemoryStore`].

use async_trait::async_trait;
use clap::Parser;
use scim_axum::scim_core::scim_filter::{AttrPath, CompValue, CompareOp, Filter};
use scim_axum::scim_core::{
    BearerAuthenticator, MemoryStore, Principal, RequestContext, RevocationError, RevocationReason,
    ScimEngine, StoredResource, TokenRevoker,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

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
    /// downtime. When absent, a random token is generated and printed.
    #[arg(long, env = "SCIM_TOKEN", value_delimiter = ',')]
    pub token: Vec<String>,
}

impl Options {
    /// The configured tokens, or one freshly generated random token.
    pub fn tokens(&self) -> (Vec<String>, bool) {
        let tokens: Vec<String> = self
            .token
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if tokens.is_empty() {
            let random = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            (vec![random], true)
        } else {
            (tokens, false)
        }
    }
}

/// The host app's own sessions: opaque bearer tokens bound to SCIM User `id`s (never to
/// `userName`, which an IdP may rename). Also the app's [`TokenRevoker`].
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    inner: Arc<RwLock<SessionTable>>,
}

#[derive(Debug, Default)]
struct SessionTable {
    by_token: HashMap<String, String>,
    by_user: HashMap<String, HashSet<String>>,
}

impl Sessions {
    /// Starts a session for `user_id` and returns its token.
    pub fn start(&self, user_id: &str) -> String {
        let token = format!("sess-{}", uuid::Uuid::new_v4().simple());
        if let Ok(mut table) = self.inner.write() {
            table.by_token.insert(token.clone(), user_id.to_owned());
            table
                .by_user
                .entry(user_id.to_owned())
                .or_default()
                .insert(token.clone());
        }
        token
    }

    /// The user id of a live session.
    pub fn user_of(&self, token: &str) -> Option<String> {
        self.inner.read().ok()?.by_token.get(token).cloned()
    }

    /// Ends every session of these users.
    pub fn revoke_users(&self, user_ids: &[String]) -> usize {
        let Ok(mut table) = self.inner.write() else {
            return 0;
        };
        let mut revoked = 0;
        for user_id in user_ids {
            for token in table.by_user.remove(user_id).unwrap_or_default() {
                table.by_token.remove(&token);
                revoked += 1;
            }
        }
        revoked
    }
}

#[async_trait]
impl TokenRevoker for Sessions {
    async fn revoke(
        &self,
        ctx: &RequestContext,
        user_ids: &[String],
        reason: RevocationReason,
    ) -> Result<(), RevocationError> {
        let revoked = self.revoke_users(user_ids);
        tracing::info!(
            tenant = ctx.tenant(),
            users = user_ids.len(),
            sessions = revoked,
            reason = reason.as_str(),
            "revoked app sessions"
        );
        Ok(())
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

/// The example app: the SCIM engine plus the host's own login and sessions.
#[derive(Debug, Clone)]
pub struct DemoApp {
    /// The SCIM engine to mount under `/scim/v2`.
    pub engine: ScimEngine,
    /// The store the engine writes (shared, so the app reads the same users).
    pub store: MemoryStore,
    /// The app's sessions (also the engine's token revoker).
    pub sessions: Sessions,
}

impl DemoApp {
    /// Builds the app with these SCIM bearer tokens (all of tenant [`TENANT`]).
    pub fn new(scim_tokens: &[String]) -> Result<Self, Box<dyn std::error::Error>> {
        let store = MemoryStore::new();
        let sessions = Sessions::default();
        let authenticator = BearerAuthenticator::new();
        for (i, token) in scim_tokens.iter().enumerate() {
            authenticator.add_token(TENANT, &format!("scim-token-{}", i + 1), token);
        }
        let engine = ScimEngine::builder(store.clone())
            .authenticator(authenticator)
            .revoker(sessions.clone())
            .build()?;
        Ok(Self {
            engine,
            store,
            sessions,
        })
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
        Ok(json!({ "token": self.sessions.start(user.id()) }))
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
        let user_id = self.sessions.user_of(token).ok_or(AppError::Unauthorized)?;
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

/// Sets up tracing to stderr (`RUST_LOG` overrides the default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints how to reach the server, including a generated token.
pub fn announce(framework: &str, listen: SocketAddr, tokens: &[String], generated: bool) {
    eprintln!("scim-examples ({framework}) listening on http://{listen}");
    eprintln!("  SCIM base URL: http://{listen}/scim/v2");
    if generated {
        if let Some(token) = tokens.first() {
            // Printed once on purpose: the operator needs it to configure the IdP.
            eprintln!("  generated SCIM bearer token: {token}");
        }
    } else {
        eprintln!("  {} SCIM bearer token(s) configured", tokens.len());
    }
    eprintln!("  app: POST /app/login {{\"userName\": \"…\"}}, GET /app/me");
}

//! The example servers as child processes, for the end-to-end tests: each starts on
//! `127.0.0.1:0` with its own fresh database (a temporary SQLite file unless the test names
//! one), announces its bound address (and a generated token) on stderr, and is killed when
//! its guard drops, also when a test panics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const AXUM: &str = env!("CARGO_BIN_EXE_axum-server");
pub const ACTIX: &str = env!("CARGO_BIN_EXE_actix-server");

/// Generous: the machine may be busy compiling or running other tests.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A running example server; dropping it kills the process.
pub struct Server {
    child: Child,
    /// The `--database-url` it was started with.
    pub database_url: String,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// The token printed by `announce` when none was configured.
    pub generated_token: Option<String>,
    /// Every stderr line so far (the reader thread keeps draining the pipe).
    log: Arc<Mutex<Vec<String>>>,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts `bin` with `args` (plus `--listen 127.0.0.1:0`) on a fresh temporary SQLite
    /// database and waits for its announcement.
    pub fn start(bin: &str, args: &[&str]) -> Self {
        Self::start_on(bin, &sqlite_url(), args)
    }

    /// Starts `bin` on `database_url` with `args` (plus `--listen 127.0.0.1:0`) and waits for
    /// its announcement.
    pub fn start_on(bin: &str, database_url: &str, args: &[&str]) -> Self {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(args)
            .env_remove("SCIM_DATABASE_URL")
            .env_remove("SCIM_TOKEN")
            .env_remove("SCIM_LISTEN")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push(line.clone());
                    // The receiver goes away after startup; keep draining the pipe anyway.
                    let _ = tx.send(line);
                }
            });
        }
        // Build the guard now, so the child is killed if startup fails.
        let mut server = Server {
            child,
            database_url: database_url.to_owned(),
            origin: String::new(),
            generated_token: None,
            log,
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .no_proxy()
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{bin} did not announce itself within {STARTUP_TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().ok();
                    panic!("{bin} exited before announcing itself ({status:?})")
                }
            };
            if let Some((_, addr)) = line.split_once("listening on http://") {
                server.origin = format!("http://{}", addr.trim());
            } else if let Some((_, token)) = line.split_once("generated SCIM bearer token: ") {
                server.generated_token = Some(token.trim().to_owned());
            } else if line.contains("app: POST /app/login") {
                // The last line of `announce`.
                break;
            }
        }
        assert!(
            server.origin.starts_with("http://127.0.0.1:") && !server.origin.ends_with(":0"),
            "no bound address announced: {:?}",
            server.log()
        );
        server
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The log once a line satisfies `wanted`, or panics after 10 s: log lines are written
    /// by a background thread, so one may arrive just after the response it belongs to.
    pub fn wait_for_log(&self, what: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.iter().any(|line| wanted(line)) {
                return log;
            }
            assert!(Instant::now() < deadline, "no log line {what}: {log:#?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub fn scim(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/scim/v2{path}")))
            .bearer_auth(token)
    }

    /// `POST /scim/v2/Users`; the new user's `id`.
    pub async fn create_user(&self, token: &str, user_name: &str) -> String {
        let (status, body) = send(
            self.scim(reqwest::Method::POST, "/Users", token)
                .json(&json!({
                    "schemas": [USER_SCHEMA],
                    "userName": user_name,
                    "name": {"givenName": "Demo", "familyName": "User"},
                    "active": true,
                })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "create {user_name}: {body}");
        assert_eq!(body["userName"], user_name, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// `POST /app/login`: the status and body.
    pub async fn login(&self, user_name: &str) -> (StatusCode, Value) {
        send(
            self.client
                .post(self.url("/app/login"))
                .json(&json!({ "userName": user_name })),
        )
        .await
    }

    /// `POST /app/login` that must succeed; the session token.
    pub async fn session(&self, user_name: &str) -> String {
        let (status, body) = self.login(user_name).await;
        assert_eq!(status, StatusCode::OK, "login {user_name}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// `GET /app/me` with a session token: the status and body.
    pub async fn me(&self, session: &str) -> (StatusCode, Value) {
        send(self.client.get(self.url("/app/me")).bearer_auth(session)).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- server stderr ({}) ---", self.origin);
            for line in self.log() {
                eprintln!("{line}");
            }
        }
    }
}

/// A handle on one server's SCIM API that tasks can clone.
#[derive(Clone)]
pub struct Api {
    pub origin: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/scim/v2{path}", self.origin))
            .bearer_auth(&self.token)
    }
}

impl Server {
    /// This server's SCIM API with `token`.
    pub fn api(&self, token: &str) -> Api {
        Api {
            origin: self.origin.clone(),
            token: token.to_owned(),
            client: self.client.clone(),
        }
    }
}

/// Sends a request; the status, the headers and the JSON body, or the transport error (a
/// server that was killed).
pub async fn try_send(
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, reqwest::header::HeaderMap, Value), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    Ok((
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// Sends a request; the status and the JSON body (`Null` when empty or not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request failed");
    let status = response.status();
    let bytes = response.bytes().await.expect("reading the body failed");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub fn random_token() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// A fresh SQLite database file (with a folder that does not exist yet: the server creates it).
pub fn sqlite_url() -> String {
    let n = NEXT_DATABASE.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir()
        .join(format!("scim-examples-tests-{}", std::process::id()))
        .join(format!("db{n}-{}", uuid::Uuid::new_v4().simple()));
    format!("sqlite://{}", dir.join("scim.db").display())
}

/// The PostgreSQL server for the tests, or `None` (with a message) when they should skip:
/// `.ci/run` starts one and sets `SCIM_TEST_POSTGRES_URL`; under `CI=true` it must be set.
pub fn postgres_server() -> Option<String> {
    match std::env::var("SCIM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but SCIM_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run")
        }
        _ => {
            eprintln!("skipping PostgreSQL tests: SCIM_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// The URL of a new, empty database on the PostgreSQL server at `server`.
pub async fn postgres_url(server: &str) -> String {
    let name = format!("scim_ex_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(server).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("SCIM_TEST_POSTGRES_URL has no database name: {server}"),
    }
}

//! The session demo, end to end against the real binaries: a user's app session dies when
//! the IdP deactivates the user and when it deletes the user.
//!
//! Each test starts `axum-server` or `actix-server` on `127.0.0.1:0`, learns the bound
//! address (and a generated token) from the `announce` lines on the child's stderr, and
//! drives it over HTTP: SCIM under `/scim/v2`, the host app's `POST /app/login` and
//! `GET /app/me`. The child is killed when its guard drops, also when a test panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const AXUM: &str = env!("CARGO_BIN_EXE_axum-server");
const ACTIX: &str = env!("CARGO_BIN_EXE_actix-server");

/// Generous: the machine may be busy compiling or running other tests.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A running example server; dropping it kills the process.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    origin: String,
    /// The token printed by `announce` when none was configured.
    generated_token: Option<String>,
    /// Every stderr line so far (the reader thread keeps draining the pipe).
    log: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl Server {
    /// Starts `bin` with `args` (plus `--listen 127.0.0.1:0`) and waits for its announcement.
    fn start(bin: &str, args: &[&str]) -> Self {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
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

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    fn scim(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/scim/v2{path}")))
            .bearer_auth(token)
    }

    /// `POST /scim/v2/Users`; the new user's `id`.
    async fn create_user(&self, token: &str, user_name: &str) -> String {
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
    async fn login(&self, user_name: &str) -> (StatusCode, Value) {
        send(
            self.client
                .post(self.url("/app/login"))
                .json(&json!({ "userName": user_name })),
        )
        .await
    }

    /// `POST /app/login` that must succeed; the session token.
    async fn session(&self, user_name: &str) -> String {
        let (status, body) = self.login(user_name).await;
        assert_eq!(status, StatusCode::OK, "login {user_name}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// `GET /app/me` with a session token: the status and body.
    async fn me(&self, session: &str) -> (StatusCode, Value) {
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

/// Sends a request; the status and the JSON body (`Null` when empty or not JSON).
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request failed");
    let status = response.status();
    let bytes = response.bytes().await.expect("reading the body failed");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn random_token() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Joiner → login → leaver by deactivation, then by delete; the session dies each time.
async fn session_dies_on_deactivation_and_delete(bin: &str) {
    let token = random_token();
    let server = Server::start(bin, &["--token", &token]);

    // A bystander whose session must survive everything below.
    let bystander = unique("bystander");
    let bystander_id = server.create_user(&token, &bystander).await;
    let bystander_session = server.session(&bystander).await;

    // Joiner, then the app session.
    let alice = unique("alice");
    let alice_id = server.create_user(&token, &alice).await;
    let session = server.session(&alice).await;
    let (status, me) = server.me(&session).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], alice_id.as_str());
    assert_eq!(me["userName"], alice.as_str());
    assert_eq!(me["active"], true);

    // Leaver, the way Entra ID deactivates: capitalized op, string boolean.
    let (status, body) = send(
        server
            .scim(
                reqwest::Method::PATCH,
                &format!("/Users/{alice_id}"),
                &token,
            )
            .json(&json!({
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "deactivate: {body}");
    assert_eq!(body["active"], false, "{body}");

    // The session died before the IdP got its 200, and the user cannot log in again.
    let (status, body) = server.me(&session).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/app/me after deactivation: {body}"
    );
    let (status, body) = server.login(&alice).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "login while inactive: {body}"
    );
    // The user still exists in SCIM, inactive.
    let (status, body) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{alice_id}"), &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false, "{body}");

    // Leaver by delete: two sessions of the same user both die.
    let bob = unique("bob");
    let bob_id = server.create_user(&token, &bob).await;
    let first = server.session(&bob).await;
    let second = server.session(&bob).await;
    assert_ne!(first, second);
    for session in [&first, &second] {
        let (status, body) = server.me(session).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["id"], bob_id.as_str());
    }
    let (status, body) =
        send(server.scim(reqwest::Method::DELETE, &format!("/Users/{bob_id}"), &token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "delete: {body}");
    for session in [&first, &second] {
        let (status, body) = server.me(session).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "/app/me after delete: {body}"
        );
    }
    let (status, body) = server.login(&bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "login after delete: {body}");
    let (status, _) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{bob_id}"), &token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revocation touched only the deprovisioned users.
    let (status, body) = server.me(&bystander_session).await;
    assert_eq!(status, StatusCode::OK, "the bystander's session: {body}");
    assert_eq!(body["id"], bystander_id.as_str());

    // The app's other answers.
    let (status, body) = server.login(&unique("nobody")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "unknown user: {body}");
    let (status, _) = send(
        server
            .client
            .post(server.url("/app/login"))
            .body("not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(server.client.get(server.url("/app/me"))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/app/me without a session"
    );
    let (status, _) = server.me("sess-forged").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/app/me with a forged session"
    );

    // SCIM without a token, or with a wrong one: 401 with a Bearer challenge.
    for request in [
        server.client.get(server.url("/scim/v2/Users")),
        server.scim(reqwest::Method::GET, "/Users", &random_token()),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers().get("www-authenticate").cloned();
        assert!(
            challenge.is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
            "401 without `WWW-Authenticate: Bearer`"
        );
    }

    // The SCIM token is never logged.
    let log = server.log();
    assert!(
        !log.iter().any(|line| line.contains(&token)),
        "the SCIM token appears in the server's log"
    );
}

/// `--token a,b`: both tokens authenticate (rotation without downtime).
async fn two_tokens_both_work(bin: &str) {
    let (old, new) = (random_token(), random_token());
    let tokens = format!("{old},{new}");
    let server = Server::start(bin, &["--token", &tokens]);
    assert_eq!(server.generated_token, None);
    let user = unique("rotated");
    let id = server.create_user(&old, &user).await;
    let (status, body) =
        send(server.scim(reqwest::Method::GET, &format!("/Users/{id}"), &new)).await;
    assert_eq!(status, StatusCode::OK, "the second token: {body}");
    assert_eq!(body["userName"], user.as_str());
    for token in [&old, &new] {
        let (status, _) =
            send(server.scim(reqwest::Method::GET, "/ServiceProviderConfig", token)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", &tokens)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the comma-joined text is no token"
    );
    let log = server.log();
    assert!(
        !log.iter()
            .any(|line| line.contains(&old) || line.contains(&new)),
        "a SCIM token appears in the server's log"
    );
}

/// Without `--token`, a random token is generated, printed once, and works.
async fn generated_token_is_printed_and_works(bin: &str) {
    let server = Server::start(bin, &[]);
    let token = server
        .generated_token
        .clone()
        .unwrap_or_else(|| panic!("no generated token announced: {:?}", server.log()));
    assert!(token.len() >= 32, "a short generated token: {token}");
    let (status, body) = send(server.scim(reqwest::Method::GET, "/Users", &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 0, "{body}");
    let (status, _) = send(server.scim(reqwest::Method::GET, "/Users", &random_token())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let printed = server.log().iter().filter(|l| l.contains(&token)).count();
    assert_eq!(printed, 1, "the generated token is printed exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_session_dies_on_deactivation_and_delete() {
    session_dies_on_deactivation_and_delete(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_session_dies_on_deactivation_and_delete() {
    session_dies_on_deactivation_and_delete(ACTIX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_two_tokens_both_work() {
    two_tokens_both_work(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_two_tokens_both_work() {
    two_tokens_both_work(ACTIX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_generated_token_is_printed_and_works() {
    generated_token_is_printed_and_works(AXUM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_generated_token_is_printed_and_works() {
    generated_token_is_printed_and_works(ACTIX).await;
}

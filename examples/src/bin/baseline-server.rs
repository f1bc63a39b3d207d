//! **A benchmark baseline, not an example to copy.** A bare axum app that serves the same
//! routes as the example SCIM server (`axum-server`) with none of SCIM's rules: a
//! `HashMap` of `serde_json::Value` users behind one `RwLock`, a plain string compare of
//! the bearer token, a minimal `filter` parser, no schema validation, no ETag hashing,
//! no projection, no audit. `scripts/load.sh` measures the SCIM server against it (the
//! speed goal is a ratio of the two; see `BENCHMARKS.md`).
//!
//! Routes (under `/scim/v2`): `GET /Users/{id}`, `GET /Users?filter=userName eq "…"`,
//! `GET /Users?count=N` (the first N users), `PATCH /Users/{id}` (applies each
//! operation's `path`/`value` as a top-level replace), `POST /Users` (new uuid, 201).
//!
//! `cargo run --release -p scim-examples --bin baseline-server -- --listen 127.0.0.1:8082 --token t --preload 10000`

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

/// The allocator of this binary: mimalloc, with the default feature `mimalloc` of
/// `scim-examples` (every binary of the crate sets it, the load-test baseline included).
/// A SCIM request builds and drops many small objects (the JSON values of bodies and
/// stored resources); on glibc's allocator about a fifth of a PATCH's instructions are
/// `malloc` and `free` (BENCHMARKS.md). A host application chooses its own allocator:
/// the library crates set none.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../baseline_sql.rs"]
mod baseline_sql;
#[path = "../bench_users.rs"]
mod bench_users;

const SCIM_JSON: &str = "application/scim+json";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

#[derive(Debug, Parser)]
#[command(about = "Benchmark baseline: a bare axum app serving the SCIM load-test routes")]
struct BaselineOptions {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
    /// The bearer token to accept.
    #[arg(long, default_value = "s3cr3t")]
    token: String,
    /// Users to create before serving (user `i`: userName `user{i}`).
    #[arg(long, default_value_t = 10_000)]
    preload: usize,
    /// Serve from one SQL table instead of memory: `sqlite://PATH` or `postgres://…`
    /// (one statement per request; seeded with `--preload` users when empty). `memory`
    /// (what `axum-server` takes for its in-memory store) keeps the `HashMap`, so a script
    /// passes both servers the same option.
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Default)]
struct Users {
    by_id: HashMap<String, Value>,
    /// Lower-cased userName → id.
    by_name: HashMap<String, String>,
    /// Ids in creation order (for the page).
    order: Vec<String>,
}

struct App {
    stamper: baseline_sql::Stamper,
    users: RwLock<Users>,
}

type Shared = Arc<App>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<'a> {
    schemas: [&'static str; 1],
    total_results: usize,
    start_index: usize,
    items_per_page: usize,
    #[serde(rename = "Resources")]
    resources: Vec<&'a Value>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = BaselineOptions::parse();
    let base = format!("http://{}/scim/v2", options.listen);
    if let Some(url) = options
        .database_url
        .as_deref()
        .filter(|url| *url != "memory")
    {
        let app = baseline_sql::SqlApp::open(url, &options.token, base, options.preload, |i| {
            (bench_users::user_id(i), bench_users::user_attributes(i))
        })
        .await?;
        eprintln!("preloaded {} users into {url}", options.preload);
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        eprintln!(
            "baseline-server (SQL) listening on http://{}",
            listener.local_addr()?
        );
        axum::serve(listener, baseline_sql::router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        return Ok(());
    }
    let app = Arc::new(App {
        stamper: baseline_sql::Stamper::new(&options.token, base),
        users: RwLock::new(Users::default()),
    });
    {
        let now = now();
        let mut users = app.users.write().unwrap_or_else(PoisonError::into_inner);
        for i in 0..options.preload {
            let mut user = bench_users::user_attributes(i);
            let id = bench_users::user_id(i);
            app.stamper.stamp(&mut user, &id, &now);
            insert(&mut users, id, user);
        }
    }
    eprintln!("preloaded {} users", options.preload);
    let router = Router::new()
        .route("/scim/v2/Users", get(list).post(create))
        .route("/scim/v2/Users/{id}", get(get_one).patch(patch))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    eprintln!(
        "baseline-server listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn insert(users: &mut Users, id: String, user: Value) {
    if let Some(name) = user.get("userName").and_then(Value::as_str) {
        users.by_name.insert(name.to_lowercase(), id.clone());
    }
    users.order.push(id.clone());
    users.by_id.insert(id, user);
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn serialized<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_response(status, body),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn list_response(total: usize, resources: Vec<&Value>) -> Response {
    serialized(
        StatusCode::OK,
        &ListResponse {
            schemas: [LIST_SCHEMA],
            total_results: total,
            start_index: 1,
            items_per_page: resources.len(),
            resources,
        },
    )
}

async fn get_one(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !app.stamper.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let users = app.users.read().unwrap_or_else(PoisonError::into_inner);
    match users.by_id.get(&id) {
        Some(user) => serialized(StatusCode::OK, user),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `filter=userName eq "…"` (minimal parse) or `count=N`.
async fn list(
    State(app): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !app.stamper.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut filter = None;
    let mut count = usize::MAX;
    for pair in query.as_deref().unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        match name {
            "filter" => filter = Some(value.replace('+', " ")),
            "count" => count = value.parse().unwrap_or(usize::MAX),
            _ => {}
        }
    }
    let users = app.users.read().unwrap_or_else(PoisonError::into_inner);
    match filter {
        Some(filter) => {
            let wanted = filter
                .strip_prefix("userName eq \"")
                .and_then(|rest| rest.strip_suffix('"'));
            let Some(wanted) = wanted else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            let found: Vec<&Value> = users
                .by_name
                .get(&wanted.to_lowercase())
                .and_then(|id| users.by_id.get(id))
                .into_iter()
                .collect();
            list_response(found.len(), found)
        }
        None => {
            let page: Vec<&Value> = users
                .order
                .iter()
                .take(count)
                .filter_map(|id| users.by_id.get(id))
                .collect();
            list_response(users.by_id.len(), page)
        }
    }
}

/// Each operation's `path` = `value` on the top level (no SCIM PATCH semantics).
async fn patch(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !app.stamper.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(operations) = request.get("Operations").and_then(Value::as_array) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let version = app.stamper.next_version();
    let now = now();
    let mut users = app.users.write().unwrap_or_else(PoisonError::into_inner);
    let Some(Value::Object(user)) = users.by_id.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    for operation in operations {
        if let (Some(path), Some(value)) = (
            operation.get("path").and_then(Value::as_str),
            operation.get("value"),
        ) {
            user.insert(path.to_owned(), value.clone());
        }
    }
    if let Some(Value::Object(meta)) = user.get_mut("meta") {
        meta.insert("version".into(), Value::String(version));
        meta.insert("lastModified".into(), Value::String(now));
    }
    serialized(StatusCode::OK, user)
}

async fn create(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !app.stamper.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(mut user) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(name) = user.get("userName").and_then(Value::as_str) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let key = name.to_lowercase();
    let id = uuid::Uuid::new_v4().to_string();
    app.stamper.stamp(&mut user, &id, &now());
    let location = format!("{}/Users/{id}", app.stamper.base);
    let body = serde_json::to_vec(&user);
    let mut users = app.users.write().unwrap_or_else(PoisonError::into_inner);
    if users.by_name.contains_key(&key) {
        return StatusCode::CONFLICT.into_response();
    }
    insert(&mut users, id, user);
    drop(users);
    let Ok(body) = body else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

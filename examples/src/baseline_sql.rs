//! The SQL mode of `baseline-server` (`--database-url sqlite://…` or `postgres://…`): the
//! same routes over one table, `baseline_users(id, user_name_lower, body)`, with exactly one
//! SQL statement per request through sqlx — the floor any SQL-backed SCIM server stands on.
//! SQLite runs as the SCIM store does (WAL, `synchronous = FULL`), so both pay for durable
//! commits alike. Not an example to copy: no SCIM rules at all.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const SCIM_JSON: &str = "application/scim+json";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The SQL baseline's state.
pub struct SqlApp {
    stamper: Stamper,
    db: Db,
}

/// What both baselines do around their storage: check the bearer token, and add `id`,
/// `schemas` and `meta` (with a counter version) as the SCIM server renders them.
pub struct Stamper {
    expected_auth: String,
    /// The SCIM base URL (for `meta.location`).
    pub base: String,
    version: AtomicU64,
}

impl Stamper {
    /// For bearer `token` and base URL `base`.
    pub fn new(token: &str, base: String) -> Self {
        Self {
            expected_auth: format!("Bearer {token}"),
            base,
            version: AtomicU64::new(1),
        }
    }

    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == self.expected_auth.as_bytes())
    }

    pub fn next_version(&self) -> String {
        format!(
            "W/\"{:032x}\"",
            self.version.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn stamp(&self, user: &mut Value, id: &str, now: &str) {
        if let Value::Object(map) = user {
            map.insert("id".into(), Value::String(id.to_owned()));
            map.insert(
                "schemas".into(),
                json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
            );
            map.insert(
                "meta".into(),
                json!({
                    "resourceType": "User",
                    "created": now,
                    "lastModified": now,
                    "location": format!("{}/Users/{id}", self.base),
                    "version": self.next_version(),
                }),
            );
        }
    }
}

type Shared = Arc<SqlApp>;

/// One statement per dialect: (SQLite, PostgreSQL).
macro_rules! run {
    ($db:expr, ($sqlite:expr, $postgres:expr), |$q:ident| $bind:expr, $fetch:ident) => {
        match $db {
            Db::Sqlite(pool) => {
                let $q = sqlx::query($sqlite);
                $bind.$fetch(pool).await.map(|r| {
                    r.into_iter()
                        .map(|row: sqlx::sqlite::SqliteRow| row_parts(&row))
                        .collect::<Vec<_>>()
                })
            }
            Db::Postgres(pool) => {
                let $q = sqlx::query($postgres);
                $bind.$fetch(pool).await.map(|r| {
                    r.into_iter()
                        .map(|row: sqlx::postgres::PgRow| row_parts(&row))
                        .collect::<Vec<_>>()
                })
            }
        }
    };
}

/// (body, count) of a row: the body as text, and the window count when selected.
fn row_parts<R: Row>(row: &R) -> (String, i64)
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let body = row.try_get::<String, _>(0).unwrap_or_default();
    let count = row.try_get::<i64, _>(1).unwrap_or(0);
    (body, count)
}

impl SqlApp {
    /// Connects, creates the table and seeds `preload` users when it is empty.
    pub async fn open(
        url: &str,
        token: &str,
        base: String,
        preload: usize,
        user: impl Fn(usize) -> (String, Value),
    ) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        if !url.starts_with("postgres") && !url.starts_with("sqlite:") {
            return Err(
                format!("--database-url {url}: expected sqlite://PATH or postgres://…").into(),
            );
        }
        let db = if url.starts_with("postgres") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await?;
            sqlx::query("CREATE TABLE IF NOT EXISTS baseline_users (id TEXT PRIMARY KEY, user_name_lower TEXT NOT NULL UNIQUE, body JSONB NOT NULL)")
                .execute(&pool)
                .await?;
            Db::Postgres(pool)
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            sqlx::query("CREATE TABLE IF NOT EXISTS baseline_users (id TEXT PRIMARY KEY, user_name_lower TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
                .execute(&pool)
                .await?;
            Db::Sqlite(pool)
        };
        let app = Arc::new(Self {
            stamper: Stamper::new(token, base),
            db,
        });
        let now = super::now();
        let stamped: Vec<(String, String, String)> = (0..preload)
            .map(|i| {
                let (id, mut user) = user(i);
                app.stamper.stamp(&mut user, &id, &now);
                let name = user["userName"].as_str().unwrap_or_default().to_lowercase();
                (id, name, user.to_string())
            })
            .collect();
        match &app.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (id, name, body) in &stamped {
                    sqlx::query(
                        "INSERT INTO baseline_users VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(name)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for (id, name, body) in &stamped {
                    sqlx::query("INSERT INTO baseline_users VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING")
                        .bind(id).bind(name).bind(body)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Ok(app)
    }
}

/// The routes, as the in-memory baseline serves them.
pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/scim/v2/Users", get(list).post(create))
        .route("/scim/v2/Users/{id}", get(get_one).patch(patch))
        .with_state(app)
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn failed(err: &sqlx::Error) -> Response {
    eprintln!("baseline: {err}");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

fn list_body(total: i64, bodies: &[(String, i64)]) -> String {
    let mut out = format!(
        "{{\"schemas\":[\"{LIST_SCHEMA}\"],\"totalResults\":{total},\"startIndex\":1,\"itemsPerPage\":{},\"Resources\":[",
        bodies.len()
    );
    for (i, (body, _)) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(body);
    }
    out.push_str("]}");
    out
}

async fn get_one(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !app.stamper.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let rows = run!(
        &app.db,
        (
            "SELECT body FROM baseline_users WHERE id = ?1",
            "SELECT body::text FROM baseline_users WHERE id = $1"
        ),
        |q| q.bind(&id),
        fetch_all
    );
    match rows {
        Ok(rows) => match rows.into_iter().next() {
            Some((body, _)) => json_response(StatusCode::OK, body),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Err(err) => failed(&err),
    }
}

async fn list(
    State(app): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !app.stamper.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut filter = None;
    let mut count: i64 = 100;
    for pair in query.as_deref().unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        match name {
            "filter" => filter = Some(value.replace('+', " ")),
            "count" => count = value.parse().unwrap_or(100),
            _ => {}
        }
    }
    match filter {
        Some(filter) => {
            let wanted = filter
                .strip_prefix("userName eq \"")
                .and_then(|rest| rest.strip_suffix('"'));
            let Some(wanted) = wanted else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            let wanted = wanted.to_lowercase();
            let rows = run!(
                &app.db,
                (
                    "SELECT body FROM baseline_users WHERE user_name_lower = ?1",
                    "SELECT body::text FROM baseline_users WHERE user_name_lower = $1"
                ),
                |q| q.bind(&wanted),
                fetch_all
            );
            match rows {
                Ok(rows) => json_response(
                    StatusCode::OK,
                    list_body(i64::try_from(rows.len()).unwrap_or(0), &rows),
                ),
                Err(err) => failed(&err),
            }
        }
        None => {
            let rows = run!(
                &app.db,
                (
                    "SELECT body, (SELECT COUNT(*) FROM baseline_users) FROM baseline_users ORDER BY id LIMIT ?1",
                    "SELECT body::text, (SELECT COUNT(*) FROM baseline_users) FROM baseline_users ORDER BY id LIMIT $1"
                ),
                |q| q.bind(count),
                fetch_all
            );
            match rows {
                Ok(rows) => {
                    let total = rows.first().map_or(0, |(_, n)| *n);
                    json_response(StatusCode::OK, list_body(total, &rows))
                }
                Err(err) => failed(&err),
            }
        }
    }
}

/// The first operation's `path` = `value` on the top level, and a new meta.version and
/// lastModified, in one UPDATE … RETURNING.
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
    let operation = request
        .get("Operations")
        .and_then(Value::as_array)
        .and_then(|ops| ops.first());
    let (Some(path), Some(value)) = (
        operation
            .and_then(|op| op.get("path"))
            .and_then(Value::as_str),
        operation.and_then(|op| op.get("value")),
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (version, now, value) = (app.stamper.next_version(), super::now(), value.to_string());
    let rows = match &app.db {
        Db::Sqlite(pool) => sqlx::query(
            "UPDATE baseline_users SET body = json_set(body, ?2, json(?3), '$.meta.version', ?4, '$.meta.lastModified', ?5) WHERE id = ?1 RETURNING body",
        )
        .bind(&id)
        .bind(format!("$.{path}"))
        .bind(&value)
        .bind(&version)
        .bind(&now)
        .fetch_all(pool)
        .await
        .map(|rows| rows.iter().map(row_parts).collect::<Vec<_>>()),
        Db::Postgres(pool) => sqlx::query(
            "UPDATE baseline_users SET body = jsonb_set(jsonb_set(jsonb_set(body, $2::text[], $3::jsonb), '{meta,version}', to_jsonb($4::text)), '{meta,lastModified}', to_jsonb($5::text)) WHERE id = $1 RETURNING body::text",
        )
        .bind(&id)
        .bind(vec![path.to_owned()])
        .bind(&value)
        .bind(&version)
        .bind(&now)
        .fetch_all(pool)
        .await
        .map(|rows| rows.iter().map(row_parts).collect::<Vec<_>>()),
    };
    match rows {
        Ok(rows) => match rows.into_iter().next() {
            Some((body, _)) => json_response(StatusCode::OK, body),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Err(err) => failed(&err),
    }
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
    app.stamper.stamp(&mut user, &id, &super::now());
    let text = user.to_string();
    let result = run!(
        &app.db,
        (
            "INSERT INTO baseline_users VALUES (?1, ?2, ?3)",
            "INSERT INTO baseline_users VALUES ($1, $2, $3::jsonb)"
        ),
        |q| q.bind(&id).bind(&key).bind(&text),
        fetch_all
    );
    match result {
        Ok(_) => {
            let mut response = json_response(StatusCode::CREATED, text);
            if let Ok(location) = HeaderValue::from_str(&format!("{}/Users/{id}", app.stamper.base))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StatusCode::CONFLICT.into_response()
        }
        Err(err) => failed(&err),
    }
}

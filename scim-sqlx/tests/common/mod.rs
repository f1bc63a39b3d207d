//! Fresh, empty databases for the tests: SQLite in a temporary file, PostgreSQL as a new
//! database on the server at `SCIM_TEST_POSTGRES_URL` (`.ci/run` starts one; locally the
//! PostgreSQL tests skip with a message when it is unset, but under `CI=true` they fail).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_sqlx::SqlStore;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A directory removed when the process ends is not needed: the OS temp dir is enough, and
/// every database file has a unique name.
pub fn sqlite_url() -> String {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("scim-sqlx-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("db{n}.sqlite"));
    let _ = std::fs::remove_file(&path);
    format!("sqlite://{}", path.display())
}

pub async fn sqlite() -> SqlStore {
    SqlStore::connect(&sqlite_url()).await.unwrap()
}

/// The server URL, or `None` (with a message) when the PostgreSQL tests should skip.
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

/// The URL of a new, empty database on the server.
pub async fn postgres_url(server: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let name = format!(
        "scim_t{}_{}_{n}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    );
    let name = &name[..name.len().min(60)];
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

pub async fn postgres(server: &str) -> SqlStore {
    let url = postgres_url(server).await;
    let options = scim_sqlx::Options::default().max_connections(4);
    SqlStore::connect_with(&url, &options).await.unwrap()
}

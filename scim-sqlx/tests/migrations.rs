//! A database created by an earlier version of the crate is brought up to date on connect,
//! and what it already holds is counted: the total of an unfiltered list (RFC 7644 §3.4.2)
//! includes the rows written before `scim_counts` existed.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::schema::SchemaRegistry;
use scim_core::store::{Page, Query, Store};
use scim_core::{Principal, RequestContext};
use scim_sqlx::SqlStore;
use sqlx::migrate::Migrator;

/// The migrations before the one that added `scim_counts`.
fn before_counts(migrator: &Migrator) -> Migrator {
    let mut earlier = Migrator::DEFAULT;
    earlier.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version < 20_261_204_000_002)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    earlier
}

/// Rows an earlier version wrote: two Users of tenant `a`, one of `b`, a Group of `a`.
const EARLIER_ROWS: &str = "INSERT INTO scim_resources (tenant, resource_type, id, body, folded, created, last_modified, version) VALUES ('a','User','1','{}','{}',0,0,1), ('a','User','2','{}','{}',0,0,1), ('b','User','3','{}','{}',0,0,1), ('a','Group','4','{}','{}',0,0,1)";

async fn totals(store: &SqlStore) -> (usize, usize) {
    let registry = SchemaRegistry::default();
    let users = registry.resource_type("User").unwrap();
    let query = Query::new(
        users,
        Page::Offset {
            offset: 0,
            limit: 1,
        },
    );
    let base = "https://example.com/scim/v2";
    let a = RequestContext::new(Principal::new("a", "test"), base);
    let b = RequestContext::new(Principal::new("b", "test"), base);
    let a = store.query(&a, &query).await.unwrap();
    let b = store.query(&b, &query).await.unwrap();
    (a.total, b.total)
}

#[tokio::test]
async fn sqlite_counts_rows_written_before_the_counts_table() {
    let url = common::sqlite_url();
    let options = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    before_counts(&sqlx::migrate!("migrations/sqlite"))
        .run(&pool)
        .await
        .unwrap();
    sqlx::query(EARLIER_ROWS).execute(&pool).await.unwrap();
    pool.close().await;
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(totals(&store).await, (2, 1));
}

#[tokio::test]
async fn postgres_counts_rows_written_before_the_counts_table() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    let url = common::postgres_url(&server).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    before_counts(&sqlx::migrate!("migrations/postgres"))
        .run(&pool)
        .await
        .unwrap();
    sqlx::query(EARLIER_ROWS).execute(&pool).await.unwrap();
    pool.close().await;
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(totals(&store).await, (2, 1));
}

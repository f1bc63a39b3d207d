//! The two backends behind one small interface: statements as text with numbered
//! placeholders ([`SqlBuilder`]) and [`Param`]s, rows read by column index. The store's
//! logic is written once against it; only SQL text differs per [`Dialect`].

use crate::compile::{Dialect, Param, SqlBuilder};
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqlitePool, SqliteRow};
use sqlx::{Postgres, Row, Sqlite, Transaction};

/// A connection pool of either backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction of either backend.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A row read by column index.
pub(crate) trait RowRead {
    fn text(&self, i: usize) -> Result<String, sqlx::Error>;
    /// A text column borrowed from the row, for a caller that copies it once into what it
    /// keeps (a resource's body into an `Arc<str>`) or only parses it.
    fn str(&self, i: usize) -> Result<&str, sqlx::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, i: usize) -> Result<i64, sqlx::Error>;
}

impl RowRead for SqliteRow {
    fn text(&self, i: usize) -> Result<String, sqlx::Error> {
        self.try_get(i)
    }
    fn str(&self, i: usize) -> Result<&str, sqlx::Error> {
        self.try_get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(i)
    }
    fn int(&self, i: usize) -> Result<i64, sqlx::Error> {
        self.try_get(i)
    }
}

impl RowRead for PgRow {
    fn text(&self, i: usize) -> Result<String, sqlx::Error> {
        self.try_get(i)
    }
    fn str(&self, i: usize) -> Result<&str, sqlx::Error> {
        self.try_get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(i)
    }
    fn int(&self, i: usize) -> Result<i64, sqlx::Error> {
        self.try_get(i)
    }
}

fn bind_sqlite<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments<'q>>,
    params: &'q [Param],
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for param in params {
        query = match param {
            Param::Text(s) => query.bind(s.as_str()),
            Param::Int(i) => query.bind(*i),
            Param::Real(f) => query.bind(*f),
            Param::Bool(b) => query.bind(*b),
        };
    }
    query
}

fn bind_postgres<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &'q [Param],
) -> Query<'q, Postgres, PgArguments> {
    for param in params {
        query = match param {
            Param::Text(s) => query.bind(s.as_str()),
            Param::Int(i) => query.bind(*i),
            Param::Real(f) => query.bind(*f),
            Param::Bool(b) => query.bind(*b),
        };
    }
    query
}

impl Pool {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite (it takes the write lock
    /// at once, so two writers never deadlock upgrading a read lock), `BEGIN` on PostgreSQL.
    pub(crate) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs one statement outside a transaction (committed on its own); answers the number
    /// of rows it changed.
    pub(crate) async fn execute(&self, sql: &SqlBuilder) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(pool) => bind_sqlite(sqlx::query(sql.text()), sql.params())
                .execute(pool)
                .await?
                .rows_affected(),
            Pool::Postgres(pool) => bind_postgres(sqlx::query(sql.text()), sql.params())
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    /// Runs a query outside a transaction and maps its rows.
    pub(crate) async fn fetch<T>(
        &self,
        sql: &SqlBuilder,
        map: impl Fn(&dyn RowRead) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Pool::Sqlite(pool) => {
                let rows = bind_sqlite(sqlx::query(sql.text()), sql.params())
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(|r| map(r)).collect()
            }
            Pool::Postgres(pool) => {
                let rows = bind_postgres(sqlx::query(sql.text()), sql.params())
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    }
}

impl Tx {
    /// Runs a statement; answers the number of rows it changed.
    pub(crate) async fn execute(&mut self, sql: &SqlBuilder) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_sqlite(sqlx::query(sql.text()), sql.params())
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => bind_postgres(sqlx::query(sql.text()), sql.params())
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// Runs a query inside the transaction and maps its rows.
    pub(crate) async fn fetch<T>(
        &mut self,
        sql: &SqlBuilder,
        map: impl Fn(&dyn RowRead) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => {
                let rows = bind_sqlite(sqlx::query(sql.text()), sql.params())
                    .fetch_all(&mut **tx)
                    .await?;
                rows.iter().map(|r| map(r)).collect()
            }
            Tx::Postgres(tx) => {
                let rows = bind_postgres(sqlx::query(sql.text()), sql.params())
                    .fetch_all(&mut **tx)
                    .await?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// Whether a database error is worth retrying the transaction for: SQLite busy or locked,
/// PostgreSQL serialization failure or deadlock.
pub(crate) fn retryable(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    matches!(
        db.code().as_deref(),
        Some("5" | "6" | "517" | "261" | "40001" | "40P01")
    )
}

//! # scim-sqlx
//!
//! A SQL [`Store`](scim_core::Store) for [scim-core] on [sqlx] 0.8 — SQLite embedded (one
//! file, no set-up) or PostgreSQL (several replicas on one database) — and the public
//! [SCIM filter → SQL compiler](compile) a host also uses on its own tables.
//!
//! ```
//! use scim_core::{BearerAuthenticator, NoSessionsToRevoke, ScimEngine};
//! use scim_sqlx::SqlStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("scim-sqlx-doc-{}", std::process::id()));
//! # let path = dir.join("scim.db");
//! # let path = path.display();
//! // The file and its folder are created if missing; the schema is migrated on connect.
//! let store = SqlStore::connect(&format!("sqlite://{path}")).await?;
//! // Or: SqlStore::connect("postgres://scim@db.internal/scim").await?
//! let engine = ScimEngine::builder(store)
//!     .authenticator(BearerAuthenticator::new())
//!     .revoker(NoSessionsToRevoke)
//!     .build()?;
//! # let _ = engine;
//! # Ok(())
//! # }
//! ```
//!
//! Mount the engine with scim-axum or scim-actix as with any store; every answer is the one
//! [`MemoryStore`](scim_core::MemoryStore) gives (the contract suite, the HTTP suite and a
//! differential test of thousands of random filters run on both databases).
//!
//! ## Schema
//!
//! Migrations are embedded (`sqlx::migrate!`, one set per database) and applied by
//! [`SqlStore::connect`]; replicas starting together take turns (sqlx locks the migration
//! table on PostgreSQL).
//!
//! * `scim_resources`, keyed by `(tenant, resource_type, id)`: the attributes as JSON text
//!   exactly as the engine wrote them (`body`; on PostgreSQL also as `jsonb`), the same JSON
//!   with every string case-folded in Rust (`folded`: Unicode-correct, which SQLite's
//!   `lower()` is not), `created`, `last_modified` (milliseconds since the epoch) and the
//!   RFC 7644 §3.14 `version` counter, and typed columns for what IdPs look up and sort by
//!   most: `user_name` and `external_id` (each also folded; a User's folded userName is its
//!   `unique_key`, under a unique index), a Group's `display_name` (also folded), `active`,
//!   indexed per tenant and resource type (an index holds only the rows with a value). A User's `displayName` is not a
//!   typed column: IdPs look Users up by `userName` and `externalId`, Groups by
//!   `displayName`, and with no index on what a User's rename changes, PostgreSQL updates the
//!   row in place (a HOT update) instead of adding an entry to every index. Filters and
//!   sorts on it read the JSON.
//! * `scim_unique`: one row per value of every `uniqueness: server` attribute (RFC 7643
//!   §2.1), primary key `(tenant, resource_type, attribute, value_key)` with the value folded
//!   for case-insensitive attributes, so two creates of `BJensen` and `bjensen` racing through
//!   two replicas end as one 201 and one 409 `uniqueness` (RFC 7644 §3.3).
//! * `scim_members`: one row per Group member `(tenant, resource_type, group_id, member,
//!   member_type, display, position)` with an index on `(tenant, member)`: adding one member
//!   to a 100 000-member group is one insert, and a User's derived `groups` (RFC 7643 §4.1.2)
//!   is one indexed lookup.
//! * `scim_counts`: how many resources each tenant holds of each type, kept by triggers on
//!   `scim_resources` in the transaction that inserts or deletes, so the `totalResults` of an
//!   unfiltered list (RFC 7644 §3.4.2) is one lookup instead of a count over the tenant's
//!   rows (on PostgreSQL a sum over 32 shards, one per connection, so concurrent creates do
//!   not queue on one row). A filtered list still counts its matches.
//!
//! On PostgreSQL, text that is ordered uses `COLLATE "C"`, the code-point order of Rust, so
//! sorts and cursors agree with the engine whatever the database's locale.
//!
//! ### Outgrowing one database server
//!
//! Every key and index starts with the tenant, and every statement the store sends names
//! exactly one tenant (`tenant = ? AND (<filter>)`), so the schema distributes by tenant on a
//! distributed PostgreSQL such as Citus without change:
//! `SELECT create_distributed_table('scim_resources', 'tenant')`, and the same for
//! `scim_unique`, `scim_members` and `scim_counts` (co-located on `tenant`; Citus runs the
//! counting trigger on co-located shards with `citus.enable_unsafe_triggers`).
//!
//! ## Queries
//!
//! The engine resolves a filter (names, types, RFC 7644 §3.4.2.2 rules) before the store sees
//! it; the store compiles what SQL does exactly into parameterised SQL — every literal a bound
//! parameter, `LIKE` with `\ % _` escaped and an explicit `ESCAPE`, value paths as `EXISTS`
//! over one array element, `members.value` and `groups.value` through the membership table,
//! dateTimes as instants — and reports the rest (for example a dateTime inside the JSON
//! document) to the engine, which evaluates it in Rust over the candidate rows. An answer is
//! never wrong, partial or unfiltered. `sortBy` becomes `ORDER BY` with `id` as the
//! tie-breaker (RFC 7644 §3.4.2.3); index paging is `LIMIT`/`OFFSET` with a `COUNT` for
//! `totalResults`, and cursor paging (RFC 9865) is keyset pagination on (sort key, id).
//!
//! ## Writes, concurrency and faults
//!
//! * Every write is one transaction, committed before the engine answers 2xx. SQLite runs in
//!   WAL mode with `synchronous = FULL` (see [`Options::full_sync`]), takes the write lock at
//!   `BEGIN IMMEDIATE` and waits up to [`Options::busy_timeout`] for it.
//! * `If-Match` is compare-and-swap, `UPDATE … WHERE version = ?`: of racing writers with one
//!   ETag exactly one wins and the others get 412 (RFC 7644 §3.14).
//! * Member add/remove is `INSERT … ON CONFLICT DO NOTHING` / `DELETE` with the group's
//!   version bumped in the same transaction; deleting a resource removes its memberships and
//!   bumps every group it was in, atomically.
//! * Busy (SQLite) and serialization or deadlock errors (PostgreSQL) are retried a bounded
//!   number of times.
//! * The store keeps copies of the resources it read or wrote lately
//!   ([`Options::copy_cache_bytes`], 32 MiB by default) and hands them to the engine as the
//!   base of a PUT or PATCH ([`Store::cached_copy`](scim_core::Store::cached_copy)): the
//!   write is then one `UPDATE … WHERE version = ? RETURNING <the User's groups>` instead of
//!   a read and an `UPDATE`. The compare-and-swap confirms the copy; a copy another replica
//!   made stale fails it, and the engine reads the row and starts over.
//! * When the database is unreachable or every connection is busy for
//!   [`Options::acquire_timeout`], the store returns
//!   [`StoreError::Backend`](scim_core::store::StoreError::Backend) with the sqlx error as its
//!   source: the engine logs it (target `scim::store`) and answers 503 with `Retry-After`.
//!   The pool reconnects by itself when the database is back; connections are not pinged
//!   before each use (that would cost a round trip per statement), so a connection broken
//!   by a database restart fails one request with 503 before the pool replaces it.
//!
//! ## Building SQLite for speed
//!
//! sqlx builds its own SQLite (`libsqlite3-sys`, feature `bundled`). SQLite's list of
//! recommended compile-time options starts with `SQLITE_DEFAULT_MEMSTATUS=0`: without it,
//! every allocation and free inside SQLite takes a global mutex to keep memory statistics
//! that nothing here reads. Set it for your build in `.cargo/config.toml`, as this
//! workspace does:
//!
//! ```toml
//! [env]
//! LIBSQLITE3_FLAGS = "SQLITE_DEFAULT_MEMSTATUS=0"
//! ```
//!
//! In this workspace's measurements it removed 2 % of the instructions of a read by id and
//! 11 % of those of a page of 100 Users (BENCHMARKS.md).
//!
//! ## The host's own tables in the same database
//!
//! [`SqlStore::sqlite_pool`] and [`SqlStore::postgres_pool`] hand out the pool, so a host
//! keeps its sessions (the example app's `app_sessions`) beside the SCIM tables: a session
//! revoked through one replica is gone for all of them.
//!
//! [scim-core]: scim_core
//! [sqlx]: https://docs.rs/sqlx/0.8

pub mod compile;
mod db;
mod store;

pub use store::{COPY_CACHE_BYTES, Options, SqlStore};

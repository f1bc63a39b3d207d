//! [`SqlStore`]: the [`Store`] on SQLite or PostgreSQL.

use crate::compile::{
    Column, ColumnType, Dialect, FilterCompiler, Mapping, MembersTable, Param, RowKeys, SqlBuilder,
    fold_document_text,
};
use crate::db::{Pool, RowRead, Tx, retryable};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::RequestContext;
use scim_core::schema::ResourceTypeView;
use scim_core::store::{
    Member, Membership, MembershipChange, MembershipOutcome, Page, Query, QueryPage, Replaced,
    ResolvedSort, ResourceMeta, SortOrder, SortValue, Store, StoreError, StoredResource,
    UniqueAttribute, Version, fold_case, unique_attributes,
};
use scim_filter::{AttrPath, AttrType, AttributeFacts, Filter};
use serde_json::{Map, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// How often a write transaction is retried after SQLite answered busy or PostgreSQL a
/// serialization failure or deadlock.
const RETRIES: u32 = 6;

/// The largest number of parameters one statement gets (SQLite allows 32 766).
const BATCH: usize = 500;

/// Rows a SQLite connection's thread may have ready before the request task takes them
/// (sqlx's default is 50, half a page of 100).
const ROW_BUFFER: usize = 256;

/// Connection settings of [`SqlStore::connect_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Most connections of the pool. Default 16 (SQLite: 8).
    pub max_connections: Option<u32>,
    /// How long a request waits for a connection before it fails (503 `Retry-After`).
    /// Default 5 s.
    pub acquire_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock. Default 5 s.
    pub busy_timeout: Duration,
    /// SQLite: `synchronous = FULL` (every commit is on disk before the answer, also across
    /// a power loss) when true, the default; `NORMAL` survives process crashes only.
    pub full_sync: bool,
    /// How many bytes of memory the copies of resources read or written lately may take,
    /// for [`Store::cached_copy`](scim_core::Store::cached_copy): a PUT or PATCH of a
    /// resource that has a copy is one statement instead of a read and a write. 0 keeps
    /// none. Default [`COPY_CACHE_BYTES`].
    pub copy_cache_bytes: usize,
}

/// The memory [`SqlStore`] gives copies of resources by default: 32 MiB, some 30 000 to
/// 60 000 typical Users (their JSON and keys), the least recently useful dropped first.
pub const COPY_CACHE_BYTES: usize = 32 << 20;

impl Options {
    /// Sets [`max_connections`](Self::max_connections).
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// Sets [`acquire_timeout`](Self::acquire_timeout).
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`full_sync`](Self::full_sync).
    #[must_use]
    pub fn full_sync(mut self, full: bool) -> Self {
        self.full_sync = full;
        self
    }

    /// Sets [`copy_cache_bytes`](Self::copy_cache_bytes).
    #[must_use]
    pub fn copy_cache_bytes(mut self, bytes: usize) -> Self {
        self.copy_cache_bytes = bytes;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            full_sync: true,
            copy_cache_bytes: COPY_CACHE_BYTES,
        }
    }
}

/// A [`Store`] on SQLite (one file, embedded) or PostgreSQL (several replicas on one
/// database); see the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: Pool,
    group_type: String,
    /// The filter compiler of each resource type, built on first use (the mapping depends on
    /// the type's schema and the store's settings only).
    compilers: Arc<RwLock<Compilers>>,
    /// Copies of resources read or written lately (see [`Options::copy_cache_bytes`]);
    /// `None` keeps none.
    copies: Option<Arc<Copies>>,
}

/// Copies of resources by (tenant, resource type, id), for [`Store::cached_copy`],
/// bounded by their size in memory.
type Copies = quick_cache::sync::Cache<CopyKey, StoredResource, CopySize>;

/// Builds the copies' cache for `bytes` of memory, or none.
fn copies(bytes: usize) -> Option<Arc<Copies>> {
    (bytes > 0).then(|| {
        Arc::new(Copies::with_weighter(
            bytes / 1024 + 1,
            bytes as u64,
            CopySize,
        ))
    })
}

/// About how many bytes a copy takes: its key, its JSON, its groups and the record around
/// them.
#[derive(Debug, Clone, Copy)]
struct CopySize;

impl quick_cache::Weighter<CopyKey, StoredResource> for CopySize {
    fn weight(&self, key: &CopyKey, copy: &StoredResource) -> u64 {
        let key = key.tenant.len() + key.resource_type.len() + key.id.len();
        let json = copy.attributes_json().len();
        let groups = copy.groups().map_or(0, |g| g.len() * 96);
        (key + json + groups + 192) as u64
    }
}

/// The key of a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CopyKey {
    tenant: String,
    resource_type: String,
    id: String,
}

/// A [`CopyKey`] borrowed from a request (hashes as the key it equals: `&str` and `String`
/// hash alike).
#[derive(Hash)]
struct CopyKeyRef<'a> {
    tenant: &'a str,
    resource_type: &'a str,
    id: &'a str,
}

impl quick_cache::Equivalent<CopyKey> for CopyKeyRef<'_> {
    fn equivalent(&self, key: &CopyKey) -> bool {
        self.id == key.id && self.tenant == key.tenant && self.resource_type == key.resource_type
    }
}

impl<'a> CopyKeyRef<'a> {
    fn new(ctx: &'a RequestContext, view: &'a ResourceTypeView, id: &'a str) -> Self {
        Self {
            tenant: ctx.tenant(),
            resource_type: &view.resource_type.name,
            id,
        }
    }
}

/// Cached compilers: by the address of the registry's view, with the type's name.
type Compilers = HashMap<usize, (String, Arc<FilterCompiler>)>;

/// The schema facts a compiler's mapping depends on.
#[derive(Debug, Clone, Copy)]
struct MappingFacts {
    typed: [bool; 4],
    user_name_is_unique_key: bool,
}

/// Why a transaction attempt failed.
enum Failure {
    /// The store's answer (uniqueness, version mismatch, …): final.
    Store(StoreError),
    /// The database's error: retried when transient.
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        Failure::Db(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::Store(err)
    }
}

fn backend(err: sqlx::Error) -> StoreError {
    StoreError::backend(err)
}

/// Runs `attempt` until it succeeds, fails for good, or has been retried [`RETRIES`] times.
async fn retrying<T, Fut>(mut attempt: impl FnMut() -> Fut) -> Result<T, StoreError>
where
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Failure::Store(err)) => return Err(err),
            Err(Failure::Db(err)) if retryable(&err) && tries < RETRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(2u64 << tries)).await;
            }
            Err(Failure::Db(err)) => return Err(backend(err)),
        }
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn instant(ms: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| sqlx::Error::Decode(format!("a timestamp out of range: {ms}").into()))
}

fn version(n: i64) -> Version {
    Version::new(u64::try_from(n).unwrap_or(0))
}

fn version_param(v: Version) -> Param {
    Param::Int(i64::try_from(v.get()).unwrap_or(i64::MAX))
}

/// The typed columns of a resource, when its type has the attribute with that shape.
#[derive(Debug, Default)]
struct Typed {
    user_name: Option<String>,
    external_id: Option<String>,
    display_name: Option<String>,
    active: Option<bool>,
    /// Whether `userName` is the type's unique key, whose folded value `unique_key` holds
    /// (then `user_name_folded` stays empty: see [`user_name_is_unique_key`]).
    user_name_is_key: bool,
}

/// Which typed columns a resource type fills: single-valued core attributes of the right
/// type; `displayName` only for types with members (Groups), which IdPs look up by it. A
/// User's `displayName` stays in the JSON: its indexed column made every rename a write to
/// each of the row's indexes on PostgreSQL, where an update that changes no indexed column
/// is done in place.
fn typed_columns(view: &ResourceTypeView) -> [bool; 4] {
    let is = |name: &str, ty: AttrType| {
        let facts = view.facts(None, name, None);
        facts.attr_type == Some(ty) && facts.multi_valued == Some(false)
    };
    [
        is("userName", AttrType::String),
        is("externalId", AttrType::String),
        view.has_members() && is("displayName", AttrType::String),
        is("active", AttrType::Boolean),
    ]
}

impl Typed {
    fn of(
        view: &ResourceTypeView,
        attributes: &Map<String, Value>,
        user_name_is_key: bool,
    ) -> Self {
        let [user_name, external_id, display_name, active] = typed_columns(view);
        let text = |on: bool, key: &str| {
            on.then(|| {
                attributes
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .flatten()
        };
        Self {
            user_name: text(user_name, "userName"),
            external_id: text(external_id, "externalId"),
            display_name: text(display_name, "displayName"),
            active: active
                .then(|| attributes.get("active").and_then(Value::as_bool))
                .flatten(),
            user_name_is_key,
        }
    }

    /// The value of `user_name_folded`: the folded userName, unless `unique_key` holds it.
    fn user_name_folded(&self) -> Option<String> {
        if self.user_name_is_key {
            return None;
        }
        self.user_name.as_deref().map(fold_case)
    }
}

/// Whether a type's first unique attribute is the core, case-insensitive `userName` (a
/// User's): its folded value is then the row's `unique_key`, under a unique index, and the
/// filter compiler reads that column; `user_name_folded` and its index would only repeat it.
fn user_name_is_unique_key(unique: &[UniqueAttribute]) -> bool {
    unique
        .first()
        .is_some_and(|u| u.uri.is_none() && u.name == "userName" && !u.case_exact)
}

/// The row of a resource as read: id, body, created, lastModified, version.
struct Row {
    id: Arc<str>,
    body: Arc<str>,
    created: i64,
    last_modified: i64,
    version: i64,
}

fn read_row(row: &dyn RowRead) -> Result<Row, sqlx::Error> {
    read_fields(row, Arc::from(row.str(0)?), 1)
}

/// The columns of [`FIELDS`] from column `first` on, for the resource `id`.
fn read_fields(row: &dyn RowRead, id: Arc<str>, first: usize) -> Result<Row, sqlx::Error> {
    Ok(Row {
        id,
        body: Arc::from(row.str(first)?),
        created: row.int(first + 1)?,
        last_modified: row.int(first + 2)?,
        version: row.int(first + 3)?,
    })
}

fn to_record(row: Row, members: Vec<Member>) -> Result<StoredResource, StoreError> {
    let meta = ResourceMeta::new(
        instant(row.created).map_err(backend)?,
        instant(row.last_modified).map_err(backend)?,
        version(row.version),
    );
    StoredResource::from_text(row.id, meta, row.body, members)
}

fn read_member(row: &dyn RowRead) -> Result<(String, Member), sqlx::Error> {
    let mut member = Member::new(row.text(1)?);
    if let Some(kind) = row.opt_text(2)? {
        member = member.with_type(kind);
    }
    if let Some(display) = row.opt_text(3)? {
        member = member.with_display(display);
    }
    Ok((row.text(0)?, member))
}

const COLUMNS: &str = "r.id, r.body, r.created, r.last_modified, r.version";

/// [`COLUMNS`] but the id: what a read by id selects (it knows the id, and every column
/// read is a value sqlx copies and frees).
const FIELDS: &str = "r.body, r.created, r.last_modified, r.version";

/// A resource row with its derived `groups` (RFC 7643 §4.1.2) as a sixth column.
fn read_row_with_groups(row: &dyn RowRead) -> Result<(Row, GroupPairs), sqlx::Error> {
    Ok((read_row(row)?, read_groups(row, 5)?))
}

/// A resource row read without its groups.
fn read_row_alone(row: &dyn RowRead) -> Result<(Row, GroupPairs), sqlx::Error> {
    Ok((read_row(row)?, Vec::new()))
}

/// Reads a row and its groups (none when not selected).
type RowReader = fn(&dyn RowRead) -> Result<(Row, GroupPairs), sqlx::Error>;

/// How to read the rows of a statement that selects groups (`with_groups`) or not.
fn row_reader(with_groups: bool) -> RowReader {
    if with_groups {
        read_row_with_groups
    } else {
        read_row_alone
    }
}

/// A User's Groups as (group id, display name) pairs.
type GroupPairs = Vec<(String, Option<String>)>;

/// Parses column `i`, the `[[group id, display name], …]` JSON of
/// [`SqlStore::groups_column`], straight from the row.
fn read_groups(row: &dyn RowRead, i: usize) -> Result<GroupPairs, sqlx::Error> {
    let text = row.str(i)?;
    // Most Users are in no Group: both dialects write that as `[]`.
    if text == "[]" {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|err| sqlx::Error::Decode(Box::new(err)))
}

/// Attaches a User's Groups (RFC 7643 §4.1.2).
fn with_groups(record: StoredResource, groups: GroupPairs) -> StoredResource {
    let memberships = memberships(record.id(), groups);
    record.with_groups(memberships)
}

/// The memberships of `member` in the Groups `groups`.
fn memberships(member: &str, groups: GroupPairs) -> Vec<Membership> {
    groups
        .into_iter()
        .map(|(group, display)| Membership::new(member, group, display))
        .collect()
}

impl SqlStore {
    /// Connects to `url` and brings the schema up to date (migrations embedded in the crate).
    ///
    /// * `sqlite://PATH` (or `sqlite:PATH`): the file is created with its parent folder if
    ///   missing; WAL mode, `synchronous = FULL`, a busy timeout.
    /// * `postgres://…` / `postgresql://…`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database cannot be reached or migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &Options::default()).await
    }

    /// [`connect`](Self::connect) with [`Options`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(url: &str, options: &Options) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // No ping before each use (a round trip per statement): a connection broken by
            // a database restart fails its next request with 503 `Retry-After`, and the
            // pool replaces it.
            let pool = PgPoolOptions::new()
                .test_before_acquire(false)
                .max_connections(options.max_connections.unwrap_or(16))
                .acquire_timeout(options.acquire_timeout)
                .connect(url)
                .await
                .map_err(backend)?;
            return Ok(Self::from_postgres(pool)
                .await?
                .with_copy_cache_bytes(options.copy_cache_bytes));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(StoreError::backend)?;
                }
            }
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(backend)?
                .create_if_missing(true)
                // Keeps the planner's statistics current as the data grows (SQLite's advice:
                // `PRAGMA optimize` before a connection closes; the pool recycles them).
                .optimize_on_close(true, 1000)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(if options.full_sync {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .busy_timeout(options.busy_timeout)
                .foreign_keys(false)
                // SQLite runs on a thread of its own per connection, which hands rows to the
                // request through a bounded channel: room for a whole page lets it finish
                // the statement without waiting for the request task to make room.
                .row_buffer_size(ROW_BUFFER);
            // An embedded database's connection does not go stale: no ping before each use.
            let pool = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(options.max_connections.unwrap_or(8))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(backend)?;
            return Ok(Self::from_sqlite(pool)
                .await?
                .with_copy_cache_bytes(options.copy_cache_bytes));
        }
        Err(StoreError::backend(format!(
            "unsupported database URL `{url}`: use sqlite://PATH or postgres://…"
        )))
    }

    /// A store on an existing SQLite pool, after running the migrations.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the migrations fail.
    pub async fn from_sqlite(pool: SqlitePool) -> Result<Self, StoreError> {
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self::new(Pool::Sqlite(pool)))
    }

    /// A store on an existing PostgreSQL pool, after running the migrations (replicas may
    /// start at once: the migrator takes an advisory lock).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the migrations fail.
    pub async fn from_postgres(pool: PgPool) -> Result<Self, StoreError> {
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self::new(Pool::Postgres(pool)))
    }

    fn new(pool: Pool) -> Self {
        Self {
            pool,
            group_type: "Group".into(),
            compilers: Arc::default(),
            copies: copies(COPY_CACHE_BYTES),
        }
    }

    /// Gives the copies for [`Store::cached_copy`] `bytes` of memory (see
    /// [`Options::copy_cache_bytes`]); 0 keeps none.
    #[must_use]
    pub fn with_copy_cache_bytes(mut self, bytes: usize) -> Self {
        self.copies = copies(bytes);
        self
    }

    /// Keeps a copy of `record` as it now stands in the database. Groups are not kept:
    /// their members may be many, and member changes do not need the Group's record.
    fn keep_copy(&self, ctx: &RequestContext, view: &ResourceTypeView, record: &StoredResource) {
        let Some(copies) = &self.copies else {
            return;
        };
        if view.has_members() {
            return;
        }
        let key = CopyKey {
            tenant: ctx.tenant().to_owned(),
            resource_type: view.resource_type.name.clone(),
            id: record.id().to_owned(),
        };
        // Text only: a parsed object next to it would take several times the memory.
        copies.insert(key, record.clone().into_text_only());
    }

    /// Drops the copy of a resource that changed or is gone.
    fn drop_copy(&self, ctx: &RequestContext, view: &ResourceTypeView, id: &str) {
        if let Some(copies) = &self.copies {
            copies.remove(&CopyKeyRef::new(ctx, view, id));
        }
    }

    /// Names the Group resource type whose memberships make a User's `groups` in filters
    /// (default `Group`, the built-in one); the engine derives `groups` from the registry's
    /// Group type, so this must name the same one.
    #[must_use]
    pub fn with_group_type(mut self, name: impl Into<String>) -> Self {
        self.group_type = name.into();
        self.compilers = Arc::default();
        self
    }

    /// The SQL dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    /// The SQLite pool, when the store is on SQLite (for the host's own tables).
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            Pool::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, when the store is on PostgreSQL.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    fn sql(&self) -> SqlBuilder {
        SqlBuilder::new(self.dialect())
    }

    /// The compiler of filters over this store's schema for `view`.
    /// The filter compiler for a resource type (cached).
    fn compiler(&self, view: &ResourceTypeView) -> Arc<FilterCompiler> {
        // Keyed by the address of the registry's view (views stay put while their registry
        // lives; a store normally serves one registry) and checked by name, so another
        // registry's type gets its own compiler.
        let key = std::ptr::from_ref(view) as usize;
        if let Some((name, compiler)) = self
            .compilers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            if *name == view.resource_type.name {
                return Arc::clone(compiler);
            }
        }
        let facts = MappingFacts {
            typed: typed_columns(view),
            user_name_is_unique_key: user_name_is_unique_key(&unique_attributes(view)),
        };
        let compiler = Arc::new(self.build_compiler(facts));
        let mut compilers = self
            .compilers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Bounded, should registries come and go (tests build one per case).
        if compilers.len() >= 64 {
            compilers.clear();
        }
        compilers.insert(
            key,
            (view.resource_type.name.clone(), Arc::clone(&compiler)),
        );
        drop(compilers);
        compiler
    }

    fn build_compiler(&self, key: MappingFacts) -> FilterCompiler {
        let dialect = self.dialect();
        let [user_name, external_id, display_name, active] = key.typed;
        let mut mapping = Mapping::new("r").column(AttrPath::new("id"), Column::text("r.id"));
        if user_name {
            // When userName is the type's first unique attribute, `unique_key` holds the
            // same folded value under a unique index: an equality finds at most one row,
            // which the database knows (no sort for `ORDER BY id`).
            let folded = if key.user_name_is_unique_key {
                "r.unique_key"
            } else {
                "r.user_name_folded"
            };
            mapping = mapping.column(
                AttrPath::new("userName"),
                Column::text("r.user_name").folded(folded),
            );
        }
        if external_id {
            mapping = mapping.column(
                AttrPath::new("externalId"),
                Column::text("r.external_id").folded("r.external_id_folded"),
            );
        }
        if display_name {
            mapping = mapping.column(
                AttrPath::new("displayName"),
                Column::text("r.display_name").folded("r.display_name_folded"),
            );
        }
        if active {
            mapping = mapping.column(AttrPath::new("active"), Column::boolean("r.active"));
        }
        for (sub, column) in [
            ("created", "r.created"),
            ("lastModified", "r.last_modified"),
        ] {
            mapping = mapping.column(
                AttrPath::new("meta").with_sub_attr(sub),
                Column::typed(column, ColumnType::InstantMillis),
            );
        }
        mapping.document = Some(match dialect {
            Dialect::Sqlite => ("r.body".into(), "r.folded".into()),
            Dialect::Postgres => ("r.doc".into(), "r.folded".into()),
        });
        mapping.members = Some(MembersTable {
            table: "scim_members".into(),
        });
        mapping.groups = Some((self.group_type.clone(), "scim_resources".into()));
        mapping.keys = Some(RowKeys {
            tenant: "tenant".into(),
            resource_type: "resource_type".into(),
            id: "id".into(),
        });
        FilterCompiler::new(dialect, mapping)
    }

    /// `, (<the row's memberships as JSON>)` for a type that derives `groups`: read in the
    /// same statement as the row, so the engine needs no `memberships` query. `row` names
    /// the resource row (its alias, or the table in a `RETURNING` clause, where SQLite
    /// knows no alias).
    fn push_groups_column(&self, sql: &mut SqlBuilder, row: &str) {
        // Pushed piece by piece (every read of a User builds it). Each Group's name is a
        // subquery per membership rather than a join: a User in no Group (most of them)
        // then costs one index probe, not two tables opened per row.
        sql.push(match self.dialect() {
            Dialect::Sqlite => ", (SELECT json_group_array(json_array(m.group_id, ",
            Dialect::Postgres => ", (SELECT COALESCE(json_agg(json_build_array(m.group_id, ",
        });
        sql.push("(SELECT g.display_name FROM scim_resources g WHERE g.tenant = m.tenant AND g.resource_type = m.resource_type AND g.id = m.group_id)");
        sql.push(match self.dialect() {
            Dialect::Sqlite => ")) ",
            Dialect::Postgres => ")), '[]'::json)::text ",
        });
        sql.push("FROM scim_members m WHERE m.tenant = ")
            .push(row)
            .push(".tenant AND m.resource_type = ");
        sql.push_param(Param::Text(self.group_type.clone()));
        sql.push(" AND m.member = ").push(row).push(".id)");
    }

    /// Inserts the unique keys of `resource`; a taken one fails with its attribute.
    async fn insert_unique(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        unique: &[UniqueAttribute],
    ) -> Result<(), Failure> {
        // The first unique attribute is `scim_resources.unique_key`.
        let further = unique.get(1..).unwrap_or_default();
        if further.is_empty() {
            return Ok(());
        }
        let keys = resource.unique_keys(further)?;
        for (attribute, key) in keys {
            let mut sql = self.sql();
            sql.push("INSERT INTO scim_unique (tenant, resource_type, attribute, value_key, id) VALUES (");
            sql.push_param(Param::Text(ctx.tenant().to_owned()))
                .push(", ");
            sql.push_param(Param::Text(view.resource_type.name.clone()))
                .push(", ");
            sql.push_param(Param::Text(attribute.label())).push(", ");
            sql.push_param(Param::Text(key)).push(", ");
            sql.push_param(Param::Text(resource.id().to_owned()));
            sql.push(") ON CONFLICT DO NOTHING");
            if tx.execute(&sql).await? == 0 {
                let attributes = resource.attributes()?;
                return Err(Failure::Store(attribute.taken(&attributes)));
            }
        }
        Ok(())
    }

    /// Inserts members at positions `first`, `first + 1`, …, skipping those already there;
    /// answers how many were added.
    async fn insert_members(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        members: &[Member],
        first: i64,
    ) -> Result<u64, Failure> {
        let mut added = 0;
        let mut position = first;
        for chunk in members.chunks(BATCH / 9) {
            let mut sql = self.sql();
            sql.push("INSERT INTO scim_members (tenant, resource_type, group_id, member, member_type, member_type_folded, display, display_folded, position) VALUES ");
            for (i, member) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(");
                sql.push_param(Param::Text(ctx.tenant().to_owned()))
                    .push(", ");
                sql.push_param(Param::Text(view.resource_type.name.clone()))
                    .push(", ");
                sql.push_param(Param::Text(group_id.to_owned())).push(", ");
                sql.push_param(Param::Text(member.value.clone())).push(", ");
                push_opt(&mut sql, member.member_type.as_deref());
                sql.push(", ");
                push_opt(
                    &mut sql,
                    member.member_type.as_deref().map(fold_case).as_deref(),
                );
                sql.push(", ");
                push_opt(&mut sql, member.display.as_deref());
                sql.push(", ");
                push_opt(
                    &mut sql,
                    member.display.as_deref().map(fold_case).as_deref(),
                );
                sql.push(", ");
                sql.push_param(Param::Int(position));
                sql.push(")");
                position += 1;
            }
            sql.push(" ON CONFLICT DO NOTHING");
            added += tx.execute(&sql).await?;
        }
        Ok(added)
    }

    /// The members of the groups `ids`, in order, by group.
    async fn members_of(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        ids: &[&str],
    ) -> Result<BTreeMap<String, Vec<Member>>, StoreError> {
        let mut out: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        for chunk in ids.chunks(BATCH) {
            let mut sql = self.sql();
            sql.push(
                "SELECT group_id, member, member_type, display FROM scim_members WHERE tenant = ",
            );
            sql.push_param(Param::Text(ctx.tenant().to_owned()));
            sql.push(" AND resource_type = ");
            sql.push_param(Param::Text(view.resource_type.name.clone()));
            sql.push(" AND group_id IN (");
            push_list(&mut sql, chunk);
            sql.push(") ORDER BY group_id, position");
            for (group, member) in self.pool.fetch(&sql, read_member).await.map_err(backend)? {
                out.entry(group).or_default().push(member);
            }
        }
        Ok(out)
    }

    /// What a resource row (insert or update) is written with: the body, its folded copy,
    /// the typed columns, and the key of the type's first unique attribute
    /// (`scim_resources.unique_key`).
    fn row_values(
        &self,
        view: &ResourceTypeView,
        resource: &StoredResource,
        unique: &[UniqueAttribute],
    ) -> Result<(String, String, Typed, Option<String>), StoreError> {
        let body = resource.attributes_json().into_owned();
        let attributes = resource.attributes()?;
        let folded = fold_document_text(&attributes);
        let unique_key = unique.first().and_then(|u| u.key(&attributes));
        let typed = Typed::of(view, &attributes, user_name_is_unique_key(unique));
        Ok((body, folded, typed, unique_key))
    }

    /// The error for a unique violation of `scim_resources.unique_key`: the first unique
    /// attribute's value is taken (RFC 7644 §3.3: 409 `uniqueness`).
    fn first_taken(unique: &[UniqueAttribute], resource: &StoredResource) -> Failure {
        match (unique.first(), resource.attributes()) {
            (Some(attribute), Ok(attributes)) => Failure::Store(attribute.taken(&attributes)),
            (_, Err(err)) => Failure::Store(err),
            (None, Ok(_)) => {
                Failure::Store(StoreError::Uniqueness("a unique value is taken".into()))
            }
        }
    }

    /// Whether another resource of the type holds this `unique_key`.
    async fn unique_key_taken(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        key: &str,
    ) -> Result<bool, Failure> {
        let mut sql = self.sql();
        sql.push("SELECT id FROM scim_resources WHERE tenant = ");
        sql.push_param(Param::Text(ctx.tenant().to_owned()));
        sql.push(" AND resource_type = ");
        sql.push_param(Param::Text(view.resource_type.name.clone()));
        sql.push(" AND unique_key = ");
        sql.push_param(Param::Text(key.to_owned()));
        Ok(!self.pool.fetch(&sql, |_| Ok(())).await?.is_empty())
    }

    async fn try_create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), Failure> {
        let unique = unique_attributes(view);
        let (body, folded, typed, unique_key) = self.row_values(view, resource, &unique)?;
        let mut sql = self.sql();
        sql.push("INSERT INTO scim_resources (tenant, resource_type, id, body, folded, created, last_modified, version, user_name, user_name_folded, external_id, external_id_folded, display_name, display_name_folded, active, unique_key) VALUES (");
        sql.push_param(Param::Text(ctx.tenant().to_owned()))
            .push(", ");
        sql.push_param(Param::Text(view.resource_type.name.clone()))
            .push(", ");
        sql.push_param(Param::Text(resource.id().to_owned()))
            .push(", ");
        sql.push_param(Param::Text(body)).push(", ");
        self.push_json(&mut sql, folded);
        sql.push(", ");
        let meta = resource.meta();
        sql.push_param(Param::Int(millis(meta.created))).push(", ");
        sql.push_param(Param::Int(millis(meta.last_modified)))
            .push(", ");
        sql.push_param(version_param(meta.version)).push(", ");
        push_typed(&mut sql, &typed);
        sql.push(", ");
        push_opt(&mut sql, unique_key.as_deref());
        sql.push(") ON CONFLICT DO NOTHING");
        // One statement (committed on its own) when nothing else is written: the common
        // create of a User.
        let single = unique.len() <= 1 && !view.has_members();
        let mut tx = if single {
            None
        } else {
            Some(self.pool.begin().await?)
        };
        let inserted = match &mut tx {
            Some(tx) => tx.execute(&sql).await?,
            None => self.pool.execute(&sql).await?,
        };
        if inserted == 0 {
            if let Some(key) = &unique_key {
                if self.unique_key_taken(ctx, view, key).await? {
                    return Err(Self::first_taken(&unique, resource));
                }
            }
            return Err(Failure::Store(StoreError::Uniqueness(format!(
                "id `{}` is already taken",
                resource.id()
            ))));
        }
        if let Some(mut tx) = tx {
            self.insert_unique(&mut tx, ctx, view, resource, &unique)
                .await?;
            if view.has_members() {
                self.insert_members(&mut tx, ctx, view, resource.id(), resource.members(), 1)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn try_replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: Version,
    ) -> Result<Option<GroupPairs>, Failure> {
        let unique = unique_attributes(view);
        let (body, folded, typed, unique_key) = self.row_values(view, resource, &unique)?;
        let mut sql = self.sql();
        sql.push("UPDATE scim_resources SET body = ");
        sql.push_param(Param::Text(body));
        sql.push(", folded = ");
        self.push_json(&mut sql, folded);
        let meta = resource.meta();
        sql.push(", last_modified = ");
        sql.push_param(Param::Int(millis(meta.last_modified)));
        sql.push(", version = ");
        sql.push_param(version_param(meta.version));
        sql.push(", user_name = ");
        push_opt(&mut sql, typed.user_name.as_deref());
        sql.push(", user_name_folded = ");
        push_opt(&mut sql, typed.user_name_folded().as_deref());
        sql.push(", external_id = ");
        push_opt(&mut sql, typed.external_id.as_deref());
        sql.push(", external_id_folded = ");
        push_opt(
            &mut sql,
            typed.external_id.as_deref().map(fold_case).as_deref(),
        );
        sql.push(", display_name = ");
        push_opt(&mut sql, typed.display_name.as_deref());
        sql.push(", display_name_folded = ");
        push_opt(
            &mut sql,
            typed.display_name.as_deref().map(fold_case).as_deref(),
        );
        sql.push(", active = ");
        push_opt_bool(&mut sql, typed.active);
        sql.push(", unique_key = ");
        push_opt(&mut sql, unique_key.as_deref());
        self.push_key(&mut sql, ctx, view, resource.id());
        sql.push(" AND version = ");
        sql.push_param(version_param(expected));
        // A User's groups as of the write, so that the engine answers with current ones
        // even when it based the change on a copy (`Store::cached_copy`).
        sql.push(" RETURNING version");
        let derives = view.derives_groups();
        if derives {
            self.push_groups_column(&mut sql, "scim_resources");
        }
        let read = |row: &dyn RowRead| {
            if derives {
                read_groups(row, 1)
            } else {
                Ok(Vec::new())
            }
        };
        // One statement, committed on its own, when nothing else is written: the common
        // PATCH or PUT of a User.
        let single = unique.len() <= 1 && !view.has_members();
        let mut tx = if single {
            None
        } else {
            Some(self.pool.begin().await?)
        };
        let updated = match &mut tx {
            Some(tx) => tx.fetch(&sql, read).await,
            None => self.pool.fetch(&sql, read).await,
        };
        let updated = match updated {
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(Self::first_taken(&unique, resource));
            }
            other => other?,
        };
        let Some(groups) = updated.into_iter().next() else {
            let exists = match &mut tx {
                Some(tx) => self
                    .version_in(tx, ctx, view, resource.id())
                    .await?
                    .is_some(),
                None => {
                    let mut read = self.sql();
                    read.push("SELECT version FROM scim_resources");
                    self.push_key(&mut read, ctx, view, resource.id());
                    !self.pool.fetch(&read, |_| Ok(())).await?.is_empty()
                }
            };
            return Err(Failure::Store(if exists {
                StoreError::VersionMismatch
            } else {
                StoreError::NotFound(resource.id().to_owned())
            }));
        };
        let groups = derives.then_some(groups);
        let Some(mut tx) = tx else {
            return Ok(groups);
        };
        if unique.len() > 1 {
            let mut sql = self.sql();
            sql.push("DELETE FROM scim_unique WHERE tenant = ");
            sql.push_param(Param::Text(ctx.tenant().to_owned()));
            sql.push(" AND resource_type = ");
            sql.push_param(Param::Text(view.resource_type.name.clone()));
            sql.push(" AND id = ");
            sql.push_param(Param::Text(resource.id().to_owned()));
            tx.execute(&sql).await?;
            self.insert_unique(&mut tx, ctx, view, resource, &unique)
                .await?;
        }
        if view.has_members() {
            let mut sql = self.sql();
            sql.push("DELETE FROM scim_members WHERE tenant = ");
            sql.push_param(Param::Text(ctx.tenant().to_owned()));
            sql.push(" AND resource_type = ");
            sql.push_param(Param::Text(view.resource_type.name.clone()));
            sql.push(" AND group_id = ");
            sql.push_param(Param::Text(resource.id().to_owned()));
            tx.execute(&sql).await?;
            self.insert_members(&mut tx, ctx, view, resource.id(), resource.members(), 1)
                .await?;
        }
        tx.commit().await?;
        Ok(groups)
    }

    /// ` WHERE tenant = … AND resource_type = … AND id = …`.
    fn push_key(
        &self,
        sql: &mut SqlBuilder,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) {
        sql.push(" WHERE tenant = ");
        sql.push_param(Param::Text(ctx.tenant().to_owned()));
        sql.push(" AND resource_type = ");
        sql.push_param(Param::Text(view.resource_type.name.clone()));
        sql.push(" AND id = ");
        sql.push_param(Param::Text(id.to_owned()));
    }

    /// A JSON text parameter (`jsonb` on PostgreSQL).
    fn push_json(&self, sql: &mut SqlBuilder, json: String) {
        sql.push_param(Param::Text(json));
        if self.dialect() == Dialect::Postgres {
            sql.push("::jsonb");
        }
    }

    /// The stored version of a resource, if it exists (locks its row on PostgreSQL).
    async fn version_in(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<(i64, i64, i64)>, Failure> {
        let mut sql = self.sql();
        sql.push("SELECT created, last_modified, version FROM scim_resources");
        self.push_key(&mut sql, ctx, view, id);
        if self.dialect() == Dialect::Postgres {
            sql.push(" FOR UPDATE");
        }
        let rows = tx
            .fetch(&sql, |r| Ok((r.int(0)?, r.int(1)?, r.int(2)?)))
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn try_delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<Version>,
    ) -> Result<(), Failure> {
        let mut tx = self.pool.begin().await?;
        let mut sql = self.sql();
        sql.push("DELETE FROM scim_resources");
        self.push_key(&mut sql, ctx, view, id);
        if let Some(expected) = expected {
            sql.push(" AND version = ");
            sql.push_param(version_param(expected));
        }
        if tx.execute(&sql).await? == 0 {
            let exists = self.version_in(&mut tx, ctx, view, id).await?;
            return Err(Failure::Store(match exists {
                Some(_) => StoreError::VersionMismatch,
                None => StoreError::NotFound(id.to_owned()),
            }));
        }
        let tenant = Param::Text(ctx.tenant().to_owned());
        let kind = Param::Text(view.resource_type.name.clone());
        for table in ["scim_unique", "scim_members"] {
            let mut sql = self.sql();
            let column = if table == "scim_unique" {
                "id"
            } else {
                "group_id"
            };
            sql.push(&format!("DELETE FROM {table} WHERE tenant = "));
            sql.push_param(tenant.clone());
            sql.push(" AND resource_type = ");
            sql.push_param(kind.clone());
            sql.push(&format!(" AND {column} = "));
            sql.push_param(Param::Text(id.to_owned()));
            tx.execute(&sql).await?;
        }
        // The deleted resource leaves every Group of the tenant (RFC 7644 §3.6); each of
        // them changes.
        let mut sql = self.sql();
        sql.push("DELETE FROM scim_members WHERE tenant = ");
        sql.push_param(tenant.clone());
        sql.push(" AND member = ");
        sql.push_param(Param::Text(id.to_owned()));
        sql.push(" RETURNING resource_type, group_id");
        let groups = tx.fetch(&sql, |r| Ok((r.text(0)?, r.text(1)?))).await?;
        let groups: std::collections::BTreeSet<(String, String)> = groups.into_iter().collect();
        for (group_type, group) in groups {
            let mut sql = self.sql();
            sql.push("UPDATE scim_resources SET version = version + 1, last_modified = ");
            sql.push_param(Param::Int(millis(ctx.now)));
            sql.push(" WHERE tenant = ");
            sql.push_param(tenant.clone());
            sql.push(" AND resource_type = ");
            sql.push_param(Param::Text(group_type));
            sql.push(" AND id = ");
            sql.push_param(Param::Text(group));
            tx.execute(&sql).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn try_modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected: Option<Version>,
    ) -> Result<MembershipOutcome, Failure> {
        let mut tx = self.pool.begin().await?;
        let Some((created, last_modified, stored)) =
            self.version_in(&mut tx, ctx, view, group_id).await?
        else {
            return Err(Failure::Store(StoreError::NotFound(group_id.to_owned())));
        };
        if expected.is_some_and(|v| v != version(stored)) {
            return Err(Failure::Store(StoreError::VersionMismatch));
        }
        let mut changed = 0;
        let tenant = Param::Text(ctx.tenant().to_owned());
        let kind = Param::Text(view.resource_type.name.clone());
        let removes: Vec<&str> = change.remove.iter().map(String::as_str).collect();
        for chunk in removes.chunks(BATCH) {
            let mut sql = self.sql();
            sql.push("DELETE FROM scim_members WHERE tenant = ");
            sql.push_param(tenant.clone());
            sql.push(" AND resource_type = ");
            sql.push_param(kind.clone());
            sql.push(" AND group_id = ");
            sql.push_param(Param::Text(group_id.to_owned()));
            sql.push(" AND member IN (");
            push_list(&mut sql, chunk);
            sql.push(")");
            changed += tx.execute(&sql).await?;
        }
        if !change.add.is_empty() {
            let mut sql = self.sql();
            sql.push("SELECT COALESCE(MAX(position), 0) FROM scim_members WHERE tenant = ");
            sql.push_param(tenant.clone());
            sql.push(" AND resource_type = ");
            sql.push_param(kind.clone());
            sql.push(" AND group_id = ");
            sql.push_param(Param::Text(group_id.to_owned()));
            let last = tx
                .fetch(&sql, |r| r.int(0))
                .await?
                .into_iter()
                .next()
                .unwrap_or(0);
            let mut seen = std::collections::HashSet::new();
            let adds: Vec<Member> = change
                .add
                .iter()
                .filter(|m| seen.insert(m.value.as_str()))
                .cloned()
                .collect();
            changed += self
                .insert_members(&mut tx, ctx, view, group_id, &adds, last + 1)
                .await?;
        }
        let meta = if changed > 0 {
            let mut sql = self.sql();
            sql.push("UPDATE scim_resources SET version = version + 1, last_modified = ");
            sql.push_param(Param::Int(millis(ctx.now)));
            self.push_key(&mut sql, ctx, view, group_id);
            sql.push(" RETURNING created, last_modified, version");
            let rows = tx
                .fetch(&sql, |r| Ok((r.int(0)?, r.int(1)?, r.int(2)?)))
                .await?;
            let Some((created, last_modified, v)) = rows.into_iter().next() else {
                return Err(Failure::Store(StoreError::NotFound(group_id.to_owned())));
            };
            tx.commit().await?;
            (created, last_modified, v)
        } else {
            tx.rollback().await?;
            (created, last_modified, stored)
        };
        let meta = ResourceMeta::new(instant(meta.0)?, instant(meta.1)?, version(meta.2));
        Ok(MembershipOutcome::new(changed > 0, meta))
    }

    /// The keyset condition for rows after `position` in the order of `sort` (`expr` is
    /// the sort's SQL expression).
    fn push_after(
        &self,
        sql: &mut SqlBuilder,
        sort: Option<(&ResolvedSort, &str)>,
        position: &scim_core::store::Position,
    ) {
        let id = sql.placeholder(Param::Text(position.id.clone()));
        let Some((sort, expr)) = sort else {
            sql.push(&format!(" AND r.id > {id}"));
            return;
        };
        let descending = sort.order() == SortOrder::Descending;
        let value = position.sort_value.as_ref().map(|v| {
            sql.placeholder(match v {
                SortValue::String(s) => Param::Text(s.clone()),
                SortValue::Number(n) => Param::Real(*n),
                SortValue::Boolean(b) => Param::Int(i64::from(*b)),
                SortValue::DateTime(t) => Param::Int(t.timestamp_millis()),
                _ => Param::Text(String::new()),
            })
        });
        let condition = match (value, descending) {
            (Some(p), false) => format!(
                "((({expr}) IS NOT NULL AND (({expr}) > {p} OR (({expr}) = {p} AND r.id > {id}))) OR ({expr}) IS NULL)"
            ),
            (None, false) => format!("(({expr}) IS NULL AND r.id > {id})"),
            (Some(p), true) => format!(
                "(({expr}) IS NOT NULL AND (({expr}) < {p} OR (({expr}) = {p} AND r.id > {id})))"
            ),
            (None, true) => format!("((({expr}) IS NULL AND r.id > {id}) OR ({expr}) IS NOT NULL)"),
        };
        sql.push(" AND ");
        sql.push(&condition);
    }
}

fn push_opt(sql: &mut SqlBuilder, value: Option<&str>) {
    match value {
        Some(v) => {
            sql.push_param(Param::Text(v.to_owned()));
        }
        None => {
            sql.push("NULL");
        }
    }
}

fn push_opt_bool(sql: &mut SqlBuilder, value: Option<bool>) {
    match value {
        Some(v) => {
            sql.push_param(Param::Bool(v));
        }
        None => {
            sql.push("NULL");
        }
    }
}

fn push_typed(sql: &mut SqlBuilder, typed: &Typed) {
    push_opt(sql, typed.user_name.as_deref());
    sql.push(", ");
    push_opt(sql, typed.user_name_folded().as_deref());
    for value in [&typed.external_id, &typed.display_name] {
        sql.push(", ");
        push_opt(sql, value.as_deref());
        sql.push(", ");
        push_opt(sql, value.as_deref().map(fold_case).as_deref());
    }
    sql.push(", ");
    push_opt_bool(sql, typed.active);
}

fn push_list(sql: &mut SqlBuilder, items: &[&str]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_param(Param::Text((*item).to_owned()));
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), StoreError> {
        retrying(|| self.try_create(ctx, view, resource)).await?;
        self.keep_copy(ctx, view, resource);
        Ok(())
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let mut sql = self.sql();
        sql.push("SELECT ").push(FIELDS);
        let derives = view.derives_groups();
        if derives {
            self.push_groups_column(&mut sql, "r");
        }
        sql.push(" FROM scim_resources r");
        self.push_key(&mut sql, ctx, view, id);
        // `id = ?` compares exactly: the row's id is `id`.
        let read = |row: &dyn RowRead| {
            let fields = read_fields(row, Arc::from(id), 0)?;
            let groups = if derives {
                read_groups(row, 4)?
            } else {
                Vec::new()
            };
            Ok((fields, groups))
        };
        let found = self.pool.fetch(&sql, read).await;
        let Some((row, groups)) = found.map_err(backend)?.into_iter().next() else {
            self.drop_copy(ctx, view, id);
            return Ok(None);
        };
        let members = if view.has_members() {
            self.members_of(ctx, view, &[id])
                .await?
                .remove(id)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut record = to_record(row, members)?;
        if derives {
            record = with_groups(record, groups);
        }
        self.keep_copy(ctx, view, &record);
        Ok(Some(record))
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: Version,
    ) -> Result<Replaced, StoreError> {
        let written = retrying(|| self.try_replace(ctx, view, resource, expected)).await;
        let groups = match written {
            Ok(groups) => groups,
            Err(err) => {
                self.drop_copy(ctx, view, resource.id());
                return Err(err);
            }
        };
        // The engine does not trust a copy's groups: the copy keeps those it was given.
        self.keep_copy(ctx, view, resource);
        Ok(match groups {
            Some(pairs) => Replaced::with_groups(memberships(resource.id(), pairs)),
            None => Replaced::new(),
        })
    }

    fn cached_copy(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Option<StoredResource> {
        self.copies.as_ref()?.get(&CopyKeyRef::new(ctx, view, id))
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<Version>,
    ) -> Result<(), StoreError> {
        self.drop_copy(ctx, view, id);
        retrying(|| self.try_delete(ctx, view, id, expected)).await
    }

    async fn query(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<QueryPage, StoreError> {
        let view = query.view;
        let compiler = self.compiler(view);
        let sort = match query.sort {
            Some(sort) => Some((
                sort,
                compiler.sort_expression(view, sort).ok_or_else(|| {
                    StoreError::Unsupported(format!("cannot sort by `{}` in SQL", sort.path()))
                })?,
            )),
            None => None,
        };
        let (offset, limit) = match query.page {
            Page::Offset { offset, limit } => (Some(offset), Some(limit)),
            Page::After { limit, .. } => (None, Some(limit)),
            _ => (Some(0), None),
        };
        // A page to answer carries its rows' derived groups (candidates for the engine's
        // own filtering do not: it asks for groups only when a condition names them).
        let derives = view.derives_groups() && limit.is_some();
        // An unfiltered page reads its total from `scim_counts` in the same statement.
        let counted = query.filter.is_none() && limit.is_some();
        let mut sql = self.sql();
        sql.push("SELECT ").push(COLUMNS);
        if derives {
            self.push_groups_column(&mut sql, "r");
        }
        if counted {
            sql.push(", ");
            self.push_stored_count(&mut sql, ctx, view);
        }
        sql.push(" FROM scim_resources r");
        // WHERE: the tenant and type, then the filter in parentheses.
        self.push_where(&mut sql, ctx, &compiler, query)?;
        if let Page::After { position, .. } = query.page {
            self.push_after(
                &mut sql,
                sort.as_ref().map(|(s, e)| (*s, e.as_str())),
                position,
            );
        }
        sql.push(" ORDER BY ");
        if let Some((sort, expr)) = &sort {
            let direction = if sort.order() == SortOrder::Descending {
                "DESC"
            } else {
                "ASC"
            };
            sql.push(&format!(
                "({expr}) IS NULL {direction}, {expr} {direction}, "
            ));
        }
        sql.push("r.id ASC");
        if let Some(limit) = limit {
            sql.push(" LIMIT ");
            sql.push_param(Param::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        if let Some(offset) = offset.filter(|o| *o > 0) {
            sql.push(" OFFSET ");
            sql.push_param(Param::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        }
        let read = row_reader(derives);
        let count_column = if derives { 6 } else { 5 };
        let rows = self
            .pool
            .fetch(&sql, |r| {
                let stored_count = if counted {
                    Some(r.int(count_column)?)
                } else {
                    None
                };
                Ok((read(r)?, stored_count))
            })
            .await
            .map_err(backend)?;
        let stored_count = rows.first().and_then(|(_, n)| *n);
        let rows: Vec<_> = rows.into_iter().map(|(row, _)| row).collect();
        // A page that ends before its limit tells the total without counting.
        let total = match (stored_count, offset, limit) {
            (Some(n), _, _) => usize::try_from(n).unwrap_or(0),
            (None, Some(offset), None) => offset + rows.len(),
            (None, Some(offset), Some(limit))
                if rows.len() < limit && (offset == 0 || !rows.is_empty()) =>
            {
                offset + rows.len()
            }
            _ => self.count(ctx, &compiler, query).await?,
        };
        let mut members = if view.has_members() && query.members && !rows.is_empty() {
            let ids: Vec<&str> = rows.iter().map(|(row, _)| &*row.id).collect();
            self.members_of(ctx, view, &ids).await?
        } else {
            BTreeMap::new()
        };
        let resources = rows
            .into_iter()
            .map(|(row, groups)| {
                let list = members.remove(&*row.id).unwrap_or_default();
                let record = to_record(row, list)?;
                Ok(if derives {
                    with_groups(record, groups)
                } else {
                    record
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(QueryPage::new(resources, total))
    }

    async fn memberships(
        &self,
        ctx: &RequestContext,
        groups: &ResourceTypeView,
        member_ids: &[&str],
    ) -> Result<Vec<Membership>, StoreError> {
        let mut out = Vec::new();
        for chunk in member_ids.chunks(BATCH) {
            let mut sql = self.sql();
            sql.push("SELECT m.member, m.group_id, g.display_name FROM scim_members m JOIN scim_resources g ON g.tenant = m.tenant AND g.resource_type = m.resource_type AND g.id = m.group_id WHERE m.tenant = ");
            sql.push_param(Param::Text(ctx.tenant().to_owned()));
            sql.push(" AND m.resource_type = ");
            sql.push_param(Param::Text(groups.resource_type.name.clone()));
            sql.push(" AND m.member IN (");
            push_list(&mut sql, chunk);
            sql.push(")");
            let rows = self
                .pool
                .fetch(&sql, |r| {
                    Ok(Membership::new(r.text(0)?, r.text(1)?, r.opt_text(2)?))
                })
                .await
                .map_err(backend)?;
            out.extend(rows);
        }
        Ok(out)
    }

    fn filters(&self, view: &ResourceTypeView, condition: &Filter) -> bool {
        self.compiler(view).supports(view, condition)
    }

    fn sorts(&self, view: &ResourceTypeView, sort: &ResolvedSort) -> bool {
        self.compiler(view).sort_expression(view, sort).is_some()
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected: Option<Version>,
    ) -> Result<MembershipOutcome, StoreError> {
        if !view.has_members() {
            return Err(StoreError::Unsupported(format!(
                "{} resources have no members",
                view.resource_type.name
            )));
        }
        retrying(|| self.try_modify_members(ctx, view, group_id, change, expected)).await
    }
}

impl SqlStore {
    /// ` WHERE r.tenant = … AND r.resource_type = … AND (<filter>)`: the tenant condition
    /// always stands beside the whole filter in parentheses, so no `or` escapes it.
    fn push_where(
        &self,
        sql: &mut SqlBuilder,
        ctx: &RequestContext,
        compiler: &FilterCompiler,
        query: &Query<'_>,
    ) -> Result<(), StoreError> {
        sql.push(" WHERE r.tenant = ");
        sql.push_param(Param::Text(ctx.tenant().to_owned()));
        sql.push(" AND r.resource_type = ");
        sql.push_param(Param::Text(query.view.resource_type.name.clone()));
        if let Some(filter) = query.filter {
            sql.push(" AND (");
            compiler
                .compile(query.view, filter, sql)
                .map_err(|e| StoreError::Unsupported(e.to_string()))?;
            sql.push(")");
        }
        Ok(())
    }

    /// The tenant's number of resources of `view`'s type as the insert and delete triggers
    /// keep it in `scim_counts` (a sum over its shards on PostgreSQL), as a scalar subquery.
    fn push_stored_count(
        &self,
        sql: &mut SqlBuilder,
        ctx: &RequestContext,
        view: &ResourceTypeView,
    ) {
        sql.push("(SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM scim_counts WHERE tenant = ");
        sql.push_param(Param::Text(ctx.tenant().to_owned()));
        sql.push(" AND resource_type = ");
        sql.push_param(Param::Text(view.resource_type.name.clone()));
        sql.push(")");
    }

    /// How many resources match the query's filter.
    async fn count(
        &self,
        ctx: &RequestContext,
        compiler: &FilterCompiler,
        query: &Query<'_>,
    ) -> Result<usize, StoreError> {
        let mut sql = self.sql();
        if query.filter.is_none() {
            sql.push("SELECT ");
            self.push_stored_count(&mut sql, ctx, query.view);
        } else {
            sql.push("SELECT COUNT(*) FROM scim_resources r");
            self.push_where(&mut sql, ctx, compiler, query)?;
        }
        let n = self
            .pool
            .fetch(&sql, |r| r.int(0))
            .await
            .map_err(backend)?
            .into_iter()
            .next()
            .unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

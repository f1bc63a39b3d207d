//! SCIM filters (RFC 7644 §3.4.2.2) compiled to parameterised SQL, with exactly the
//! semantics of the in-memory evaluator ([`ResolvedFilter::matches`]).
//!
//! [`FilterCompiler`] turns a [`ResolvedFilter`] into a SQL boolean expression over one row
//! of a resources table, for SQLite or PostgreSQL ([`Dialect`]). Every literal of the filter
//! is a bound parameter ([`Param`]), never text in the SQL. Attributes come from a
//! [`Mapping`]: columns of the host's own table ([`Column`]), or — in [`SqlStore`]'s own
//! schema — the resource's JSON document, Group members and a User's derived `groups`.
//!
//! The semantics, as the evaluator's:
//!
//! * every operator; `and`/`or`/`not` (every condition compiles to a two-valued expression,
//!   so `not` never meets SQL's `NULL`);
//! * multi-valued attributes match when any value matches, `ne` when no value is equal (and
//!   one can be compared); value paths (`emails[type eq "work" and value co "x"]`) hold on one
//!   element (`EXISTS` over `json_each` / `jsonb_array_elements`);
//! * strings compare case-insensitively unless `caseExact`, through copies folded in Rust
//!   with [`fold_case`] (a folded JSON document, a folded
//!   column): SQL's `lower()` is ASCII-only in SQLite and locale-dependent in PostgreSQL;
//!   ordering compares code points (`COLLATE "C"`); `co`/`sw`/`ew` use `instr`/`substr` in
//!   SQLite and `LIKE … ESCAPE '\'` with `\`, `%` and `_` escaped in PostgreSQL;
//! * numbers numerically, booleans, `dateTime`s as instants (columns of milliseconds);
//!   `pr` excludes `null`, `""`, `[]` and objects without a present member; `eq null` holds
//!   for absent and `null` values;
//! * a literal of another type than the attribute's never matches (`title eq 5`).
//!
//! What a mapping cannot express exactly — an attribute without a column, a case-insensitive
//! string without a folded copy, a `dateTime` inside the JSON document, an unknown
//! attribute — is [`Unsupported`]; [`FilterCompiler::supports`] tells so per condition, and
//! the engine evaluates those conditions in Rust over the candidate rows (see
//! [`Store::filters`](scim_core::Store::filters)). A filter is never answered wrongly,
//! partially or unfiltered.
//!
//! # Example: a host's own table
//!
//! A host keeps users in `users(id, tenant_id, user_name, email, given_name, family_name,
//! active)` and pushes an IdP's filter into its own query. A complex attribute whose
//! sub-attributes are mapped (here `emails.value`) is one element per row, present when one
//! of its columns is not `NULL`, so value paths such as `emails[value ew "@example.com"]`
//! compile too; the tenant condition comes first and the filter is parenthesised, so an `or`
//! never reaches another tenant's rows:
//!
//! ```
//! use scim_core::schema::SchemaRegistry;
//! use scim_core::store::ResolvedFilter;
//! use scim_sqlx::compile::{Column, Dialect, FilterCompiler, Mapping, Param, SqlBuilder};
//! use scim_filter::AttrPath;
//!
//! let registry = SchemaRegistry::default();
//! let users = registry.resource_type("User").ok_or("no User")?;
//! let mapping = Mapping::new("u")
//!     .column(AttrPath::new("id"), Column::text("u.id"))
//!     // The host keeps user names and emails in lower-case ASCII, so SQL's lower() is exact.
//!     .column(AttrPath::new("userName"), Column::text("u.user_name").ascii_lowercase())
//!     .column(AttrPath::new("emails").with_sub_attr("value"), Column::text("u.email").ascii_lowercase())
//!     .column(AttrPath::new("name").with_sub_attr("givenName"), Column::text("u.given_name").ascii_lowercase())
//!     .column(AttrPath::new("name").with_sub_attr("familyName"), Column::text("u.family_name").ascii_lowercase())
//!     .column(AttrPath::new("active"), Column::boolean("u.active"));
//! let compiler = FilterCompiler::new(Dialect::Postgres, mapping);
//!
//! let filter = scim_filter::parse_filter(r#"userName eq "BJensen" and (active eq true or name.familyName sw "J")"#)?;
//! let filter = ResolvedFilter::resolve(&filter, users)?;
//! let mut sql = SqlBuilder::new(Dialect::Postgres);
//! sql.push("SELECT u.id FROM users u WHERE u.tenant_id = ");
//! sql.push_param(Param::Text("acme".into()));
//! sql.push(" AND (");
//! compiler.compile(users, &filter, &mut sql)?;
//! sql.push(")");
//! assert_eq!(
//!     sql.text(),
//!     "SELECT u.id FROM users u WHERE u.tenant_id = $1 AND (((u.user_name IS NOT NULL AND lower(u.user_name) = $2)) AND (((u.active IS NOT NULL AND u.active = $3)) OR ((u.family_name IS NOT NULL AND lower(u.family_name) LIKE $4 ESCAPE '\\'))))"
//! );
//! assert_eq!(sql.params()[1], Param::Text("bjensen".into()));
//! assert_eq!(sql.params()[3], Param::Text("j%".into()));
//! // `title` has no column: the engine evaluates that condition in Rust.
//! let title = ResolvedFilter::resolve(&scim_filter::parse_filter(r#"title eq "Lead""#)?, users)?;
//! assert!(!compiler.supports(users, title.filter()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`SqlStore`]: crate::SqlStore

use chrono::{DateTime, FixedOffset};
use scim_core::schema::{AttributeType, ResourceTypeView};
use scim_core::store::{ResolvedFilter, ResolvedSort, fold_case};
use scim_filter::{AttrFacts, AttrPath, AttrType, AttributeFacts, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The SQL dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite 3.38 or newer (JSON operators `->` and `->>`); placeholders `?1`, `?2`, ….
    Sqlite,
    /// PostgreSQL 12 or newer (`jsonb`); placeholders `$1`, `$2`, ….
    Postgres,
}

/// Writes the placeholder of the `n`th parameter, `?n` or `$n` (by hand, not `format!`: this
/// runs for every parameter of every statement).
fn write_placeholder(out: &mut String, dialect: Dialect, n: usize) {
    out.push(dialect.sigil());
    out.push_str(itoa::Buffer::new().format(n));
}

impl Dialect {
    /// What a numbered placeholder starts with: `?1` (SQLite), `$1` (PostgreSQL).
    fn sigil(self) -> char {
        match self {
            Dialect::Sqlite => '?',
            Dialect::Postgres => '$',
        }
    }

    fn false_(self) -> &'static str {
        match self {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "false",
        }
    }

    fn true_(self) -> &'static str {
        match self {
            Dialect::Sqlite => "1",
            Dialect::Postgres => "true",
        }
    }
}

/// A bound parameter of compiled SQL.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Param {
    /// Text.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Real(f64),
    /// A boolean.
    Bool(bool),
}

/// SQL text with numbered placeholders and the parameters they stand for, built in order.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    dialect: Dialect,
    text: String,
    params: Vec<Param>,
}

impl SqlBuilder {
    /// An empty statement in `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::with_capacity(256),
            params: Vec::new(),
        }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for a new parameter.
    pub fn push_param(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        write_placeholder(&mut self.text, self.dialect, self.params.len());
        self
    }

    /// Registers a parameter and answers its placeholder (`?n` or `$n`), to use in text
    /// written later, possibly several times.
    pub fn placeholder(&mut self, param: Param) -> String {
        self.params.push(param);
        let mut placeholder = String::with_capacity(4);
        write_placeholder(&mut placeholder, self.dialect, self.params.len());
        placeholder
    }

    /// The SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parameters, in placeholder order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The text and the parameters.
    pub fn into_parts(self) -> (String, Vec<Param>) {
        (self.text, self.params)
    }
}

/// A filter condition the mapping cannot compile exactly (the text says why); the engine
/// evaluates it in Rust instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot compile to SQL: {0}")]
pub struct Unsupported(pub String);

fn unsupported<T>(why: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(why.into()))
}

/// How a column holds an attribute's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// Text (`string`, `reference`, `binary` attributes).
    Text,
    /// A boolean.
    Boolean,
    /// An integer.
    Integer,
    /// A decimal.
    Decimal,
    /// A `dateTime` as an integer count of milliseconds since the Unix epoch.
    InstantMillis,
}

/// How case-insensitive comparisons read a text column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Folding {
    /// No folded copy: only case-exact attributes compile.
    None,
    /// A column holding `fold_case` of the value.
    Column(String),
    /// `lower(column)`: exact when every stored value is ASCII.
    AsciiLower,
}

/// A column of the host's table holding one single-valued attribute (or sub-attribute).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    expr: String,
    ty: ColumnType,
    folding: Folding,
}

impl Column {
    /// A text column, compared as stored (right for `caseExact` attributes such as `id`).
    pub fn text(expr: impl Into<String>) -> Self {
        Self::typed(expr, ColumnType::Text)
    }

    /// A column of type `ty`.
    pub fn typed(expr: impl Into<String>, ty: ColumnType) -> Self {
        Self {
            expr: expr.into(),
            ty,
            folding: Folding::None,
        }
    }

    /// A boolean column.
    pub fn boolean(expr: impl Into<String>) -> Self {
        Self::typed(expr, ColumnType::Boolean)
    }

    /// A text column with a copy folded with [`fold_case`] in `folded` (kept by the host),
    /// for case-insensitive attributes.
    #[must_use]
    pub fn folded(mut self, folded: impl Into<String>) -> Self {
        self.folding = Folding::Column(folded.into());
        self
    }

    /// Case-insensitive comparisons use SQL's `lower()` on the column: exact only when every
    /// value the host stores in it is ASCII (the host's promise; SQLite's `lower()` folds
    /// nothing else, PostgreSQL's depends on the locale).
    #[must_use]
    pub fn ascii_lowercase(mut self) -> Self {
        self.folding = Folding::AsciiLower;
        self
    }
}

/// The members of a Group kept in their own table (the store's schema).
#[derive(Debug, Clone)]
pub(crate) struct MembersTable {
    pub(crate) table: String,
}

/// Where a row's attributes live: columns, and (for the store's own schema) the JSON document
/// and the membership table.
#[derive(Debug, Clone)]
pub struct Mapping {
    row: String,
    columns: Vec<(AttrPath, Column)>,
    /// `(attributes JSON, the same JSON with strings folded)` columns.
    pub(crate) document: Option<(String, String)>,
    pub(crate) members: Option<MembersTable>,
    /// The Group resource type whose memberships make a User's `groups`, and the resources
    /// table.
    pub(crate) groups: Option<(String, String)>,
    /// Columns of the row: tenant, resource type, id, version (for the relations and meta).
    pub(crate) keys: Option<RowKeys>,
}

/// The key columns of the store's resources table.
#[derive(Debug, Clone)]
pub(crate) struct RowKeys {
    pub(crate) tenant: String,
    pub(crate) resource_type: String,
    pub(crate) id: String,
}

impl Mapping {
    /// A mapping for rows aliased `row` in the query (e.g. `u` in `FROM users u`).
    pub fn new(row: impl Into<String>) -> Self {
        Self {
            row: row.into(),
            columns: Vec::new(),
            document: None,
            members: None,
            groups: None,
            keys: None,
        }
    }

    /// Maps an attribute (as a filter names it, in schema case; URN-qualified for extension
    /// attributes; a sub-attribute for a complex one) to a column.
    #[must_use]
    pub fn column(mut self, path: AttrPath, column: Column) -> Self {
        self.columns.push((path, column));
        self
    }

    fn column_for(&self, path: &AttrPath) -> Option<&Column> {
        self.columns
            .iter()
            .find(|(p, _)| p.uri == path.uri && p.name == path.name && p.sub_attr == path.sub_attr)
            .map(|(_, c)| c)
    }
}

/// A place that holds one value, as SQL.
#[derive(Debug, Clone)]
enum Scalar {
    /// A JSON value (SQLite: JSON text; PostgreSQL: `jsonb`), and the same place in the
    /// folded document; SQL `NULL` when absent.
    Json { orig: String, folded: String },
    /// A column.
    Column(Column),
    /// Never a value.
    Absent,
}

/// The values of an attribute: one place, or one place per element of a row source.
#[derive(Debug, Clone)]
enum Values {
    /// The one value of a single-valued attribute (always [`Element::Json`]: tests take
    /// elements, and this one is handed to them as it is).
    Single(Element),
    /// `EXISTS (SELECT 1 FROM <from> WHERE <filter> AND …)`, each row one element.
    Each {
        from: String,
        filter: Option<String>,
        element: Element,
    },
}

/// One element of a multi-valued attribute.
#[derive(Debug, Clone)]
enum Element {
    /// A JSON value.
    Json(Scalar),
    /// A row whose sub-attributes are columns (`value`, `type`, `display`).
    Row(Vec<(Cow<'static, str>, Scalar)>),
}

impl Element {
    /// The sub-attribute `name` of the element.
    fn sub(&self, dialect: Dialect, name: &str) -> Scalar {
        match self {
            Element::Json(scalar) => child(dialect, scalar, name),
            Element::Row(columns) => columns
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Scalar::Absent, |(_, s)| s.clone()),
        }
    }
}

/// SQL string literal (for schema names, never for filter values).
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The member `key` of a JSON place.
fn child(dialect: Dialect, scalar: &Scalar, key: &str) -> Scalar {
    let Scalar::Json { orig, folded } = scalar else {
        return Scalar::Absent;
    };
    let path = match dialect {
        Dialect::Sqlite => quoted(&format!("$.\"{}\"", key.replace('"', "\\\""))),
        Dialect::Postgres => quoted(key),
    };
    Scalar::Json {
        orig: format!("({orig} -> {path})"),
        folded: format!("({folded} -> {path})"),
    }
}

/// Fresh aliases for row sources.
struct Aliases(std::cell::Cell<usize>);

impl Aliases {
    fn new() -> Self {
        Self(std::cell::Cell::new(0))
    }

    fn next(&self, prefix: &str) -> String {
        let n = self.0.get() + 1;
        self.0.set(n);
        format!("{prefix}{n}")
    }
}

/// The elements of a JSON array place as a row source (none when it is not an array).
fn json_elements(dialect: Dialect, array: &Scalar, alias: &str) -> Option<(String, Scalar)> {
    let Scalar::Json { orig, folded } = array else {
        return None;
    };
    Some(match dialect {
        Dialect::Sqlite => (
            format!(
                "json_each(CASE WHEN json_type({orig}) = 'array' THEN {orig} ELSE '[]' END) AS {alias}"
            ),
            Scalar::Json {
                orig: format!("({orig} -> {alias}.fullkey)"),
                folded: format!("({folded} -> {alias}.fullkey)"),
            },
        ),
        Dialect::Postgres => (
            format!(
                "jsonb_array_elements(CASE WHEN jsonb_typeof({orig}) = 'array' THEN {orig} ELSE '[]'::jsonb END) WITH ORDINALITY AS {alias}(v, n)"
            ),
            Scalar::Json {
                orig: format!("{alias}.v"),
                folded: format!("({folded} -> ({alias}.n - 1)::int)"),
            },
        ),
    })
}

/// The kind of a JSON value, as tests on the type name.
fn json_is(dialect: Dialect, json: &str, kind: &str) -> String {
    match (dialect, kind) {
        (Dialect::Sqlite, "string") => format!("json_type({json}) = 'text'"),
        (Dialect::Sqlite, "number") => format!("json_type({json}) IN ('integer', 'real')"),
        (Dialect::Sqlite, "integer") => format!("json_type({json}) = 'integer'"),
        (Dialect::Sqlite, "true") => format!("json_type({json}) = 'true'"),
        (Dialect::Sqlite, "false") => format!("json_type({json}) = 'false'"),
        (Dialect::Sqlite, "boolean") => format!("json_type({json}) IN ('true', 'false')"),
        (Dialect::Sqlite, other) => format!("json_type({json}) = '{other}'"),
        (Dialect::Postgres, "true") => format!("({json}) = 'true'::jsonb"),
        (Dialect::Postgres, "false") => format!("({json}) = 'false'::jsonb"),
        (Dialect::Postgres, "integer") => {
            format!("(jsonb_typeof({json}) = 'number' AND scale(({json} #>> '{{}}')::numeric) = 0)")
        }
        (Dialect::Postgres, other) => format!("jsonb_typeof({json}) = '{other}'"),
    }
}

/// A JSON scalar's SQL value as text / as a number.
fn json_text(dialect: Dialect, json: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("({json} ->> '$')"),
        Dialect::Postgres => format!("({json} #>> '{{}}')"),
    }
}

/// What a comparison compares: the literal, prepared.
enum Literal {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
    /// A dateTime literal, as nanoseconds since the epoch.
    InstantNanos(i64),
}

/// Compiles [`ResolvedFilter`]s over one [`Mapping`] in one [`Dialect`].
#[derive(Debug, Clone)]
pub struct FilterCompiler {
    dialect: Dialect,
    mapping: Mapping,
}

impl FilterCompiler {
    /// A compiler for `mapping` writing `dialect`.
    pub fn new(dialect: Dialect, mapping: Mapping) -> Self {
        Self { dialect, mapping }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether `condition` (a `pr`, a comparison or a value path of a resolved filter)
    /// compiles exactly.
    pub fn supports(&self, view: &ResourceTypeView, condition: &Filter) -> bool {
        let mut scratch = SqlBuilder::new(self.dialect);
        self.condition(view, condition, None, &mut scratch, &Aliases::new(), true)
            .is_ok()
    }

    /// Appends `filter` as a SQL condition over the mapping's row, for a `WHERE` clause: it
    /// is true exactly for the rows the filter matches, and false *or `NULL`* for the others
    /// (a bare `column = ?` where nothing negates it, so the database can use an index on the
    /// column). To use it as a value (a selected column, under your own `NOT`), wrap it in
    /// `COALESCE((…), FALSE)`.
    ///
    /// # Errors
    ///
    /// [`Unsupported`] when a condition cannot be compiled exactly (nothing useful is left
    /// in `out` then).
    pub fn compile(
        &self,
        view: &ResourceTypeView,
        filter: &ResolvedFilter,
        out: &mut SqlBuilder,
    ) -> Result<(), Unsupported> {
        let sql = self.condition(view, filter.filter(), None, out, &Aliases::new(), true)?;
        out.push(&sql);
        Ok(())
    }

    /// The SQL expression of the value a sort orders by, when the attribute is a single
    /// value the mapping holds (multi-valued attributes sort by their primary value, which
    /// only the engine works out).
    pub fn sort_expression(&self, view: &ResourceTypeView, sort: &ResolvedSort) -> Option<String> {
        let path = sort.path();
        let facts = view.facts(path.uri.as_deref(), &path.name, path.sub_attr.as_deref());
        let Ok(Values::Single(Element::Json(scalar))) = self.values(view, path, facts) else {
            return None;
        };
        let dialect = self.dialect;
        match scalar {
            Scalar::Absent => None,
            Scalar::Column(column) => match (column.ty, sort.case_exact(), &column.folding) {
                (ColumnType::Text, true, _) => Some(text_order(dialect, &column.expr)),
                (ColumnType::Text, false, Folding::Column(folded)) => {
                    Some(text_order(dialect, folded))
                }
                (ColumnType::Text, false, Folding::AsciiLower) => {
                    Some(text_order(dialect, &format!("lower({})", column.expr)))
                }
                (ColumnType::Text, false, Folding::None) => None,
                (ColumnType::Boolean, ..) => Some(match dialect {
                    Dialect::Sqlite => column.expr,
                    Dialect::Postgres => format!("({}::int)", column.expr),
                }),
                (ColumnType::Integer | ColumnType::Decimal | ColumnType::InstantMillis, ..) => {
                    Some(column.expr)
                }
            },
            Scalar::Json { orig, folded } => {
                let json = if sort.case_exact() { orig } else { folded };
                match sort.attr_type() {
                    AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
                        Some(format!(
                            "CASE WHEN {} THEN {} END",
                            json_is(dialect, &json, "string"),
                            text_order(dialect, &json_text(dialect, &json))
                        ))
                    }
                    AttributeType::Integer | AttributeType::Decimal => Some(match dialect {
                        Dialect::Sqlite => format!(
                            "CASE WHEN {} THEN ({json} ->> '$') END",
                            json_is(dialect, &json, "number")
                        ),
                        Dialect::Postgres => format!(
                            "CASE WHEN {} THEN ({json} #>> '{{}}')::float8 END",
                            json_is(dialect, &json, "number")
                        ),
                    }),
                    AttributeType::Boolean => Some(match dialect {
                        Dialect::Sqlite => format!(
                            "CASE WHEN {} THEN ({json} ->> '$') END",
                            json_is(dialect, &json, "boolean")
                        ),
                        Dialect::Postgres => format!(
                            "CASE WHEN {} THEN ({json} #>> '{{}}')::boolean::int END",
                            json_is(dialect, &json, "boolean")
                        ),
                    }),
                    _ => None,
                }
            }
        }
    }

    /// Compiles one filter node; `outer` is the value path's element, inside one.
    fn condition(
        &self,
        view: &ResourceTypeView,
        filter: &Filter,
        outer: Option<(&AttrPath, &Element)>,
        out: &mut SqlBuilder,
        aliases: &Aliases,
        positive: bool,
    ) -> Result<String, Unsupported> {
        match filter {
            Filter::And(a, b) => Ok(format!(
                "({}) AND ({})",
                self.condition(view, a, outer, out, aliases, positive)?,
                self.condition(view, b, outer, out, aliases, positive)?
            )),
            Filter::Or(a, b) => Ok(format!(
                "({}) OR ({})",
                self.condition(view, a, outer, out, aliases, positive)?,
                self.condition(view, b, outer, out, aliases, positive)?
            )),
            Filter::Not(inner) => Ok(format!(
                "NOT ({})",
                // Under NOT, an unknown (NULL) must be false: every test below is null-safe.
                self.condition(view, inner, outer, out, aliases, false)?
            )),
            Filter::Present(path) => {
                let (values, _) = self.values_at(view, path, outer)?;
                self.any(&values, positive, |element| {
                    Ok(self.present_element(element, aliases))
                })
            }
            Filter::Compare { path, op, value } => {
                // A complex value compares through its `value` sub-attribute (as the
                // evaluator); `eq null` / `ne null` look at the values themselves.
                let whole = view.facts(path.uri.as_deref(), &path.name, None);
                let through_value = outer.is_none()
                    && path.sub_attr.is_none()
                    && whole.attr_type == Some(AttrType::Complex)
                    && !matches!(value, CompValue::Null);
                let path = if through_value {
                    Cow::Owned(path.clone().with_sub_attr("value"))
                } else {
                    Cow::Borrowed(path)
                };
                let (values, facts) = self.values_at(view, &path, outer)?;
                self.compare(&values, facts, *op, value, out, positive)
            }
            Filter::ValuePath { path, filter } => {
                if outer.is_some() {
                    return unsupported("a value path inside a value path");
                }
                let facts = view.facts(path.uri.as_deref(), &path.name, None);
                let values = self.values(view, path, facts)?;
                self.any_element(&values, aliases, |element, aliases| {
                    // The element's WHERE (or COALESCE) turns an unknown into false.
                    self.condition(view, filter, Some((path, element)), out, aliases, true)
                })
            }
            // Entra ID's `emails[type eq "work"].value eq "x"` (the engine's resolution
            // rewrites it already): the value path with both conditions on one element.
            Filter::ElementTest { .. } => match filter.as_value_path() {
                Some(rfc) => self.condition(view, &rfc, outer, out, aliases, positive),
                None => unsupported("an element test"),
            },
        }
    }

    /// The values a path names, at the root or inside a value path's element, with the
    /// facts that govern comparisons.
    fn values_at(
        &self,
        view: &ResourceTypeView,
        path: &AttrPath,
        outer: Option<(&AttrPath, &Element)>,
    ) -> Result<(Values, AttrFacts), Unsupported> {
        let Some((outer_path, element)) = outer else {
            let facts = comparison_facts(view, path);
            return Ok((self.values(view, path, facts)?, facts));
        };
        if path.sub_attr.is_some() || path.uri.is_some() {
            return unsupported("a sub-attribute path inside a value path");
        }
        let outer_facts = view.facts(outer_path.uri.as_deref(), &outer_path.name, None);
        let facts = view.facts(
            outer_path.uri.as_deref(),
            &outer_path.name,
            Some(&path.name),
        );
        let scalar = match (outer_facts.attr_type, element) {
            // The element of a multi-valued attribute of simple values is its own `value`.
            (Some(t), Element::Json(scalar)) if t != AttrType::Complex => {
                if path.name == "value" {
                    scalar.clone()
                } else {
                    Scalar::Absent
                }
            }
            _ => element.sub(self.dialect, &path.name),
        };
        let facts = match (outer_facts.attr_type, facts.attr_type) {
            (Some(t), _) if t != AttrType::Complex && path.name == "value" => outer_facts,
            _ => facts,
        };
        if facts.attr_type.is_none() {
            return unsupported(format!("`{}` has no type in the schema", path.name));
        }
        Ok((Values::Single(Element::Json(scalar)), facts))
    }

    /// The values of a root path.
    fn values(
        &self,
        view: &ResourceTypeView,
        path: &AttrPath,
        facts: AttrFacts,
    ) -> Result<Values, Unsupported> {
        let dialect = self.dialect;
        if let Some(column) = self.mapping.column_for(path) {
            return Ok(Values::Single(Element::Json(Scalar::Column(
                column.clone(),
            ))));
        }
        let whole = view.facts(path.uri.as_deref(), &path.name, None);
        if let Some(element) = self.row_element(path, whole) {
            return Ok(element);
        }
        if path.uri.is_none() && path.name == "members" && view.has_members() {
            if let (Some(members), Some(keys)) = (&self.mapping.members, &self.mapping.keys) {
                return Ok(self.members_values(members, keys, path));
            }
        }
        if path.uri.is_none() && path.name == "groups" && view.derives_groups() {
            if let (Some((group_type, resources)), Some(members), Some(keys)) = (
                &self.mapping.groups,
                &self.mapping.members,
                &self.mapping.keys,
            ) {
                return Ok(self.groups_values(members, group_type, resources, keys, path));
            }
        }
        if path.uri.is_none() && path.name == "meta" {
            return self.meta_values(path);
        }
        let Some((body, folded)) = &self.mapping.document else {
            return unsupported(format!("no column holds `{path}`"));
        };
        if whole.attr_type.is_none() || (facts.attr_type.is_none() && path.sub_attr.is_some()) {
            return unsupported(format!("`{path}` is not an attribute of the schema"));
        }
        if facts.attr_type == Some(AttrType::DateTime) {
            return unsupported(format!("`{path}` is a dateTime inside the document"));
        }
        let root = Scalar::Json {
            orig: body.clone(),
            folded: folded.clone(),
        };
        let holder = match &path.uri {
            Some(uri) => child(dialect, &root, uri),
            None => root,
        };
        let attribute = child(dialect, &holder, &path.name);
        let multi = whole.multi_valued == Some(true);
        let complex = whole.attr_type == Some(AttrType::Complex);
        match (multi, &path.sub_attr) {
            (false, None) => Ok(Values::Single(Element::Json(attribute))),
            (false, Some(sub)) => Ok(Values::Single(Element::Json(child(
                dialect, &attribute, sub,
            )))),
            (true, sub) => {
                let alias = format!("e_{}", sanitize(&path.name));
                let (from, element) = json_elements(dialect, &attribute, &alias)
                    .ok_or_else(|| Unsupported("not a JSON place".into()))?;
                let element = match (sub, complex) {
                    (Some(sub), _) => Element::Json(child(dialect, &element, sub)),
                    (None, _) => Element::Json(element),
                };
                Ok(Values::Each {
                    from,
                    filter: None,
                    element,
                })
            }
        }
    }

    /// A complex attribute whose sub-attributes the host maps to columns of its row (e.g.
    /// `emails.value` → `u.email`): the row holds at most one element, which exists when one
    /// of those columns is not `NULL` (as the host renders it).
    fn row_element(&self, path: &AttrPath, whole: AttrFacts) -> Option<Values> {
        if path.sub_attr.is_some() || whole.attr_type != Some(AttrType::Complex) {
            return None;
        }
        let columns: Vec<(Cow<'static, str>, Scalar)> = self
            .mapping
            .columns
            .iter()
            .filter(|(p, _)| p.uri == path.uri && p.name == path.name)
            .filter_map(|(p, c)| {
                let sub = p.sub_attr.clone()?;
                Some((Cow::Owned(sub), Scalar::Column(c.clone())))
            })
            .collect();
        if columns.is_empty() {
            return None;
        }
        let exists: Vec<String> = columns
            .iter()
            .filter_map(|(_, scalar)| match scalar {
                Scalar::Column(c) => Some(format!("{} IS NOT NULL", c.expr)),
                _ => None,
            })
            .collect();
        Some(Values::Each {
            from: format!("(SELECT 1) AS r_{}", sanitize(&path.name)),
            filter: Some(format!("({})", exists.join(" OR "))),
            element: Element::Row(columns),
        })
    }

    /// `members` of a Group, from the membership table.
    fn members_values(&self, members: &MembersTable, keys: &RowKeys, path: &AttrPath) -> Values {
        let alias = "m_members";
        let row = &self.mapping.row;
        let column = |name: &str, folded: Option<&str>| {
            let column = Column::text(format!("{alias}.{name}"));
            Scalar::Column(match folded {
                Some(f) => column.folded(format!("{alias}.{f}")),
                None => column,
            })
        };
        let columns = vec![
            ("value".into(), column("member", None)),
            (
                "type".into(),
                column("member_type", Some("member_type_folded")),
            ),
            ("display".into(), column("display", Some("display_folded"))),
        ];
        let element = Element::Row(columns);
        let element = match &path.sub_attr {
            Some(sub) => Element::Json(element.sub(self.dialect, sub)),
            None => element,
        };
        Values::Each {
            from: format!("{} {alias}", members.table),
            filter: Some(format!(
                "{alias}.tenant = {row}.{} AND {alias}.resource_type = {row}.{} AND {alias}.group_id = {row}.{}",
                keys.tenant, keys.resource_type, keys.id
            )),
            element,
        }
    }

    /// A User's derived `groups`: memberships in the Group type, with each Group's current
    /// `displayName`.
    fn groups_values(
        &self,
        members: &MembersTable,
        group_type: &str,
        resources: &str,
        keys: &RowKeys,
        path: &AttrPath,
    ) -> Values {
        let (m, g) = ("m_groups", "g_groups");
        let row = &self.mapping.row;
        let direct = Scalar::Column(Column::text("'direct'").folded("'direct'"));
        let columns = vec![
            (
                "value".into(),
                Scalar::Column(Column::text(format!("{m}.group_id"))),
            ),
            (
                "display".into(),
                Scalar::Column(
                    Column::text(format!("{g}.display_name"))
                        .folded(format!("{g}.display_name_folded")),
                ),
            ),
            ("type".into(), direct),
        ];
        let element = Element::Row(columns);
        let element = match &path.sub_attr {
            Some(sub) => Element::Json(element.sub(self.dialect, sub)),
            None => element,
        };
        Values::Each {
            from: format!(
                "{} {m} JOIN {resources} {g} ON {g}.{t} = {m}.tenant AND {g}.{rt} = {m}.resource_type AND {g}.{id} = {m}.group_id",
                members.table,
                t = keys.tenant,
                rt = keys.resource_type,
                id = keys.id
            ),
            filter: Some(format!(
                "{m}.tenant = {row}.{} AND {m}.resource_type = {} AND {m}.member = {row}.{}",
                keys.tenant,
                quoted(group_type),
                keys.id
            )),
            element,
        }
    }

    /// `meta` sub-attributes from the row's columns (`created`, `lastModified` as instants;
    /// `resourceType`, `version` and `location` are worked out by the engine).
    fn meta_values(&self, path: &AttrPath) -> Result<Values, Unsupported> {
        let column = |name: &str| {
            self.mapping
                .column_for(&AttrPath::new("meta").with_sub_attr(name))
                .cloned()
        };
        match path.sub_attr.as_deref() {
            Some(sub @ ("created" | "lastModified")) => match column(sub) {
                Some(c) => Ok(Values::Single(Element::Json(Scalar::Column(c)))),
                None => unsupported(format!("no column holds `meta.{sub}`")),
            },
            _ => unsupported(format!("`{path}` is rendered by the engine")),
        }
    }

    /// `EXISTS` some value with `test`, or `test` of the single place (never `NULL`).
    fn any(
        &self,
        values: &Values,
        positive: bool,
        test: impl FnOnce(&Element) -> Result<String, Unsupported>,
    ) -> Result<String, Unsupported> {
        match values {
            // Where an unknown counts as false (a WHERE clause reached through AND and OR
            // only), the bare test lets the database use an index on the column.
            Values::Single(element) if positive => {
                let sql = test(element)?;
                Ok(["(", &sql, ")"].concat())
            }
            Values::Single(element) => {
                let sql = test(element)?;
                Ok(format!("COALESCE(({sql}), {})", self.dialect.false_()))
            }
            Values::Each {
                from,
                filter,
                element,
            } => {
                let sql = test(element)?;
                Ok(match filter {
                    Some(f) => format!(
                        "EXISTS (SELECT 1 FROM {from} WHERE {f} AND COALESCE(({sql}), {}))",
                        self.dialect.false_()
                    ),
                    None => format!(
                        "EXISTS (SELECT 1 FROM {from} WHERE COALESCE(({sql}), {}))",
                        self.dialect.false_()
                    ),
                })
            }
        }
    }

    /// `EXISTS` an element (of a value path) with `test`.
    fn any_element(
        &self,
        values: &Values,
        aliases: &Aliases,
        test: impl FnOnce(&Element, &Aliases) -> Result<String, Unsupported>,
    ) -> Result<String, Unsupported> {
        match values {
            Values::Single(element) => {
                // A single-valued complex attribute: its object is the one element.
                let object = match element {
                    Element::Json(Scalar::Json { orig, .. }) => {
                        json_is(self.dialect, orig, "object")
                    }
                    _ => return unsupported("a value path on a column"),
                };
                let sql = test(element, aliases)?;
                Ok(format!(
                    "COALESCE(({object} AND ({sql})), {})",
                    self.dialect.false_()
                ))
            }
            Values::Each {
                from,
                filter,
                element,
            } => {
                let sql = test(element, aliases)?;
                Ok(match filter {
                    Some(f) => format!("EXISTS (SELECT 1 FROM {from} WHERE {f} AND ({sql}))"),
                    None => format!("EXISTS (SELECT 1 FROM {from} WHERE ({sql}))"),
                })
            }
        }
    }

    /// `pr` of one value (RFC 7644 §3.4.2.2): not `null`, `""`, `[]`, or an object without a
    /// present member.
    fn present_element(&self, element: &Element, aliases: &Aliases) -> String {
        match element {
            Element::Row(columns) => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|(_, s)| self.present_scalar(s, aliases, 2))
                    .collect();
                format!("({})", parts.join(" OR "))
            }
            Element::Json(scalar) => self.present_scalar(scalar, aliases, 2),
        }
    }

    fn present_scalar(&self, scalar: &Scalar, aliases: &Aliases, depth: u8) -> String {
        let dialect = self.dialect;
        match scalar {
            Scalar::Absent => dialect.false_().to_owned(),
            Scalar::Column(column) => match column.ty {
                ColumnType::Text => format!(
                    "COALESCE({e} <> '', {f})",
                    e = column.expr,
                    f = dialect.false_()
                ),
                _ => format!("({} IS NOT NULL)", column.expr),
            },
            Scalar::Json { orig, .. } => {
                let text = json_text(dialect, orig);
                let mut parts = vec![
                    json_is(dialect, orig, "number"),
                    json_is(dialect, orig, "boolean"),
                    format!("({} AND {text} <> '')", json_is(dialect, orig, "string")),
                ];
                if depth > 0 {
                    let alias = aliases.next("p");
                    if let Some((from, element)) = json_elements(dialect, scalar, &alias) {
                        let inner = self.present_scalar(&element, aliases, depth - 1);
                        parts.push(format!(
                            "EXISTS (SELECT 1 FROM {from} WHERE COALESCE(({inner}), {}))",
                            dialect.false_()
                        ));
                    }
                    let alias = aliases.next("o");
                    let (from, member) = json_members(dialect, orig, &alias);
                    let inner = self.present_scalar(&member, aliases, depth - 1);
                    parts.push(format!(
                        "EXISTS (SELECT 1 FROM {from} WHERE COALESCE(({inner}), {}))",
                        dialect.false_()
                    ));
                }
                format!("({})", parts.join(" OR "))
            }
        }
    }

    /// A comparison (RFC 7644 §3.4.2.2) over the values.
    fn compare(
        &self,
        values: &Values,
        facts: AttrFacts,
        op: CompareOp,
        value: &CompValue,
        out: &mut SqlBuilder,
        positive: bool,
    ) -> Result<String, Unsupported> {
        let dialect = self.dialect;
        if let CompValue::Null = value {
            return Ok(match op {
                CompareOp::Ne => self.any(values, positive, |e| Ok(self.has_value(e)))?,
                _ => format!(
                    "NOT ({})",
                    self.any(values, false, |e| Ok(self.has_value(e)))?
                ),
            });
        }
        let attr_type = facts
            .attr_type
            .ok_or_else(|| Unsupported("an attribute without a type".into()))?;
        let case_exact = facts.case_exact || attr_type == AttrType::Binary;
        if matches!(value, CompValue::String(s) if s.contains('\0')) {
            // Databases cannot bind U+0000 (PostgreSQL) or stop at it (SQLite's length()).
            return unsupported("a literal containing U+0000");
        }
        let literal = match (attr_type, value) {
            (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(s)) => {
                Literal::Text(if case_exact { s.clone() } else { fold_case(s) })
            }
            (AttrType::DateTime, CompValue::String(s)) => {
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    return unsupported("a substring test on a dateTime");
                }
                match scim_filter::parse_date_time(s) {
                    Some(t) => Literal::InstantNanos(nanos(t)?),
                    None => return unsupported("a dateTime literal that is no instant"),
                }
            }
            (AttrType::Integer | AttrType::Decimal, CompValue::Number(n)) => {
                Literal::Number(n.clone())
            }
            (AttrType::Boolean, CompValue::Bool(b)) => Literal::Bool(*b),
            (AttrType::Complex, _) => return unsupported("a comparison on a complex value"),
            // A literal of another type never matches (the evaluator compares kinds first).
            _ => return Ok(dialect.false_().to_owned()),
        };
        let mut test = |element: &Element, op: CompareOp| -> Result<String, Unsupported> {
            let scalar = match element {
                // A complex value compares through its `value` sub-attribute.
                Element::Row(_) => Cow::Owned(element.sub(dialect, "value")),
                Element::Json(s) => Cow::Borrowed(s),
            };
            self.test(&scalar, op, &literal, case_exact, out)
        };
        if op == CompareOp::Ne {
            let comparable = self.any(values, positive, |e| test(e, CompareOp::Ne))?;
            let equal = self.any(values, false, |e| test(e, CompareOp::Eq))?;
            return Ok(format!("({comparable}) AND NOT ({equal})"));
        }
        self.any(values, positive, |e| test(e, op))
    }

    /// Whether one value is not `null` (for `eq null` / `ne null`).
    fn has_value(&self, element: &Element) -> String {
        match element {
            Element::Row(_) => self.dialect.true_().to_owned(),
            Element::Json(Scalar::Absent) => self.dialect.false_().to_owned(),
            Element::Json(Scalar::Column(c)) => format!("({} IS NOT NULL)", c.expr),
            Element::Json(Scalar::Json { orig, .. }) => format!(
                "({orig} IS NOT NULL AND NOT ({}))",
                json_is(self.dialect, orig, "null")
            ),
        }
    }

    /// One value against the literal. For `ne` it answers whether the value can be compared
    /// (the caller combines it with "no value is equal").
    fn test(
        &self,
        scalar: &Scalar,
        op: CompareOp,
        literal: &Literal,
        case_exact: bool,
        out: &mut SqlBuilder,
    ) -> Result<String, Unsupported> {
        let dialect = self.dialect;
        let (kind_test, value) = match scalar {
            Scalar::Absent => return Ok(dialect.false_().to_owned()),
            Scalar::Json { orig, folded } => {
                let json = if case_exact || !matches!(literal, Literal::Text(_)) {
                    orig
                } else {
                    folded
                };
                let kind = match literal {
                    Literal::Text(_) => "string",
                    Literal::Number(_) => "number",
                    Literal::Bool(_) => "boolean",
                    Literal::InstantNanos(_) => {
                        return unsupported("a dateTime inside the document");
                    }
                };
                let value = match literal {
                    Literal::Number(_) => match dialect {
                        Dialect::Sqlite => format!("({json} ->> '$')"),
                        Dialect::Postgres => format!("({json} #>> '{{}}')::numeric"),
                    },
                    _ => json_text(dialect, json),
                };
                (json_is(dialect, json, kind), Cow::Owned(value))
            }
            Scalar::Column(column) => {
                let matching = matches!(
                    (column.ty, literal),
                    (ColumnType::Text, Literal::Text(_))
                        | (ColumnType::Boolean, Literal::Bool(_))
                        | (
                            ColumnType::Integer | ColumnType::Decimal,
                            Literal::Number(_)
                        )
                        | (ColumnType::InstantMillis, Literal::InstantNanos(_))
                );
                if !matching {
                    return Ok(dialect.false_().to_owned());
                }
                let value = match (column.ty, case_exact, &column.folding) {
                    (ColumnType::Text, false, Folding::Column(f)) => Cow::Borrowed(f.as_str()),
                    (ColumnType::Text, false, Folding::AsciiLower) => {
                        Cow::Owned(format!("lower({})", column.expr))
                    }
                    (ColumnType::Text, false, Folding::None) => {
                        return unsupported(format!(
                            "`{}` has no folded copy for a case-insensitive comparison",
                            column.expr
                        ));
                    }
                    (ColumnType::InstantMillis, ..) => {
                        Cow::Owned(format!("(({}) * 1000000)", column.expr))
                    }
                    _ => Cow::Borrowed(column.expr.as_str()),
                };
                ([column.expr.as_str(), " IS NOT NULL"].concat(), value)
            }
        };
        let sql = match literal {
            _ if op == CompareOp::Ne => kind_test,
            Literal::Bool(b) => {
                if !matches!(op, CompareOp::Eq) {
                    return unsupported("an ordering on booleans");
                }
                match scalar {
                    Scalar::Json { orig, .. } => {
                        json_is(dialect, orig, if *b { "true" } else { "false" })
                    }
                    _ => {
                        let p = out.placeholder(Param::Bool(*b));
                        format!("{kind_test} AND {value} = {p}")
                    }
                }
            }
            Literal::Number(n) => {
                let sql_op = sql_op(op)?;
                let numeric = match dialect {
                    Dialect::Postgres => "::numeric",
                    Dialect::Sqlite => "",
                };
                // Integers compare exactly, everything else as doubles (as the evaluator).
                match n.as_i64() {
                    Some(i) => {
                        let p = out.placeholder(Param::Int(i));
                        let f = out.placeholder(Param::Real(i as f64));
                        let real = match (dialect, scalar) {
                            (Dialect::Postgres, Scalar::Json { orig, .. }) => {
                                format!("({orig} #>> '{{}}')::float8")
                            }
                            _ => value.to_string(),
                        };
                        let integer = match scalar {
                            Scalar::Json { orig, .. } => json_is(dialect, orig, "integer"),
                            Scalar::Column(c) if c.ty == ColumnType::Integer => {
                                dialect.true_().to_owned()
                            }
                            _ => dialect.false_().to_owned(),
                        };
                        format!(
                            "{kind_test} AND CASE WHEN {integer} THEN {value} {sql_op} {p}{numeric} ELSE {real} {sql_op} {f} END"
                        )
                    }
                    None => {
                        let f = n
                            .as_f64()
                            .ok_or_else(|| Unsupported("a number out of range".into()))?;
                        let p = out.placeholder(Param::Real(f));
                        let real = match (dialect, scalar) {
                            (Dialect::Postgres, Scalar::Json { orig, .. }) => {
                                format!("({orig} #>> '{{}}')::float8")
                            }
                            (Dialect::Postgres, _) => format!("({value})::float8"),
                            _ => value.to_string(),
                        };
                        format!("{kind_test} AND {real} {sql_op} {p}")
                    }
                }
            }
            Literal::InstantNanos(t) => {
                let p = out.placeholder(Param::Int(*t));
                format!("{kind_test} AND {value} {} {p}", sql_op(op)?)
            }
            Literal::Text(text) => match op {
                CompareOp::Eq => {
                    let p = out.placeholder(Param::Text(text.clone()));
                    [kind_test.as_str(), " AND ", &value, " = ", &p].concat()
                }
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                    let p = out.placeholder(Param::Text(text.clone()));
                    let collated = match dialect {
                        Dialect::Postgres => " COLLATE \"C\"",
                        Dialect::Sqlite => "",
                    };
                    format!("{kind_test} AND {value}{collated} {} {p}", sql_op(op)?)
                }
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew if text.is_empty() => kind_test,
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => match dialect {
                    Dialect::Sqlite => {
                        let p = out.placeholder(Param::Text(text.clone()));
                        let test = match op {
                            CompareOp::Co => format!("instr({value}, {p}) > 0"),
                            CompareOp::Sw => format!("substr({value}, 1, length({p})) = {p}"),
                            _ => format!("substr({value}, -length({p})) = {p}"),
                        };
                        format!("{kind_test} AND {test}")
                    }
                    Dialect::Postgres => {
                        let escaped = like_escape(text);
                        let pattern = match op {
                            CompareOp::Co => format!("%{escaped}%"),
                            CompareOp::Sw => format!("{escaped}%"),
                            _ => format!("%{escaped}"),
                        };
                        let p = out.placeholder(Param::Text(pattern));
                        format!("{kind_test} AND {value} LIKE {p} ESCAPE '\\'")
                    }
                },
                CompareOp::Ne => kind_test,
            },
        };
        Ok(sql)
    }
}

fn sql_op(op: CompareOp) -> Result<&'static str, Unsupported> {
    Ok(match op {
        CompareOp::Eq => "=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        other => return unsupported(format!("`{}` on numbers or instants", other.as_str())),
    })
}

/// `\`, `%` and `_` escaped for `LIKE … ESCAPE '\'`.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn nanos(t: DateTime<FixedOffset>) -> Result<i64, Unsupported> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| Unsupported("an instant out of range".into()))
}

/// A text expression ordered by code point.
fn text_order(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Sqlite => expr.to_owned(),
        Dialect::Postgres => format!("({expr}) COLLATE \"C\""),
    }
}

/// The members of a JSON object place as a row source.
fn json_members(dialect: Dialect, json: &str, alias: &str) -> (String, Scalar) {
    match dialect {
        Dialect::Sqlite => (
            format!(
                "json_each(CASE WHEN json_type({json}) = 'object' THEN {json} ELSE '{{}}' END) AS {alias}"
            ),
            Scalar::Json {
                orig: format!("({json} -> {alias}.fullkey)"),
                folded: format!("({json} -> {alias}.fullkey)"),
            },
        ),
        Dialect::Postgres => (
            format!(
                "jsonb_each(CASE WHEN jsonb_typeof({json}) = 'object' THEN {json} ELSE '{{}}'::jsonb END) AS {alias}(k, v)"
            ),
            Scalar::Json {
                orig: format!("{alias}.v"),
                folded: format!("{alias}.v"),
            },
        ),
    }
}

fn sanitize(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// The facts a comparison on `path` uses: a complex attribute without a sub-attribute
/// compares through its `value` (as the evaluator).
fn comparison_facts(view: &ResourceTypeView, path: &AttrPath) -> AttrFacts {
    let facts = view.facts(path.uri.as_deref(), &path.name, path.sub_attr.as_deref());
    if path.sub_attr.is_none() && facts.attr_type == Some(AttrType::Complex) {
        view.facts(path.uri.as_deref(), &path.name, Some("value"))
    } else {
        facts
    }
}

/// [`fold_document`] of an attribute object, written straight to compact JSON text (the
/// same text as `fold_document(…).to_string()`, without building the folded tree).
pub fn fold_document_text(attributes: &Map<String, Value>) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::String(s) => write_str(fold_case(s), out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => write_object(map, out),
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    fn write_object(map: &Map<String, Value>, out: &mut String) {
        out.push('{');
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(key.clone(), out);
            out.push(':');
            write(value, out);
        }
        out.push('}');
    }
    fn write_str(s: String, out: &mut String) {
        // serde_json's own escaping, so the text is exactly what it would print.
        out.push_str(&Value::String(s).to_string());
    }
    let mut out = String::with_capacity(256);
    write_object(attributes, &mut out);
    out
}

/// A JSON document with every string (not the keys) folded with [`fold_case`]: the store
/// keeps it beside the document, for case-insensitive comparisons and sorts.
pub fn fold_document(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(fold_case(s)),
        Value::Array(items) => Value::Array(items.iter().map(fold_document).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), fold_document(v));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod fold_tests {
    use super::{fold_document, fold_document_text};
    use serde_json::{Value, json};

    /// The direct writer prints exactly what the folded tree prints.
    #[test]
    fn folded_text_equals_the_folded_tree_printed() {
        let documents = [
            json!({}),
            json!({"userName": "BJensen", "active": true, "n": 1.5, "x": null, "big": 12345678901234_i64}),
            json!({"name": {"givenName": "ÉLODIE", "familyName": "ΟΔΟΣ"}, "emails": [{"value": "A@B.c", "primary": true}, {"value": "q\"uote\\ \u{1}"}]}),
            json!({"urn:x:Ext": {"Key": ["A", "b", ["C", {"D": "E"}]]}, "tab": "a\tb\nc", "emoji": "😀X"}),
        ];
        for document in documents {
            let Value::Object(map) = &document else {
                unreachable!()
            };
            assert_eq!(
                fold_document_text(map),
                fold_document(&document).to_string(),
                "{document}"
            );
        }
    }
}

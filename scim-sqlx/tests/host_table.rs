//! The public compiler over a host's own table (the crate docs' example):
//! `users(id, tenant_id, user_name, email, given_name, family_name, active)`. Every filter
//! the mapping serves selects, on both databases, exactly the rows whose SCIM form the
//! in-memory evaluator matches, and never a row of another tenant.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::schema::SchemaRegistry;
use scim_core::store::ResolvedFilter;
use scim_filter::AttrPath;
use scim_sqlx::compile::{Column, Dialect, FilterCompiler, Mapping, Param, SqlBuilder};
use serde_json::{Value, json};

/// (id, tenant, user_name, email, given_name, family_name, active)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    bool,
);

const ROWS: &[Row] = &[
    (
        "1",
        "acme",
        "bjensen",
        Some("bjensen@example.com"),
        Some("Barbara"),
        Some("Jensen"),
        true,
    ),
    (
        "2",
        "acme",
        "jsmith",
        Some("jsmith@example.org"),
        Some("John"),
        Some("Smith"),
        false,
    ),
    ("3", "acme", "mmoore", None, None, Some("Moore"), true),
    (
        "4",
        "acme",
        "kjones",
        Some("kj@example.com"),
        Some("Kim"),
        Some("Jones"),
        true,
    ),
    (
        "5",
        "acme",
        "a_b%",
        Some("a_b%@example.com"),
        Some("Ann"),
        Some("O'Neil"),
        false,
    ),
    ("6", "acme", "empty", Some(""), Some(""), None, true),
    // Another tenant with look-alikes: a filter must never reach these.
    (
        "7",
        "other",
        "bjensen",
        Some("bjensen@example.com"),
        Some("Barbara"),
        Some("Jensen"),
        true,
    ),
    (
        "8",
        "other",
        "zed",
        Some("zed@example.org"),
        Some("Zed"),
        Some("Jones"),
        false,
    ),
];

const FILTERS: &[&str] = &[
    r#"userName eq "BJensen""#,
    r#"userName eq "bjensen" and (active eq true or name.familyName sw "J")"#,
    r#"userName eq "nobody" or active eq false"#,
    r#"emails.value ew "@EXAMPLE.com""#,
    r#"emails[value co "exam"]"#,
    r#"emails[value co "_b%"]"#,
    r#"emails pr"#,
    r#"emails.value pr"#,
    r#"not (active eq true)"#,
    r#"not (name.givenName sw "b")"#,
    r#"name.givenName pr"#,
    r#"name.familyName gt "K""#,
    r#"name.familyName le "jones""#,
    r#"name.familyName co "'""#,
    r#"userName ne "bjensen""#,
    r#"emails.value ne "kj@example.com""#,
    r#"userName sw "A_" and active ne true"#,
    r#"id eq "3" or id eq "7""#,
    r#"active pr and not (userName co "o")"#,
];

fn mapping() -> Mapping {
    Mapping::new("u")
        .column(AttrPath::new("id"), Column::text("u.id"))
        .column(
            AttrPath::new("userName"),
            Column::text("u.user_name").ascii_lowercase(),
        )
        .column(
            AttrPath::new("emails").with_sub_attr("value"),
            Column::text("u.email").ascii_lowercase(),
        )
        .column(
            AttrPath::new("name").with_sub_attr("givenName"),
            Column::text("u.given_name").ascii_lowercase(),
        )
        .column(
            AttrPath::new("name").with_sub_attr("familyName"),
            Column::text("u.family_name").ascii_lowercase(),
        )
        .column(AttrPath::new("active"), Column::boolean("u.active"))
}

/// The SCIM form of a row, as the host would render it.
fn scim_user(row: &Row) -> Value {
    let (id, _, user_name, email, given, family, active) = *row;
    let mut user = json!({"id": id, "userName": user_name, "active": active});
    if let Some(email) = email {
        user["emails"] = json!([{ "value": email }]);
    }
    let mut name = serde_json::Map::new();
    if let Some(given) = given {
        name.insert("givenName".into(), json!(given));
    }
    if let Some(family) = family {
        name.insert("familyName".into(), json!(family));
    }
    if !name.is_empty() {
        user["name"] = Value::Object(name);
    }
    user
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

const CREATE: &str = "CREATE TABLE users (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, \
    user_name TEXT NOT NULL, email TEXT, given_name TEXT, family_name TEXT, active BOOLEAN NOT NULL)";

impl Db {
    fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn setup(&self) {
        let insert = match self {
            Db::Sqlite(_) => "INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            Db::Postgres(_) => "INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6, $7)",
        };
        match self {
            Db::Sqlite(pool) => {
                sqlx::query(CREATE).execute(pool).await.unwrap();
                for r in ROWS {
                    sqlx::query(insert)
                        .bind(r.0)
                        .bind(r.1)
                        .bind(r.2)
                        .bind(r.3)
                        .bind(r.4)
                        .bind(r.5)
                        .bind(r.6)
                        .execute(pool)
                        .await
                        .unwrap();
                }
            }
            Db::Postgres(pool) => {
                sqlx::query(CREATE).execute(pool).await.unwrap();
                for r in ROWS {
                    sqlx::query(insert)
                        .bind(r.0)
                        .bind(r.1)
                        .bind(r.2)
                        .bind(r.3)
                        .bind(r.4)
                        .bind(r.5)
                        .bind(r.6)
                        .execute(pool)
                        .await
                        .unwrap();
                }
            }
        }
    }

    async fn ids(&self, sql: &str, params: &[Param]) -> Vec<String> {
        let mut ids: Vec<String> = match self {
            Db::Sqlite(pool) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for param in params {
                    query = match param {
                        Param::Text(s) => query.bind(s.clone()),
                        Param::Int(i) => query.bind(*i),
                        Param::Real(f) => query.bind(*f),
                        Param::Bool(b) => query.bind(*b),
                        other => panic!("unexpected parameter {other:?}"),
                    };
                }
                query.fetch_all(pool).await.unwrap()
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for param in params {
                    query = match param {
                        Param::Text(s) => query.bind(s.clone()),
                        Param::Int(i) => query.bind(*i),
                        Param::Real(f) => query.bind(*f),
                        Param::Bool(b) => query.bind(*b),
                        other => panic!("unexpected parameter {other:?}"),
                    };
                }
                query.fetch_all(pool).await.unwrap()
            }
        };
        ids.sort();
        ids
    }
}

async fn run(db: Db) {
    db.setup().await;
    let registry = SchemaRegistry::default();
    let users = registry.resource_type("User").unwrap();
    let compiler = FilterCompiler::new(db.dialect(), mapping());
    let mut served = 0;
    for text in FILTERS {
        let filter =
            ResolvedFilter::resolve(&scim_filter::parse_filter(text).unwrap(), users).unwrap();
        assert!(
            compiler.supports(users, filter.filter()),
            "{text}: the mapping covers every attribute it names"
        );
        let mut sql = SqlBuilder::new(db.dialect());
        sql.push("SELECT u.id FROM users u WHERE u.tenant_id = ");
        sql.push_param(Param::Text("acme".into()));
        sql.push(" AND (");
        compiler.compile(users, &filter, &mut sql).unwrap();
        sql.push(")");
        let found = db.ids(sql.text(), sql.params()).await;
        let mut expected: Vec<String> = ROWS
            .iter()
            .filter(|r| r.1 == "acme" && filter.matches(&scim_user(r), users))
            .map(|r| r.0.to_owned())
            .collect();
        expected.sort();
        assert_eq!(found, expected, "{text}\n{}", sql.text());
        served += 1;
    }
    assert_eq!(served, FILTERS.len());
    // An attribute without a column is reported, so the host evaluates it in Rust.
    let title = ResolvedFilter::resolve(
        &scim_filter::parse_filter(r#"title eq "x""#).unwrap(),
        users,
    )
    .unwrap();
    assert!(!compiler.supports(users, title.filter()));
    let mut sql = SqlBuilder::new(db.dialect());
    assert!(compiler.compile(users, &title, &mut sql).is_err());
}

#[tokio::test]
async fn sqlite_host_table() {
    let url = format!("{}?mode=rwc", common::sqlite_url());
    run(Db::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap())).await;
}

#[tokio::test]
async fn postgres_host_table() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    let url = common::postgres_url(&server).await;
    run(Db::Postgres(sqlx::PgPool::connect(&url).await.unwrap())).await;
}

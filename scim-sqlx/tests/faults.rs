//! Faults: when the pool is exhausted or the database is unreachable, requests answer 503
//! with `Retry-After` within a bounded time (no hang), and the store recovers by itself when
//! the database is back (RFC 7644 §3.12).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::{InsecureNoAuthentication, Method, NoSessionsToRevoke, ScimEngine, ScimRequest};
use scim_sqlx::{Options, SqlStore};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How long a request may wait for a connection in these tests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(800);
/// The bound on a failing request: the acquire timeout plus generous slack for a busy machine.
const FAILURE_BOUND: Duration = Duration::from_secs(10);

fn engine(store: SqlStore) -> ScimEngine {
    ScimEngine::builder(store)
        .authenticator(InsecureNoAuthentication::for_tenant("t"))
        .revoker(NoSessionsToRevoke)
        .build()
        .unwrap()
}

fn options() -> Options {
    Options::default()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
}

async fn create(engine: &ScimEngine, user_name: &str) -> u16 {
    let body =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name});
    let req = ScimRequest::new(Method::Post, "/Users").with_body(body.to_string().into_bytes());
    engine.handle(req).await.status
}

/// A request that must fail: 503 with `Retry-After`, a SCIM error body, within the bound.
async fn assert_unavailable(engine: &ScimEngine, what: &str) {
    let started = Instant::now();
    let res = engine
        .handle(ScimRequest::new(Method::Get, "/Users").with_query("filter=userName%20pr"))
        .await;
    let took = started.elapsed();
    assert_eq!(
        res.status,
        503,
        "{what}: {}",
        String::from_utf8_lossy(&res.body)
    );
    assert!(
        res.header("retry-after").is_some(),
        "{what}: no Retry-After"
    );
    assert_eq!(res.json()["status"], "503", "{what}: {}", res.json());
    assert!(took < FAILURE_BOUND, "{what}: took {took:?}");
    let started = Instant::now();
    assert_eq!(
        create(engine, &format!("during-{what}")).await,
        503,
        "{what}: a write"
    );
    assert!(
        started.elapsed() < FAILURE_BOUND,
        "{what}: a write took {:?}",
        started.elapsed()
    );
}

/// Recovery: the next requests succeed again (bounded retries: a pool may need a moment to
/// replace a dead connection).
async fn assert_recovers(engine: &ScimEngine, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = create(engine, &format!("after-{what}")).await;
        if status == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {status} after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = engine
        .handle(
            ScimRequest::new(Method::Get, "/Users")
                .with_query("filter=userName%20sw%20%22after-%22"),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["totalResults"], 1, "{}", res.json());
}

/// Every connection of the pool is held by someone else: requests wait at most the acquire
/// timeout, answer 503, and succeed as soon as a connection is free again.
#[tokio::test]
async fn sqlite_pool_exhausted_answers_503_then_recovers() {
    let store = SqlStore::connect_with(&common::sqlite_url(), &options())
        .await
        .unwrap();
    let pool = store.sqlite_pool().unwrap().clone();
    let engine = engine(store);
    assert_eq!(create(&engine, "before").await, 201);
    let held = pool.acquire().await.unwrap();
    assert_unavailable(&engine, "pool-exhausted").await;
    drop(held);
    assert_recovers(&engine, "pool-exhausted").await;
}

#[tokio::test]
async fn postgres_pool_exhausted_answers_503_then_recovers() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    let url = common::postgres_url(&server).await;
    let store = SqlStore::connect_with(&url, &options()).await.unwrap();
    let pool = store.postgres_pool().unwrap().clone();
    let engine = engine(store);
    assert_eq!(create(&engine, "before").await, 201);
    let held = pool.acquire().await.unwrap();
    assert_unavailable(&engine, "pool-exhausted").await;
    drop(held);
    assert_recovers(&engine, "pool-exhausted").await;
}

/// A TCP proxy in front of PostgreSQL that the test can cut: while cut, it drops every open
/// connection and every new one, as a database that went away does.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (up2, cut2) = (Arc::clone(&up), Arc::clone(&cut));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let cut = Arc::clone(&cut2);
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Self { addr, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// PostgreSQL goes away (open connections die, new ones are refused) and comes back.
#[tokio::test]
async fn postgres_unreachable_answers_503_then_recovers() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    let url = common::postgres_url(&server).await;
    // postgres://user@HOST:PORT/db → route HOST:PORT through the proxy.
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (host_port, database) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host_port.to_owned()).await;
    let proxied = format!("{scheme_user}@{}/{database}", proxy.addr);
    let store = SqlStore::connect_with(&proxied, &options().max_connections(2))
        .await
        .unwrap();
    let engine = engine(store);
    assert_eq!(create(&engine, "before").await, 201);
    proxy.cut();
    assert_unavailable(&engine, "unreachable").await;
    proxy.restore();
    assert_recovers(&engine, "unreachable").await;
    // Nothing acknowledged before the outage was lost.
    let res = engine
        .handle(
            ScimRequest::new(Method::Get, "/Users")
                .with_query("filter=userName%20eq%20%22before%22"),
        )
        .await;
    assert_eq!(res.json()["totalResults"], 1, "{}", res.json());
}

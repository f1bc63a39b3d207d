//! `SqlStore` passes the store contract suite on SQLite and on PostgreSQL, with and without
//! its optional methods.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_core::StoreError;
use scim_core::store::suite::{self, RequiredOnly};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_passes_every_check() {
    let report = suite::run(|| async { Ok::<_, StoreError>(common::sqlite().await) }).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.skipped().count(), 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_required_methods_alone_pass_every_check() {
    let report =
        suite::run(|| async { Ok::<_, StoreError>(RequiredOnly(common::sqlite().await)) }).await;
    assert!(report.passed(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_passes_every_check() {
    let Some(server) = common::postgres_server() else {
        return;
    };
    let report =
        suite::run(|| async { Ok::<_, StoreError>(common::postgres(&server).await) }).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert_eq!(report.skipped().count(), 0, "{report}");
}

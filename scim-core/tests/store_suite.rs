//! Every store of scim-core passes the store contract suite, with and without its optional
//! methods.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_core::store::suite::{self, CheckOutcome, RequiredOnly};
use scim_core::store::{MemoryStore, TinyStore};
use std::convert::Infallible;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_every_check() {
    let report = suite::run(|| async { Ok::<_, Infallible>(MemoryStore::new()) }).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.skipped().count(), 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tiny_store_passes_every_check() {
    let report = suite::run(|| async { Ok::<_, Infallible>(TinyStore::new()) }).await;
    assert!(report.passed(), "{report}");
    let skipped: Vec<_> = report.skipped().map(|c| c.name).collect();
    assert_eq!(
        skipped,
        [
            "applied_filters_match_the_evaluator",
            "applied_sorts_match_the_comparator"
        ],
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn required_methods_alone_pass_every_check() {
    for report in [
        suite::run(|| async { Ok::<_, Infallible>(RequiredOnly(MemoryStore::new())) }).await,
        suite::run(|| async { Ok::<_, Infallible>(RequiredOnly(TinyStore::new())) }).await,
    ] {
        assert!(report.passed(), "{report}");
        assert_eq!(report.skipped().count(), 3, "{report}");
    }
}

#[tokio::test]
async fn a_failing_factory_fails_every_check_by_name() {
    let report = suite::run(|| async { Err::<MemoryStore, _>("no database") }).await;
    assert!(!report.passed());
    assert!(report.checks.len() > 10);
    for check in &report.checks {
        match &check.outcome {
            CheckOutcome::Failed(why) => assert!(why.contains("no database"), "{why}"),
            other => panic!("{}: {other:?}", check.name),
        }
    }
    assert!(
        report.to_string().contains("FAILED   records_round_trip"),
        "{report}"
    );
}

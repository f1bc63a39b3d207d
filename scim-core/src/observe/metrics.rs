//! [`MetricsObserver`]: exchanges as metrics through the `metrics` facade.

use super::{Exchange, ScimObserver};
use metrics::{Counter, Histogram};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Records every exchange through the [`metrics`] facade, into whatever recorder the host
/// installed (e.g. `metrics-exporter-prometheus` for a Prometheus `/metrics` page). With
/// no recorder installed, recording does nothing.
///
/// | metric | kind | labels |
/// | --- | --- | --- |
/// | `scim_requests_total` | counter | `operation`, `resource_type`, `status` (`2xx` … `5xx`) |
/// | `scim_request_duration_seconds` | histogram | `operation` |
/// | `scim_authentication_failures_total` | counter | `reason` (`missing`, `invalid`, `failed`, `insufficient_scope`) |
/// | `scim_revocation_calls_total` | counter | `reason` (`deactivated`, `deleted`), `outcome` (`ok`, `error`) |
/// | `scim_revoked_users_total` | counter | `reason` |
/// | `scim_revoked_sessions_total` | counter | `reason` (when the host counts them) |
/// | `scim_store_errors_total` | counter | `operation` |
/// | `scim_bulk_operations_total` | counter | `outcome` (`ok`, `error`) |
///
/// Label values are bounded: operations and reasons are fixed names and resource types
/// come from the registry (`-` for a path that is no endpoint), so a client cannot create
/// series.
///
/// The two metrics of every request are registered once per series and kept (a recorder
/// lookup hashes the name and labels: about 4 000 instructions a request, measured); they
/// stay bound to the recorder that was installed when the series was first recorded.
#[derive(Debug, Default)]
pub struct MetricsObserver {
    handles: RwLock<Handles>,
}

/// The registered per-request series: `scim_requests_total` by (operation, status class)
/// and resource type, `scim_request_duration_seconds` by operation.
#[derive(Default)]
struct Handles {
    requests: HashMap<(&'static str, &'static str), HashMap<String, Counter>>,
    durations: HashMap<&'static str, Histogram>,
}

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handles")
            .field("durations", &self.durations.len())
            .finish_non_exhaustive()
    }
}

impl MetricsObserver {
    /// A metrics observer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The request counter and latency histogram of this exchange's series.
    fn series(
        &self,
        operation: &'static str,
        resource_type: &str,
        class: &'static str,
    ) -> (Counter, Histogram) {
        {
            let handles = self.handles.read().unwrap_or_else(PoisonError::into_inner);
            let counter = handles
                .requests
                .get(&(operation, class))
                .and_then(|by_type| by_type.get(resource_type));
            if let (Some(counter), Some(histogram)) = (counter, handles.durations.get(operation)) {
                return (counter.clone(), histogram.clone());
            }
        }
        let mut handles = self.handles.write().unwrap_or_else(PoisonError::into_inner);
        let counter = handles
            .requests
            .entry((operation, class))
            .or_default()
            .entry(resource_type.to_owned())
            .or_insert_with(|| {
                metrics::counter!(
                    "scim_requests_total",
                    "operation" => operation,
                    "resource_type" => resource_type.to_owned(),
                    "status" => class,
                )
            })
            .clone();
        let histogram = handles
            .durations
            .entry(operation)
            .or_insert_with(
                || metrics::histogram!("scim_request_duration_seconds", "operation" => operation),
            )
            .clone();
        (counter, histogram)
    }
}

impl ScimObserver for MetricsObserver {
    fn observe(&self, exchange: &Exchange) {
        let operation = exchange.operation;
        let resource_type = exchange.resource_type.as_deref().unwrap_or("-");
        let (requests, duration) = self.series(operation, resource_type, exchange.status_class());
        requests.increment(1);
        duration.record(exchange.duration.as_secs_f64());
        if let Some(failure) = exchange.auth_failure {
            metrics::counter!("scim_authentication_failures_total", "reason" => failure.as_str())
                .increment(1);
        }
        for revocation in &exchange.revocations {
            let reason = revocation.reason.as_str();
            let outcome = if revocation.succeeded { "ok" } else { "error" };
            metrics::counter!("scim_revocation_calls_total", "reason" => reason, "outcome" => outcome)
                .increment(1);
            if revocation.succeeded {
                metrics::counter!("scim_revoked_users_total", "reason" => reason)
                    .increment(revocation.user_ids.len() as u64);
                if let Some(sessions) = revocation.sessions {
                    metrics::counter!("scim_revoked_sessions_total", "reason" => reason)
                        .increment(sessions);
                }
            }
        }
        if exchange.store_errors > 0 {
            metrics::counter!("scim_store_errors_total", "operation" => operation)
                .increment(u64::from(exchange.store_errors));
        }
        if let Some(bulk) = exchange.bulk {
            let ok = bulk.operations.saturating_sub(bulk.failed);
            metrics::counter!("scim_bulk_operations_total", "outcome" => "ok").increment(ok as u64);
            metrics::counter!("scim_bulk_operations_total", "outcome" => "error")
                .increment(bulk.failed as u64);
        }
    }
}

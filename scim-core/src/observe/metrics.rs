//! [`MetricsObserver`]: exchanges as metrics through the `metrics` facade.

use super::{Exchange, ScimObserver};

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
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsObserver;

impl MetricsObserver {
    /// A metrics observer.
    pub fn new() -> Self {
        Self
    }
}

impl ScimObserver for MetricsObserver {
    fn observe(&self, exchange: &Exchange) {
        let operation = exchange.operation;
        let resource_type = exchange.resource_type.clone().unwrap_or_else(|| "-".into());
        metrics::counter!(
            "scim_requests_total",
            "operation" => operation,
            "resource_type" => resource_type,
            "status" => exchange.status_class(),
        )
        .increment(1);
        metrics::histogram!("scim_request_duration_seconds", "operation" => operation)
            .record(exchange.duration.as_secs_f64());
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

//! `/Bulk` (RFC 7644 §3.7).
//!
//! A Bulk request carries many POST / PUT / PATCH / DELETE operations; each runs through the
//! same [`ScimEngine::execute`] as a top-level request, so validation, ETags (`version` →
//! `If-Match`), policies and token revocation are identical. Users left inactive or deleted
//! by any operation are collected in one [`PendingRevocations`] that the caller flushes once:
//! a Bulk request revokes in batches, not once per operation.
//!
//! `bulkId` (RFC 7644 §3.7.2): a POST names the resource it creates with a `bulkId`; other
//! operations refer to it as `bulkId:<id>`, either as a whole `path` segment
//! (`/Groups/bulkId:qwerty`) or as a whole JSON string anywhere in `data`
//! (`"members": [{"value": "bulkId:qwerty"}]`). References may point forward: operations
//! run in request order, except that a POST is run early when an operation before it needs
//! the id it creates. Operations whose references form a cycle cannot be ordered and fail
//! with 409 (RFC 7644 §3.7.1 allows this: "MAY stop after a failed attempt and instead
//! return HTTP status code 409 (Conflict)"); so does an operation referring to a `bulkId`
//! no POST of the request defines, or whose POST failed.
//!
//! `failOnErrors` (RFC 7644 §3.7.3): after that many failed operations, the remaining ones
//! are not run and do not appear in the response.

use super::{Body, Operation, Outcome, PendingRevocations, ScimEngine};
use crate::context::RequestContext;
use crate::error::ScimError;
use crate::http::Method;
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The Bulk request message URN (RFC 7644 §3.7).
pub(crate) const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The Bulk response message URN (RFC 7644 §3.7).
pub(crate) const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The prefix of a `bulkId` reference (RFC 7644 §3.7.2).
const BULK_ID_PREFIX: &str = "bulkId:";

/// Runs a Bulk request (RFC 7644 §3.7) for an authenticated caller.
///
/// The caller has parsed the body as JSON and checked it against `maxPayloadSize`
/// (→ 413). Here: the request structure (→ 400), `maxOperations` (→ 413, RFC 7644 §3.7.4),
/// then every operation in dependency order. The result is a 200 BulkResponse whose
/// `Operations` hold one result per operation that ran, in request order.
pub(crate) async fn bulk(
    engine: &ScimEngine,
    ctx: &RequestContext,
    body: Value,
    pending: &mut PendingRevocations,
) -> Result<Outcome, ScimError> {
    let request = parse_request(body, engine.config().bulk.max_operations)?;
    let mut executor = EngineExecutor {
        engine,
        ctx,
        pending,
    };
    let results = run(&request, &ctx.base_url, &mut executor).await;
    Ok(Outcome {
        status: 200,
        body: Some(Body::Json(json!({
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": results,
        }))),
        location: None,
        version: None,
        resource_id: None,
    })
}

/// Runs one operation; [`ScimEngine::execute`] in production, a fake in unit tests.
#[async_trait]
trait Executor: Send {
    async fn execute(&mut self, op: Operation<'_>) -> Result<Outcome, ScimError>;
}

struct EngineExecutor<'a> {
    engine: &'a ScimEngine,
    ctx: &'a RequestContext,
    pending: &'a mut PendingRevocations,
}

#[async_trait]
impl Executor for EngineExecutor<'_> {
    async fn execute(&mut self, op: Operation<'_>) -> Result<Outcome, ScimError> {
        self.engine.execute(self.ctx, op, self.pending).await
    }
}

/// A parsed Bulk request.
#[derive(Debug, Clone, PartialEq)]
struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`); `None`: run everything.
    fail_on_errors: Option<usize>,
    operations: Vec<BulkOperation>,
}

/// One operation of a Bulk request, as sent (RFC 7644 §3.7).
#[derive(Debug, Clone, PartialEq)]
struct BulkOperation {
    /// The method, if it is one a Bulk operation may use.
    method: Option<Method>,
    /// `bulkId`, echoed in the result.
    bulk_id: Option<String>,
    /// `version` → `If-Match`.
    version: Option<String>,
    /// `path`, with a leading `/`.
    path: Option<String>,
    /// `data`.
    data: Option<Value>,
    /// Why the operation cannot run at all (reported as its result).
    invalid: Option<ScimError>,
    /// The `bulkId`s this operation refers to, in order of first appearance.
    refs: Vec<String>,
}

/// Looks up a member by name, case-insensitively (RFC 7643 §2.1: attribute names are
/// case-insensitive).
fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Parses and checks the request envelope; per-operation problems are recorded on the
/// operation, not returned.
fn parse_request(body: Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
    let Value::Object(mut obj) = body else {
        return Err(ScimError::InvalidSyntax(
            "a Bulk request must be a JSON object (RFC 7644 §3.7)".into(),
        ));
    };
    let has_schema = member(&obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
        });
    if !has_schema {
        return Err(ScimError::InvalidSyntax(format!(
            "`schemas` must contain `{BULK_REQUEST_SCHEMA}` (RFC 7644 §3.7)"
        )));
    }
    let fail_on_errors = match member(&obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            // 0 errors accepted before stopping is the same as stopping at the first.
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX).max(1)),
            None => {
                return Err(ScimError::InvalidValue(format!(
                    "`failOnErrors` must be a non-negative integer, not {value}"
                )));
            }
        },
    };
    let key = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("Operations"))
        .cloned();
    let operations = match key.and_then(|k| obj.remove(&k)) {
        Some(Value::Array(operations)) => operations,
        _ => {
            return Err(ScimError::InvalidSyntax(
                "a Bulk request needs an `Operations` array (RFC 7644 §3.7)".into(),
            ));
        }
    };
    if operations.len() > max_operations {
        return Err(ScimError::PayloadTooLarge(format!(
            "the Bulk request has {} operations; maxOperations is {max_operations} (RFC 7644 §3.7.4)",
            operations.len()
        )));
    }
    let mut operations: Vec<BulkOperation> = operations
        .into_iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect();
    // A bulkId names one POST (RFC 7644 §3.7: "unique within a bulk request").
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, op) in operations.iter_mut().enumerate() {
        if op.method != Some(Method::Post) {
            continue;
        }
        let Some(bulk_id) = &op.bulk_id else { continue };
        if let Some(first) = seen.get(bulk_id) {
            if op.invalid.is_none() {
                op.invalid = Some(ScimError::InvalidValue(format!(
                    "bulkId `{bulk_id}` is already used by operation {first}; bulkIds must be unique within a Bulk request"
                )));
            }
        } else {
            seen.insert(bulk_id.clone(), i);
        }
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

/// Parses one operation; never fails (problems go to `invalid`).
fn parse_operation(index: usize, op: Value) -> BulkOperation {
    let mut parsed = BulkOperation {
        method: None,
        bulk_id: None,
        version: None,
        path: None,
        data: None,
        invalid: None,
        refs: Vec::new(),
    };
    let Value::Object(mut obj) = op else {
        parsed.invalid = Some(ScimError::InvalidSyntax(format!(
            "operation {index} is not a JSON object"
        )));
        return parsed;
    };
    let mut problems: Vec<String> = Vec::new();

    match member(&obj, "bulkId") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if !s.is_empty() => parsed.bulk_id = Some(s.clone()),
        Some(other) => problems.push(format!("`bulkId` must be a non-empty string, not {other}")),
    }
    match member(&obj, "version") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => parsed.version = Some(s.clone()),
        Some(other) => problems.push(format!("`version` must be a string, not {other}")),
    }
    match member(&obj, "method").and_then(Value::as_str) {
        Some(name) => match Method::from_name(&name.to_ascii_uppercase()) {
            m @ (Method::Post | Method::Put | Method::Patch | Method::Delete) => {
                parsed.method = Some(m);
            }
            _ => problems.push(format!(
                "`method` must be POST, PUT, PATCH or DELETE, not `{name}`"
            )),
        },
        None => problems.push("`method` (POST, PUT, PATCH or DELETE) is required".into()),
    }
    match member(&obj, "path").and_then(Value::as_str) {
        Some(path) if !path.trim().is_empty() => {
            let path = path.trim();
            let path = if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            };
            let first = path
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default();
            if first.eq_ignore_ascii_case("Bulk") {
                problems.push("a Bulk operation cannot target `/Bulk`".into());
            }
            parsed.path = Some(path);
        }
        _ => problems.push("`path` (e.g. `/Users` or `/Users/{id}`) is required".into()),
    }
    if let Some(method) = parsed.method {
        if method == Method::Post && parsed.bulk_id.is_none() && problems.is_empty() {
            problems.push("`bulkId` is required for POST (RFC 7644 §3.7)".into());
        }
        if method != Method::Delete {
            let key = obj.keys().find(|k| k.eq_ignore_ascii_case("data")).cloned();
            match key.and_then(|k| obj.remove(&k)) {
                Some(data @ Value::Object(_)) => parsed.data = Some(data),
                Some(Value::Null) | None => problems.push(format!(
                    "`data` is required for {} (RFC 7644 §3.7)",
                    method.as_str()
                )),
                Some(other) => problems.push(format!(
                    "`data` must be a JSON object, not {}",
                    crate::resource::kind(&other)
                )),
            }
        }
    }
    if let Some(problem) = problems.into_iter().next() {
        parsed.invalid = Some(ScimError::InvalidSyntax(format!(
            "operation {index}: {problem}"
        )));
        return parsed;
    }
    if let Some(path) = &parsed.path {
        for segment in path.split('/') {
            if let Some(id) = segment.strip_prefix(BULK_ID_PREFIX) {
                push_unique(&mut parsed.refs, id);
            }
        }
    }
    if let Some(data) = &parsed.data {
        collect_refs(data, &mut parsed.refs);
    }
    parsed
}

fn push_unique(refs: &mut Vec<String>, id: &str) {
    if !refs.iter().any(|r| r == id) {
        refs.push(id.to_owned());
    }
}

/// Collects every `bulkId:<id>` string value in `value`.
fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                push_unique(refs, id);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        Value::Object(obj) => obj.values().for_each(|v| collect_refs(v, refs)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Replaces every `bulkId:<id>` string value in `value` with the resolved id.
fn substitute(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|r| ids.get(r)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, ids)),
        Value::Object(obj) => obj.values_mut().for_each(|v| substitute(v, ids)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Replaces `bulkId:<id>` path segments with the resolved ids.
fn substitute_path(path: &str, ids: &HashMap<String, String>) -> String {
    path.split('/')
        .map(|segment| {
            segment
                .strip_prefix(BULK_ID_PREFIX)
                .and_then(|r| ids.get(r))
                .map_or(segment, String::as_str)
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The execution order and the operations caught in reference cycles.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    /// Operation indexes in execution order: request order, except that a POST defining a
    /// `bulkId` runs before the first operation that needs it.
    order: Vec<usize>,
    /// For each operation, the cycle it is part of (as operation indexes), if any.
    cycles: Vec<Option<Vec<usize>>>,
}

/// Orders the operations by their `bulkId` dependencies (Tarjan's strongly connected
/// components, iterative so that long reference chains cannot exhaust the stack).
fn plan(operations: &[BulkOperation]) -> Plan {
    let n = operations.len();
    let mut definer: HashMap<&str, usize> = HashMap::new();
    for (i, op) in operations.iter().enumerate() {
        if op.method == Some(Method::Post) && op.invalid.is_none() {
            if let Some(bulk_id) = &op.bulk_id {
                definer.entry(bulk_id.as_str()).or_insert(i);
            }
        }
    }
    let deps: Vec<Vec<usize>> = operations
        .iter()
        .map(|op| {
            op.refs
                .iter()
                .filter_map(|r| definer.get(r.as_str()).copied())
                .collect()
        })
        .collect();

    let mut index: Vec<Option<usize>> = vec![None; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0usize;
    let mut order = Vec::with_capacity(n);
    let mut cycles: Vec<Option<Vec<usize>>> = vec![None; n];

    for root in 0..n {
        if index[root].is_some() {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = Some(next);
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, edge)) = calls.last() {
            if let Some(&w) = deps[v].get(edge) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                match index[w] {
                    None => {
                        index[w] = Some(next);
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    }
                    Some(iw) if on_stack[w] => low[v] = low[v].min(iw),
                    Some(_) => {}
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if Some(low[v]) == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || deps[v].contains(&v) {
                    component.sort_unstable();
                    for &w in &component {
                        cycles[w] = Some(component.clone());
                    }
                }
            }
            order.push(v);
        }
    }
    Plan { order, cycles }
}

/// Runs every operation in plan order and returns the results in request order.
async fn run(request: &BulkRequest, base_url: &str, executor: &mut dyn Executor) -> Vec<Value> {
    let base = base_url.trim_end_matches('/');
    let operations = &request.operations;
    let plan = plan(operations);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; operations.len()];
    let mut errors = 0usize;
    for &i in &plan.order {
        if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let Some(op) = operations.get(i) else {
            continue;
        };
        let result = run_one(
            op,
            plan.cycles[i].as_deref(),
            operations,
            &mut ids,
            base,
            executor,
        )
        .await;
        if result.failed {
            errors += 1;
        }
        results[i] = Some(result.json);
    }
    results.into_iter().flatten().collect()
}

/// One operation's result entry (RFC 7644 §3.7.3).
struct OpResult {
    json: Value,
    failed: bool,
}

async fn run_one(
    op: &BulkOperation,
    cycle: Option<&[usize]>,
    operations: &[BulkOperation],
    ids: &mut HashMap<String, String>,
    base: &str,
    executor: &mut dyn Executor,
) -> OpResult {
    let fail =
        |err: ScimError, path: Option<&str>| failure(op, err.status(), err.to_json(), path, base);
    if let Some(err) = &op.invalid {
        return fail(err.clone(), op.path.as_deref());
    }
    let (Some(method), Some(path)) = (op.method, op.path.as_deref()) else {
        return fail(
            ScimError::InvalidSyntax("the operation has no method or path".into()),
            op.path.as_deref(),
        );
    };
    if let Some(cycle) = cycle {
        let names: Vec<String> = cycle
            .iter()
            .filter_map(|&i| operations.get(i)?.bulk_id.as_deref())
            .map(|b| format!("`{b}`"))
            .collect();
        return fail(
            ScimError::Conflict(format!(
                "circular bulkId reference between {}: the operations cannot be ordered; create the resources first, then add the references with PATCH (RFC 7644 §3.7.1)",
                names.join(", ")
            )),
            Some(path),
        );
    }
    for r in &op.refs {
        if ids.contains_key(r) {
            continue;
        }
        let defined = operations
            .iter()
            .any(|o| o.method == Some(Method::Post) && o.bulk_id.as_deref() == Some(r));
        let detail = if defined {
            format!("bulkId `{r}` cannot be resolved: the POST operation that defines it failed")
        } else {
            format!("bulkId `{r}` cannot be resolved: no POST operation of this request defines it")
        };
        return fail(ScimError::Conflict(detail), Some(path));
    }
    let path = substitute_path(path, ids);
    let mut data = op.data.clone();
    if let Some(data) = data.as_mut() {
        substitute(data, ids);
    }
    let outcome = executor
        .execute(Operation {
            method,
            path: &path,
            query: None,
            if_match: op.version.as_deref(),
            if_none_match: None,
            body: data,
        })
        .await;
    let outcome = match outcome {
        Ok(outcome) if outcome.status < 400 => outcome,
        Ok(outcome) => {
            let response = outcome.body.map_or_else(
                || ScimError::Internal("the operation failed".into()).to_json(),
                Body::into_json,
            );
            return failure(op, outcome.status, response, Some(&path), base);
        }
        Err(err) => return fail(err, Some(&path)),
    };
    // The id a POST answered with (created, or existing under `ReturnExisting`), which
    // later operations reach through `bulkId`.
    let created_id = if method == Method::Post {
        outcome.resource_id.clone()
    } else {
        None
    };
    if let (Some(bulk_id), Some(id)) = (&op.bulk_id, &created_id) {
        ids.insert(bulk_id.clone(), id.clone());
    }
    let location = outcome
        .location
        .clone()
        .unwrap_or_else(|| match &created_id {
            Some(id) => format!("{base}{path}/{id}"),
            None => format!("{base}{path}"),
        });
    let mut entry = Map::new();
    entry.insert("method".into(), Value::String(method.as_str().into()));
    if let Some(bulk_id) = &op.bulk_id {
        entry.insert("bulkId".into(), Value::String(bulk_id.clone()));
    }
    if let Some(version) = &outcome.version {
        entry.insert("version".into(), Value::String(version.clone()));
    }
    entry.insert("location".into(), Value::String(location));
    entry.insert("status".into(), Value::String(outcome.status.to_string()));
    OpResult {
        json: Value::Object(entry),
        failed: false,
    }
}

/// A failed operation's result: `status` as a string and the SCIM error as `response`
/// (RFC 7644 §3.7.3). `location` is given except for a failed POST, which created nothing.
fn failure(
    op: &BulkOperation,
    status: u16,
    response: Value,
    path: Option<&str>,
    base: &str,
) -> OpResult {
    let mut entry = Map::new();
    if let Some(method) = op.method {
        entry.insert("method".into(), Value::String(method.as_str().into()));
    }
    if let Some(bulk_id) = &op.bulk_id {
        entry.insert("bulkId".into(), Value::String(bulk_id.clone()));
    }
    if op.method != Some(Method::Post) {
        if let Some(path) = path {
            entry.insert("location".into(), Value::String(format!("{base}{path}")));
        }
    }
    entry.insert("status".into(), Value::String(status.to_string()));
    entry.insert("response".into(), response);
    OpResult {
        json: Value::Object(entry),
        failed: true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const BASE: &str = "https://example.com/v2";

    fn request(operations: Value) -> Value {
        json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
    }

    fn ops(body: Value) -> Vec<BulkOperation> {
        parse_request(body, 1000).unwrap().operations
    }

    /// A fake engine: POST creates `<n>` ids in order, records every call; paths containing
    /// `fail` answer 400, unknown endpoints 404.
    #[derive(Default)]
    struct Fake {
        calls: Vec<(Method, String, Option<String>, Option<Value>)>,
    }

    #[async_trait]
    impl Executor for Fake {
        async fn execute(&mut self, op: Operation<'_>) -> Result<Outcome, ScimError> {
            self.calls.push((
                op.method,
                op.path.to_owned(),
                op.if_match.map(str::to_owned),
                op.body.clone(),
            ));
            if op.path.contains("fail")
                || op
                    .body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("\"fail\""))
            {
                return Err(ScimError::InvalidValue("told to fail".into()));
            }
            if !(op.path.starts_with("/Users") || op.path.starts_with("/Groups")) {
                return Err(ScimError::NotFound(format!("no endpoint {}", op.path)));
            }
            let n = self.calls.len();
            Ok(match op.method {
                Method::Post => Outcome {
                    status: 201,
                    body: Some(json!({"id": format!("id{n}")}).into()),
                    location: Some(format!("{BASE}{}/id{n}", op.path)),
                    version: Some(format!("W/\"v{n}\"")),
                    resource_id: Some(format!("id{n}")),
                },
                Method::Delete => Outcome {
                    status: 204,
                    body: None,
                    location: None,
                    version: None,
                    resource_id: None,
                },
                _ => Outcome {
                    status: 200,
                    body: Some(json!({}).into()),
                    location: Some(format!("{BASE}{}", op.path)),
                    version: Some(format!("W/\"v{n}\"")),
                    resource_id: None,
                },
            })
        }
    }

    async fn run_fake(body: Value) -> (Vec<Value>, Fake) {
        let request = parse_request(body, 1000).unwrap();
        let mut fake = Fake::default();
        let results = run(&request, BASE, &mut fake).await;
        (results, fake)
    }

    #[test]
    fn envelope_errors() {
        let err = parse_request(json!([]), 10).unwrap_err();
        assert_eq!(err.status(), 400);
        let err = parse_request(json!({"Operations": []}), 10).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidSyntax"));
        assert!(err.detail().contains(BULK_REQUEST_SCHEMA));
        let err = parse_request(json!({"schemas": [BULK_REQUEST_SCHEMA]}), 10).unwrap_err();
        assert!(err.detail().contains("Operations"));
        let err = parse_request(
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [], "failOnErrors": "x"}),
            10,
        )
        .unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidValue"));
        let err = parse_request(
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [], "failOnErrors": -1}),
            10,
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn max_operations_is_413_naming_the_limit() {
        let op = json!({"method": "DELETE", "path": "/Users/1"});
        let err = parse_request(request(json!([op, op, op])), 2).unwrap_err();
        assert_eq!(err.status(), 413);
        assert!(
            err.detail().contains("maxOperations is 2"),
            "{}",
            err.detail()
        );
        assert!(parse_request(request(json!([op, op])), 2).is_ok());
    }

    #[test]
    fn envelope_names_are_case_insensitive() {
        let parsed = parse_request(
            json!({"Schemas": [BULK_REQUEST_SCHEMA], "operations": [], "FailOnErrors": 0}),
            10,
        )
        .unwrap();
        assert_eq!(parsed.fail_on_errors, Some(1));
        assert!(parsed.operations.is_empty());
    }

    #[test]
    fn parses_operations() {
        let parsed = ops(request(json!([
            {"method": "POST", "bulkId": "q", "path": "/Users", "data": {"userName": "a"}},
            {"method": "patch", "path": "Groups/bulkId:q", "version": "W/\"1\"",
             "data": {"Operations": [{"op": "add", "value": {"members": [{"value": "bulkId:r"}]}}]}},
            {"method": "DELETE", "path": "/Users/1", "data": "ignored"},
        ])));
        assert_eq!(parsed[0].method, Some(Method::Post));
        assert_eq!(parsed[0].bulk_id.as_deref(), Some("q"));
        assert!(parsed[0].invalid.is_none());
        assert!(parsed[0].refs.is_empty());
        assert_eq!(parsed[1].method, Some(Method::Patch));
        assert_eq!(parsed[1].path.as_deref(), Some("/Groups/bulkId:q"));
        assert_eq!(parsed[1].version.as_deref(), Some("W/\"1\""));
        assert_eq!(parsed[1].refs, ["q", "r"]);
        assert!(parsed[2].invalid.is_none());
        assert_eq!(parsed[2].data, None);
    }

    #[test]
    fn invalid_operations_are_recorded_per_operation() {
        let parsed = ops(request(json!([
            "not an object",
            {"method": "GET", "path": "/Users"},
            {"path": "/Users"},
            {"method": "POST", "path": "/Users", "data": {}},
            {"method": "POST", "bulkId": "a", "data": {}},
            {"method": "PUT", "path": "/Users/1"},
            {"method": "PATCH", "path": "/Users/1", "data": [1]},
            {"method": "POST", "bulkId": "a", "path": "/Bulk", "data": {}},
            {"method": "DELETE", "path": "/Users/1", "version": 3},
        ])));
        for (i, op) in parsed.iter().enumerate() {
            let err = op
                .invalid
                .as_ref()
                .unwrap_or_else(|| panic!("operation {i} accepted"));
            assert_eq!(err.status(), 400, "{i}: {err}");
        }
        assert!(parsed[1].invalid.as_ref().unwrap().detail().contains("GET"));
        assert!(
            parsed[3]
                .invalid
                .as_ref()
                .unwrap()
                .detail()
                .contains("bulkId")
        );
        assert!(
            parsed[5]
                .invalid
                .as_ref()
                .unwrap()
                .detail()
                .contains("data")
        );
        assert!(
            parsed[7]
                .invalid
                .as_ref()
                .unwrap()
                .detail()
                .contains("/Bulk")
        );
    }

    #[test]
    fn duplicate_bulk_ids_fail_the_later_post() {
        let parsed = ops(request(json!([
            {"method": "POST", "bulkId": "a", "path": "/Users", "data": {}},
            {"method": "POST", "bulkId": "a", "path": "/Users", "data": {}},
        ])));
        assert!(parsed[0].invalid.is_none());
        let err = parsed[1].invalid.as_ref().unwrap();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidValue"));
    }

    #[test]
    fn substitution_in_data_and_path() {
        let ids: HashMap<String, String> =
            [("q".to_owned(), "92b7".to_owned())].into_iter().collect();
        let mut data = json!({
            "members": [{"value": "bulkId:q", "type": "User"}, {"value": "bulkId:unknown"}],
            "displayName": "bulkId:q is whole-string only? yes",
            "nested": {"deep": ["bulkId:q"]},
        });
        substitute(&mut data, &ids);
        assert_eq!(data["members"][0]["value"], "92b7");
        assert_eq!(data["members"][1]["value"], "bulkId:unknown");
        assert_eq!(data["nested"]["deep"][0], "92b7");
        assert_eq!(substitute_path("/Groups/bulkId:q", &ids), "/Groups/92b7");
        assert_eq!(
            substitute_path("/Groups/bulkId:x", &ids),
            "/Groups/bulkId:x"
        );
    }

    #[test]
    fn plan_keeps_request_order_and_pulls_definers_forward() {
        let parsed = ops(request(json!([
            {"method": "DELETE", "path": "/Users/0"},
            {"method": "POST", "bulkId": "g", "path": "/Groups",
             "data": {"members": [{"value": "bulkId:u"}]}},
            {"method": "DELETE", "path": "/Users/2"},
            {"method": "POST", "bulkId": "u", "path": "/Users", "data": {}},
        ])));
        let plan = plan(&parsed);
        assert_eq!(plan.order, [0, 3, 1, 2]);
        assert!(plan.cycles.iter().all(Option::is_none));
    }

    #[test]
    fn plan_detects_cycles_and_self_references() {
        let parsed = ops(request(json!([
            {"method": "POST", "bulkId": "a", "path": "/Groups", "data": {"members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "bulkId": "b", "path": "/Groups", "data": {"members": [{"value": "bulkId:c"}]}},
            {"method": "POST", "bulkId": "c", "path": "/Groups", "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "bulkId": "d", "path": "/Groups", "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "bulkId": "s", "path": "/Groups", "data": {"members": [{"value": "bulkId:s"}]}},
        ])));
        let plan = plan(&parsed);
        assert_eq!(plan.cycles[0].as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(plan.cycles[1].as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(plan.cycles[2].as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(plan.cycles[3], None);
        assert_eq!(plan.cycles[4].as_deref(), Some(&[4][..]));
        let mut order = plan.order.clone();
        order.sort_unstable();
        assert_eq!(order, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn plan_finds_cycle_members_reached_through_finished_nodes() {
        // r -> a -> r, r -> v -> a: v is in the component {r, a, v}.
        let parsed = ops(request(json!([
            {"method": "POST", "bulkId": "r", "path": "/Groups",
             "data": {"members": [{"value": "bulkId:a"}, {"value": "bulkId:v"}]}},
            {"method": "POST", "bulkId": "a", "path": "/Groups", "data": {"members": [{"value": "bulkId:r"}]}},
            {"method": "POST", "bulkId": "v", "path": "/Groups", "data": {"members": [{"value": "bulkId:a"}]}},
        ])));
        let plan = plan(&parsed);
        assert!(
            plan.cycles
                .iter()
                .all(|c| c.as_deref() == Some(&[0, 1, 2][..]))
        );
    }

    #[test]
    fn plan_handles_long_forward_chains_without_recursion() {
        let n = 20_000;
        let operations: Vec<Value> = (0..n)
            .map(|i| {
                json!({"method": "POST", "bulkId": format!("b{i}"), "path": "/Groups",
                       "data": {"members": if i + 1 < n { json!([{"value": format!("bulkId:b{}", i + 1)}]) } else { json!([]) }}})
            })
            .collect();
        let parsed = parse_request(request(Value::Array(operations)), n).unwrap();
        let plan = plan(&parsed.operations);
        assert_eq!(plan.order.first(), Some(&(n - 1)));
        assert_eq!(plan.order.last(), Some(&0));
    }

    #[tokio::test]
    async fn rfc_example_user_then_group() {
        let (results, fake) = run_fake(request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice"}},
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides",
                      "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
        ])))
        .await;
        assert_eq!(
            results,
            [
                json!({"method": "POST", "bulkId": "qwerty", "version": "W/\"v1\"",
                       "location": format!("{BASE}/Users/id1"), "status": "201"}),
                json!({"method": "POST", "bulkId": "ytrewq", "version": "W/\"v2\"",
                       "location": format!("{BASE}/Groups/id2"), "status": "201"}),
            ]
        );
        assert_eq!(
            fake.calls[1].3.as_ref().unwrap()["members"][0]["value"],
            "id1"
        );
    }

    #[tokio::test]
    async fn forward_reference_runs_the_post_first_and_answers_in_request_order() {
        let (results, fake) = run_fake(request(json!([
            {"method": "PATCH", "path": "/Groups/bulkId:g", "version": "W/\"x\"",
             "data": {"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "G"}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "u"}},
        ])))
        .await;
        let paths: Vec<&str> = fake.calls.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(paths, ["/Groups", "/Users", "/Groups/id1"]);
        assert_eq!(fake.calls[2].2.as_deref(), Some("W/\"x\""));
        assert_eq!(
            fake.calls[2].3.as_ref().unwrap()["Operations"][0]["value"][0]["value"],
            "id2"
        );
        assert_eq!(results[0]["method"], "PATCH");
        assert_eq!(results[0]["status"], "200");
        assert_eq!(results[0]["location"], format!("{BASE}/Groups/id1"));
        assert_eq!(results[1]["bulkId"], "g");
        assert_eq!(results[2]["bulkId"], "u");
    }

    #[tokio::test]
    async fn cycles_fail_with_409_and_run_nothing() {
        let (results, fake) = run_fake(request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"userName": "fine"}},
        ])))
        .await;
        assert_eq!(fake.calls.len(), 1);
        for result in &results[..2] {
            assert_eq!(result["status"], "409");
            assert_eq!(result["response"]["status"], "409");
            let detail = result["response"]["detail"].as_str().unwrap();
            assert!(detail.contains("circular bulkId reference"), "{detail}");
            assert!(detail.contains("`a`") && detail.contains("`b`"), "{detail}");
            assert!(result.get("location").is_none());
        }
        assert_eq!(results[2]["status"], "201");
    }

    #[tokio::test]
    async fn unresolvable_references_fail_with_409() {
        let (results, fake) = run_fake(request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"userName": "fail"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"members": [{"value": "bulkId:bad"}]}},
            {"method": "PATCH", "path": "/Groups/bulkId:nowhere", "data": {"Operations": []}},
        ])))
        .await;
        assert_eq!(fake.calls.len(), 1);
        assert_eq!(results[0]["status"], "400");
        assert_eq!(results[0]["response"]["scimType"], "invalidValue");
        assert!(
            results[0].get("location").is_none(),
            "a failed POST has no location"
        );
        assert_eq!(results[1]["status"], "409");
        assert!(
            results[1]["response"]["detail"]
                .as_str()
                .unwrap()
                .contains("failed")
        );
        assert_eq!(results[2]["status"], "409");
        assert!(
            results[2]["response"]["detail"]
                .as_str()
                .unwrap()
                .contains("no POST operation of this request defines it")
        );
        assert_eq!(
            results[2]["location"],
            format!("{BASE}/Groups/bulkId:nowhere")
        );
    }

    #[tokio::test]
    async fn fail_on_errors_stops_after_that_many_errors() {
        let operations = json!([
            {"method": "POST", "path": "/Users", "bulkId": "1", "data": {"userName": "fail"}},
            {"method": "POST", "path": "/Users", "bulkId": "2", "data": {"userName": "b"}},
            {"method": "DELETE", "path": "/Users/fail"},
            {"method": "POST", "path": "/Users", "bulkId": "4", "data": {"userName": "d"}},
        ]);
        let mut body = request(operations.clone());
        body["failOnErrors"] = json!(1);
        let (results, fake) = run_fake(body).await;
        assert_eq!(results.len(), 1);
        assert_eq!(fake.calls.len(), 1);
        assert_eq!(results[0]["status"], "400");

        let mut body = request(operations.clone());
        body["failOnErrors"] = json!(2);
        let (results, _) = run_fake(body).await;
        assert_eq!(results.len(), 3);
        assert_eq!(results[2]["status"], "400");
        assert_eq!(results[2]["location"], format!("{BASE}/Users/fail"));

        let (results, _) = run_fake(request(operations)).await;
        assert_eq!(results.len(), 4);
    }

    #[tokio::test]
    async fn bad_method_and_unknown_path_fail_per_operation() {
        let (results, _) = run_fake(request(json!([
            {"method": "GET", "path": "/Users"},
            {"method": "DELETE", "path": "/Devices/1"},
            {"method": "DELETE", "path": "/Users/1"},
        ])))
        .await;
        assert_eq!(results[0]["status"], "400");
        assert!(
            results[0].get("method").is_none(),
            "an invalid method is not echoed"
        );
        assert_eq!(
            results[0]["response"]["schemas"][0],
            crate::error::ERROR_SCHEMA
        );
        assert_eq!(results[1]["status"], "404");
        assert_eq!(results[1]["method"], "DELETE");
        assert_eq!(results[1]["location"], format!("{BASE}/Devices/1"));
        assert_eq!(
            results[2],
            json!({"method": "DELETE", "location": format!("{BASE}/Users/1"), "status": "204"})
        );
    }
}

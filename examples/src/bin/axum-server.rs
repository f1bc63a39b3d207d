//! The example SCIM server on axum (the default binary of `scim-examples`).
//!
//! `cargo run --release -p scim-examples -- --listen 127.0.0.1:8080 --token s3cr3t`

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use clap::Parser;
use scim_examples::admin::AdminRequest;
use scim_examples::{AppError, DemoApp, Options, announce, init_tracing};

/// The allocator of this binary: mimalloc, with the default feature `mimalloc` of
/// `scim-examples` (every binary of the crate sets it, the load-test baseline included).
/// A SCIM request builds and drops many small objects (the JSON values of bodies and
/// stored resources); on glibc's allocator about a fifth of a PATCH's instructions are
/// `malloc` and `free` (BENCHMARKS.md). A host application chooses its own allocator:
/// the library crates set none.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let logging = init_tracing(&options)?;
    logging.report_dropped_lines(std::time::Duration::from_secs(10));
    let (tokens, generated) = options.tokens()?;
    let app = DemoApp::from_options(&options, &tokens).await?;
    let router = Router::new()
        .route("/app/login", post(login))
        .route("/app/me", get(me))
        .route("/oauth/token", post(token))
        .route("/metrics", get(metrics))
        .route("/admin", any(admin))
        .route("/admin/{*rest}", any(admin))
        .with_state(app.clone())
        // At its full paths (`/scim/v2`, `/scim/v2/` and below), merged: cheaper per request
        // than `nest`, which rebuilds every request's URI.
        .merge(scim_axum::ScimRouter::new(app.engine.clone()).mounted_at("/scim/v2")?);
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    announce("axum", listener.local_addr()?, &tokens, generated);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}

async fn login(State(app): State<DemoApp>, body: Bytes) -> Response {
    reply(app.login(&body).await)
}

async fn token(State(app): State<DemoApp>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let answer = app.token(authorization, &body);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(answer.body)).into_response();
    // RFC 6749 §5.1: token responses are not cached.
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    if answer.basic_challenge {
        headers.insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"oauth\""),
        );
    }
    response
}

/// `GET /metrics` (with `--metrics`): the Prometheus text format.
async fn metrics(State(app): State<DemoApp>) -> Response {
    match app.metrics_page() {
        Some(page) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            page,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are off: start the server with --metrics",
        )
            .into_response(),
    }
}

/// `/admin…` (with `--admin-token`): the provisioning inspector.
async fn admin(
    State(app): State<DemoApp>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let reply = app
        .admin(AdminRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            cookie: text(header::COOKIE),
            authorization: text(header::AUTHORIZATION),
            body: &body,
        })
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body).into_response();
    // The reply names its own media type.
    response.headers_mut().remove(header::CONTENT_TYPE);
    for (name, value) in reply.headers {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

async fn me(State(app): State<DemoApp>, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    reply(app.me(authorization).await)
}

fn reply(result: Result<serde_json::Value, AppError>) -> Response {
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(err) => {
            let status =
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(err.body())).into_response()
        }
    }
}

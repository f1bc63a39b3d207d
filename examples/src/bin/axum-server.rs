//! The example SCIM server on axum (the default binary of `scim-examples`).
//!
//! `cargo run --release -p scim-examples -- --listen 127.0.0.1:8080 --token s3cr3t`

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use scim_examples::{AppError, DemoApp, Options, announce, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let logging = init_tracing(&options)?;
    logging.report_dropped_lines(std::time::Duration::from_secs(10));
    let (tokens, generated) = options.tokens()?;
    let app = DemoApp::open_with(&tokens, &options.database_url, options.token_endpoint()).await?;
    let router = Router::new()
        .route("/app/login", post(login))
        .route("/app/me", get(me))
        .route("/oauth/token", post(token))
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

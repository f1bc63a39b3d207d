//! The example SCIM server on actix-web; same options and behaviour as `axum-server`.
//!
//! `cargo run --release -p scim-examples --bin actix-server -- --listen 127.0.0.1:8080 --token s3cr3t`

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
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

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let logging = init_tracing(&options)?;
    logging.report_dropped_lines(std::time::Duration::from_secs(10));
    let (tokens, generated) = options.tokens()?;
    let app = DemoApp::from_options(&options, &tokens).await?;
    let data = web::Data::new(app.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/app/login", web::post().to(login))
            .route("/app/me", web::get().to(me))
            .route("/oauth/token", web::post().to(token))
            .route("/metrics", web::get().to(metrics))
            .service(web::resource(["/admin", "/admin/{rest:.*}"]).to(admin))
            .service(web::scope("/scim/v2").configure(scim_actix::configure(app.engine.clone())))
    })
    .bind(options.listen)?;
    let listen = server.addrs().first().copied().unwrap_or(options.listen);
    announce("actix-web", listen, &tokens, generated);
    // actix-web stops gracefully on Ctrl-C (SIGINT) by itself.
    server.run().await?;
    Ok(())
}

async fn login(app: web::Data<DemoApp>, body: web::Bytes) -> HttpResponse {
    reply(app.login(&body).await)
}

async fn token(app: web::Data<DemoApp>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let authorization = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let answer = app.token(authorization, &body);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    // RFC 6749 §5.1: token responses are not cached.
    response.insert_header(("cache-control", "no-store"));
    response.insert_header(("pragma", "no-cache"));
    if answer.basic_challenge {
        response.insert_header(("www-authenticate", "Basic realm=\"oauth\""));
    }
    response.json(answer.body)
}

/// `GET /metrics` (with `--metrics`): the Prometheus text format.
async fn metrics(app: web::Data<DemoApp>) -> HttpResponse {
    match app.metrics_page() {
        Some(page) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(page),
        None => HttpResponse::NotFound().body("metrics are off: start the server with --metrics"),
    }
}

/// `/admin…` (with `--admin-token`): the provisioning inspector.
async fn admin(app: web::Data<DemoApp>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &actix_web::http::header::HeaderValue| v.to_str().ok())
    };
    let query = request.query_string();
    let reply = app
        .admin(AdminRequest {
            method: request.method().as_str(),
            path: request.path(),
            query: (!query.is_empty()).then_some(query),
            cookie: text(actix_web::http::header::COOKIE),
            authorization: text(actix_web::http::header::AUTHORIZATION),
            body: &body,
        })
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in reply.headers {
        response.append_header((name, value));
    }
    response.body(reply.body)
}

async fn me(app: web::Data<DemoApp>, request: HttpRequest) -> HttpResponse {
    let authorization = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    reply(app.me(authorization).await)
}

fn reply(result: Result<serde_json::Value, AppError>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(err) => {
            let status =
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            HttpResponse::build(status).json(err.body())
        }
    }
}

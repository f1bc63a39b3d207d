//! The SCIM side of the load test (`scripts/load.sh`): the example axum server
//! (`scim_axum::router` over the engine and the store of `--database-url`, nested under
//! `/scim/v2`; the load test runs it with `--database-url memory`),
//! started with `--preload N` users so that it holds the same users as
//! `baseline-server` (user `i`: id `00000000-0000-4000-8000-{i:012}`, userName `user{i}`).
//!
//! `cargo run --release -p scim-examples --bin load-server -- --listen 127.0.0.1:8081 --token t --preload 10000`
//!
//! With `--database-url` and `--seed-only` it fills a database and exits; `scripts/load.sh
//! --database sqlite|postgres` then measures the example server itself (`axum-server`) on it.

use axum::Router;
use clap::Parser;
use scim_axum::scim_core::store::{ResourceMeta, StoredResource};
use scim_axum::scim_core::{Principal, RequestContext, Store};
use scim_examples::{DemoApp, Options, TENANT, announce, init_tracing};

#[path = "../bench_users.rs"]
mod bench_users;

#[derive(Debug, Parser)]
#[command(about = "The example SCIM server, preloaded with N users for load tests")]
struct LoadOptions {
    #[command(flatten)]
    server: Options,
    /// Users to create before serving (user `i`: userName `user{i}`).
    #[arg(long, default_value_t = 10_000)]
    preload: usize,
    /// Exit after preloading (to seed a database that `axum-server` then serves).
    #[arg(long)]
    seed_only: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = LoadOptions::parse();
    let logging = init_tracing(&options.server)?;
    logging.report_dropped_lines(std::time::Duration::from_secs(10));
    let (tokens, generated) = options.server.tokens()?;
    let app = DemoApp::open(&tokens, &options.server.database_url).await?;
    let base = format!("http://{}/scim/v2", options.server.listen);
    let view = app
        .engine
        .registry()
        .resource_type("User")
        .ok_or("no User resource type")?;
    let ctx = RequestContext::new(Principal::new(TENANT, "preload"), base.as_str());
    for i in 0..options.preload {
        let mut attributes = bench_users::user_attributes(i);
        attributes["schemas"] = serde_json::json!([view.core_schema().id]);
        let attributes = attributes.as_object().cloned().unwrap_or_default();
        let meta = ResourceMeta::created_at(ctx.now);
        let user = StoredResource::from_map(bench_users::user_id(i), meta, attributes, Vec::new());
        app.store.create(&ctx, view, &user).await?;
    }
    eprintln!("preloaded {} users", options.preload);
    if options.seed_only {
        return Ok(());
    }
    let router = Router::new().nest("/scim/v2", scim_axum::router(app.engine.clone()));
    let listener = tokio::net::TcpListener::bind(options.server.listen).await?;
    announce(
        "axum, load test",
        listener.local_addr()?,
        &tokens,
        generated,
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

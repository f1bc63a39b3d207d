//! How long `POST /oauth/token` takes to refuse a client (RFC 6749 §5.2 `invalid_client`):
//! the same whether the secret is wrong in its first byte or its last, or the client id is
//! unknown, since the presented secret is hashed and the digests compared in constant time
//! (`subtle`). Figures in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use scim_examples::oauth::TokenEndpoint;
use std::hint::black_box;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn refusals(c: &mut Criterion) {
    let endpoint = TokenEndpoint::new(
        vec![format!("okta={SECRET}").parse().unwrap()],
        vec![
            "k1=a-signing-secret-of-at-least-32-bytes!!"
                .parse()
                .unwrap(),
        ],
        3600,
        "default",
    )
    .unwrap();
    let body = b"grant_type=client_credentials";
    let first = format!("X{}", &SECRET[1..]);
    let last = format!("{}X", &SECRET[..SECRET.len() - 1]);
    let cases = [
        ("wrong secret, first byte", basic("okta", &first)),
        ("wrong secret, last byte", basic("okta", &last)),
        ("unknown client id", basic("entra", SECRET)),
    ];
    let mut group = c.benchmark_group("token refusal");
    for (name, header) in &cases {
        let answer = endpoint.token(Some(header), body);
        assert_eq!(answer.status, 401, "{name}");
        group.bench_function(*name, |b| {
            b.iter_batched(
                || header.clone(),
                |header| black_box(endpoint.token(Some(&header), body)),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, refusals);
criterion_main!(benches);

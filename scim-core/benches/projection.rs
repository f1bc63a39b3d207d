//! Projection of the RFC 7643 §8.2 full user (RFC 7644 §3.4.2.5).
//!
//! `cargo bench -p scim-core --bench projection -- --measurement-time 3 --warm-up-time 1`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use scim_core::Tolerances;
use scim_core::projection::Projection;
use scim_core::resource::Resource;
use scim_core::schema::SchemaRegistry;
use serde_json::Value;

fn full_user() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rfc7643-8.2-full-user.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bench(c: &mut Criterion) {
    let registry = SchemaRegistry::default();
    let view = registry.resource_type("User").unwrap();
    let example = full_user();
    let mut user = Resource::from_client(view, example.clone(), &Tolerances::default()).unwrap();
    user.set_id(example["id"].as_str().unwrap());
    user.attributes_mut()
        .insert("meta".into(), example["meta"].clone());
    user.attributes_mut()
        .insert("groups".into(), example["groups"].clone());

    let selected = Projection::parse(Some("userName,emails"), None, view).unwrap();
    c.bench_function("projection/attributes=userName,emails", |b| {
        b.iter(|| black_box(&selected).apply_resource(black_box(&user)))
    });
    let excluded = Projection::parse(None, Some("emails,addresses,groups"), view).unwrap();
    c.bench_function(
        "projection/excludedAttributes=emails,addresses,groups",
        |b| b.iter(|| black_box(&excluded).apply_resource(black_box(&user))),
    );
    let default = Projection::default_for(view);
    c.bench_function("projection/default", |b| {
        b.iter(|| black_box(&default).apply_resource(black_box(&user)))
    });
    c.bench_function("projection/parse attributes=userName,emails", |b| {
        b.iter(|| Projection::parse(black_box(Some("userName,emails")), None, view).unwrap())
    });
    c.bench_function("resource/from_client full user", |b| {
        b.iter(|| {
            Resource::from_client(view, black_box(example.clone()), &Tolerances::default()).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

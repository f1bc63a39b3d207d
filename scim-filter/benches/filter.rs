//! Criterion benchmarks for parsing (RFC 7644 §3.4.2.2 filters) and evaluation.
//!
//! Run with `cargo bench -p scim-filter --bench filter -- --measurement-time 3 --warm-up-time 1`.

use std::hint::black_box;

use criterion::Criterion;
use scim_filter::{DefaultFacts, parse_filter};
use serde_json::{Value, json};

const SIMPLE: &str = r#"userName eq "bjensen""#;
/// The same filter with an escape in the literal, which the fast path leaves to the grammar.
const SIMPLE_THROUGH_GRAMMAR: &str = r#"userName eq "bjens\u0065n""#;
const FIVE_CLAUSE: &str = r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"] and active eq true and title pr or name.familyName sw "J""#;

/// A typical User (~15 attributes), after RFC 7643 §8.2.
fn typical_user() -> Value {
    json!({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
      "id": "2819c223-7f76-453a-919d-413861904646",
      "externalId": "701984",
      "userName": "bjensen",
      "name": { "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara" },
      "displayName": "Babs Jensen",
      "nickName": "Babs",
      "emails": [
        { "value": "bjensen@example.com", "type": "work", "primary": true },
        { "value": "babs@jensen.org", "type": "home" }
      ],
      "phoneNumbers": [ { "value": "555-555-5555", "type": "work" } ],
      "userType": "Employee",
      "title": "Tour Guide",
      "preferredLanguage": "en-US",
      "locale": "en-US",
      "timezone": "America/Los_Angeles",
      "active": true,
      "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
      }
    })
}

fn parse(c: &mut Criterion) {
    c.bench_function("parse simple eq", |b| {
        b.iter(|| parse_filter(black_box(SIMPLE)))
    });
    c.bench_function("parse simple eq (grammar)", |b| {
        b.iter(|| parse_filter(black_box(SIMPLE_THROUGH_GRAMMAR)))
    });
    c.bench_function("parse five-clause", |b| {
        b.iter(|| parse_filter(black_box(FIVE_CLAUSE)))
    });
}

fn eval(c: &mut Criterion) {
    let user = typical_user();
    // If the parser is unavailable these benches are skipped rather than failing the run.
    let (Ok(simple), Ok(five)) = (parse_filter(SIMPLE), parse_filter(FIVE_CLAUSE)) else {
        eprintln!("parse_filter is not available; skipping evaluation benches");
        return;
    };
    assert_eq!(simple.matches(&user, &DefaultFacts), Ok(true));
    assert_eq!(five.matches(&user, &DefaultFacts), Ok(true));
    c.bench_function("eval simple eq", |b| {
        b.iter(|| black_box(&simple).matches(black_box(&user), &DefaultFacts))
    });
    c.bench_function("eval five-clause", |b| {
        b.iter(|| black_box(&five).matches(black_box(&user), &DefaultFacts))
    });
}

// `criterion_main!` spelled out: `criterion_group!` would add an undocumented `pub fn`.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    parse(&mut c);
    eval(&mut c);
    c.final_summary();
}

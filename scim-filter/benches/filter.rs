//! Criterion benchmarks for parsing and evaluation (filled in with the parser).
fn main() {}

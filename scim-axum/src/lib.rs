//! axum adapter for the SCIM 2.0 engine in `scim-core` (RFC 7644 over HTTP).

//! SCIM 2.0 core: the RFC 7643 resource model and the RFC 7644 protocol engine.
//!
//! This crate is being built up issue by issue; see the workspace README.

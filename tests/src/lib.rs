//! Shared HTTP-level SCIM 2.0 test suite (filled in by the adapter work).

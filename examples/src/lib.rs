//! Example SCIM 2.0 host applications (filled in by the adapter work).

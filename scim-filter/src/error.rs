//! Parse errors with a byte offset and a message a client can act on.

/// Which SCIM error a [`FilterError`] becomes (RFC 7644 §3.12, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterErrorKind {
    /// `scimType: invalidFilter`: the `filter` parameter or a `valFilter` is malformed.
    InvalidFilter,
    /// `scimType: invalidPath`: a PATCH `path` is malformed.
    InvalidPath,
}

impl FilterErrorKind {
    /// The RFC 7644 §3.12 `scimType` string.
    pub fn scim_type(self) -> &'static str {
        match self {
            FilterErrorKind::InvalidFilter => "invalidFilter",
            FilterErrorKind::InvalidPath => "invalidPath",
        }
    }
}

/// A filter or path that could not be parsed or is over a limit.
///
/// `offset` is the byte offset into the input where the problem was found;
/// the `Display` form reads like `expected a comparison operator after `userName` at 9`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {offset}")]
pub struct FilterError {
    /// `invalidFilter` or `invalidPath`.
    pub kind: FilterErrorKind,
    /// Byte offset into the input.
    pub offset: usize,
    /// What is wrong and what was expected, without the offset.
    pub message: String,
}

impl FilterError {
    /// Builds an error.
    pub fn new(kind: FilterErrorKind, offset: usize, message: impl Into<String>) -> Self {
        Self {
            kind,
            offset,
            message: message.into(),
        }
    }

    /// The RFC 7644 §3.12 `scimType` for this error.
    pub fn scim_type(&self) -> &'static str {
        self.kind.scim_type()
    }
}

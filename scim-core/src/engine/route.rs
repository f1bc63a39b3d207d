//! Routing of a request path below the SCIM base (RFC 7644 §3.2, Table 1; §3.11 `/Me`;
//! §4 discovery endpoints).
//!
//! Endpoint names match case-insensitively (`/users` finds `/Users`), a trailing `/` is
//! ignored, and discovery endpoints take precedence over host resource types.

use crate::http::Method;
use crate::schema::{ResourceTypeView, SchemaRegistry};
use crate::text::{split_once_byte, trim_slashes};

/// Where a request path leads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route<'a> {
    /// `/` (root-level query, RFC 7644 §3.4.2.1).
    Root,
    /// `/.search` (root-level search, RFC 7644 §3.4.3).
    RootSearch,
    /// `/{endpoint}` of a resource type.
    Collection(&'a ResourceTypeView),
    /// `/{endpoint}/.search`.
    Search(&'a ResourceTypeView),
    /// `/{endpoint}/{id}`.
    Resource(&'a ResourceTypeView, &'a str),
    /// `/Me` (RFC 7644 §3.11).
    Me,
    /// `/ServiceProviderConfig` (RFC 7644 §4).
    ServiceProviderConfig,
    /// `/Schemas` or `/Schemas/{id}` (RFC 7644 §4).
    Schemas(Option<&'a str>),
    /// `/ResourceTypes` or `/ResourceTypes/{name}` (RFC 7644 §4).
    ResourceTypes(Option<&'a str>),
    /// `/Bulk` (RFC 7644 §3.7).
    Bulk,
    /// Nothing is served at this path.
    Unknown,
}

impl Route<'_> {
    /// The audit name of the resource type (or endpoint) the route addresses.
    pub(crate) fn resource_type(&self) -> &str {
        match self {
            Route::Collection(v) | Route::Search(v) | Route::Resource(v, _) => {
                &v.resource_type.name
            }
            Route::Root | Route::RootSearch => "*",
            Route::Me => "Me",
            Route::ServiceProviderConfig => "ServiceProviderConfig",
            Route::Schemas(_) => "Schema",
            Route::ResourceTypes(_) => "ResourceType",
            Route::Bulk => "Bulk",
            Route::Unknown => "-",
        }
    }
}

impl Route<'_> {
    /// Whether the endpoint serves `method` (an unknown path answers 404 whatever the
    /// method).
    pub(crate) fn allows(&self, method: Method) -> bool {
        matches!(self, Route::Unknown) || self.methods().contains(&method)
    }

    /// The methods the route supports, as the `Allow` header of a 405 lists them
    /// (RFC 9110 §10.2.1, §15.5.6).
    pub(crate) fn allowed_methods(&self) -> String {
        let names: Vec<&str> = self.methods().iter().map(|m| m.as_str()).collect();
        names.join(", ")
    }

    /// The methods the route supports.
    fn methods(&self) -> &'static [Method] {
        match self {
            Route::Root => &[Method::Get],
            Route::RootSearch | Route::Search(_) | Route::Bulk => &[Method::Post],
            Route::Collection(_) => &[Method::Get, Method::Post],
            Route::Resource(..) | Route::Me => {
                &[Method::Get, Method::Put, Method::Patch, Method::Delete]
            }
            Route::ServiceProviderConfig | Route::Schemas(_) | Route::ResourceTypes(_) => {
                &[Method::Get]
            }
            Route::Unknown => &[],
        }
    }
}

/// Whether `path` is `/Bulk`.
pub(crate) fn is_bulk(path: &str) -> bool {
    trim_slashes(path).eq_ignore_ascii_case("Bulk")
}

/// Resolves `path` (percent-decoded, below the SCIM base) against the registry.
pub(crate) fn parse<'a>(registry: &'a SchemaRegistry, path: &'a str) -> Route<'a> {
    let trimmed = trim_slashes(path);
    if trimmed.is_empty() {
        return Route::Root;
    }
    let (first, rest) = match split_once_byte(trimmed, b'/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (trimmed, None),
    };
    let is = |name: &str| first.eq_ignore_ascii_case(name);
    match rest {
        None if first == ".search" => Route::RootSearch,
        None if is("Me") => Route::Me,
        None if is("Bulk") => Route::Bulk,
        None if is("ServiceProviderConfig") => Route::ServiceProviderConfig,
        None if is("Schemas") => Route::Schemas(None),
        None if is("ResourceTypes") => Route::ResourceTypes(None),
        Some(id) if is("Schemas") && !id.contains('/') => Route::Schemas(Some(id)),
        Some(id) if is("ResourceTypes") && !id.contains('/') => Route::ResourceTypes(Some(id)),
        _ => {
            let Some(view) = registry.resource_type_by_endpoint(first) else {
                return Route::Unknown;
            };
            match rest {
                None => Route::Collection(view),
                Some(".search") => Route::Search(view),
                Some(id) if !id.is_empty() && !id.contains('/') => Route::Resource(view, id),
                Some(_) => Route::Unknown,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_paths() {
        let registry = SchemaRegistry::default();
        assert!(matches!(parse(&registry, "/"), Route::Root));
        assert!(matches!(parse(&registry, "/.search"), Route::RootSearch));
        assert!(matches!(parse(&registry, "/Users"), Route::Collection(_)));
        assert!(matches!(parse(&registry, "/users/"), Route::Collection(_)));
        assert!(matches!(
            parse(&registry, "/Groups/.search"),
            Route::Search(_)
        ));
        assert!(matches!(
            parse(&registry, "/Users/abc"),
            Route::Resource(_, "abc")
        ));
        assert!(matches!(parse(&registry, "/Users/abc/def"), Route::Unknown));
        assert!(matches!(parse(&registry, "/Widgets"), Route::Unknown));
        assert!(matches!(parse(&registry, "/Me"), Route::Me));
        assert!(matches!(parse(&registry, "/Bulk"), Route::Bulk));
        assert!(matches!(
            parse(&registry, "/Schemas/urn:x"),
            Route::Schemas(Some("urn:x"))
        ));
        assert!(matches!(
            parse(&registry, "/ServiceProviderConfig"),
            Route::ServiceProviderConfig
        ));
        assert!(is_bulk("/Bulk/"));
    }
}

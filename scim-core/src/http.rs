//! Framework-neutral HTTP request and response (RFC 7644 §3).
//!
//! Adapters translate their framework's request into a [`ScimRequest`] and the engine's
//! [`ScimResponse`] back; nothing here depends on a particular `http` crate version
//! (actix-web 4 uses `http` 0.2, axum 0.8 uses `http` 1.x).

use bytes::Bytes;
use std::borrow::Cow;

/// The media type of every SCIM response body (RFC 7644 §3.1, §8.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// `Retry-After` (RFC 9110 §10.2.3) of every 503 answer, in seconds: storage and token
/// revocation failures are usually over by then, and IdPs retry 5xx answers.
pub const RETRY_AFTER_SECONDS: &str = "5";

/// HTTP methods SCIM uses (RFC 7644 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// GET: retrieve (RFC 7644 §3.4).
    Get,
    /// POST: create, search or bulk (RFC 7644 §3.3, §3.4.3, §3.7).
    Post,
    /// PUT: replace (RFC 7644 §3.5.1).
    Put,
    /// PATCH: modify (RFC 7644 §3.5.2).
    Patch,
    /// DELETE: delete (RFC 7644 §3.6).
    Delete,
    /// HEAD, OPTIONS or anything else; answered with 405.
    Other,
}

impl Method {
    /// Parses a method name (case-sensitive, as HTTP methods are; RFC 9110 §9.1).
    pub fn from_name(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }

    /// The method name, e.g. `PATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Other => "OTHER",
        }
    }
}

/// Request headers, with case-insensitive names (RFC 9110 §5.1).
///
/// Adapters copy the headers the engine reads: `authorization`, `content-type`,
/// `content-length`, `if-match`, `if-none-match`, `accept` (copying all is fine; a host's
/// [`Authenticator`](crate::auth::Authenticator) may read others).
///
/// Every name and value lives in one text buffer, so copying a request's headers costs
/// two allocations (none more per header); [`Headers::with_capacity`] sizes it up front.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// The lower-case names and the values, back to back.
    text: String,
    /// Per header, where its name ends and where its value ends in `text`.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// No headers, with room for `count` headers of `bytes` name and value bytes in all
    /// (e.g. what the framework's header map holds).
    pub fn with_capacity(count: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// Appends a header; the name is stored lower-case.
    pub fn insert(&mut self, name: &str, value: impl AsRef<str>) {
        let start = self.text.len();
        self.text.push_str(name);
        if let Some(pushed) = self.text.get_mut(start..) {
            pushed.make_ascii_lowercase();
        }
        let name_end = self.text.len();
        self.text.push_str(value.as_ref());
        self.ends.push((name_end, self.text.len()));
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        let text = self.text.as_bytes();
        let mut start = 0;
        for &(name_end, value_end) in &self.ends {
            let matches = name_end - start == name.len()
                && text
                    .get(start..name_end)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
            if matches {
                return self.text.get(name_end..value_end);
            }
            start = value_end;
        }
        None
    }

    /// Every header as (lower-case name, value), in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let name = self.text.get(start..name_end).unwrap_or_default();
            let value = self.text.get(name_end..value_end).unwrap_or_default();
            start = value_end;
            (name, value)
        })
    }
}

/// A SCIM request as the engine sees it (RFC 7644 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScimRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path below the SCIM base, starting with `/`, e.g. `/Users/2819c223`, as it came
    /// (percent-encoded): the engine decodes it ([`decode_path`]), so every adapter routes
    /// the same path the same way.
    pub path: String,
    /// The raw (still percent-encoded) query string without `?`, if any.
    pub query: Option<String>,
    /// The request headers.
    pub headers: Headers,
    /// The request body.
    pub body: Bytes,
    /// The absolute URL of the SCIM base for this request, e.g.
    /// `https://app.example.com/scim/v2`; the engine uses it for `Location` and
    /// `meta.location` (RFC 7644 §3.1).
    pub base_url: String,
}

impl ScimRequest {
    /// A request with no query, no headers and an empty body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            headers: Headers::new(),
            body: Bytes::new(),
            base_url: String::new(),
        }
    }

    /// Sets the raw query string (without `?`).
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the absolute base URL of the SCIM service.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// A SCIM response (RFC 7644 §3): status, headers and body bytes (already serialized
/// `application/scim+json`, or empty).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScimResponse {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers (name, value); names are lower-case. Fixed values (the media
    /// type, `Retry-After`) are borrowed, so adapters hand them on without copying.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// The body.
    pub body: Bytes,
}

impl ScimResponse {
    /// A response with the given status, no headers and no body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The SCIM error response for `err` (RFC 7644 §3.12): its status, an
    /// `application/scim+json` error body, `WWW-Authenticate: Bearer` on 401
    /// (RFC 6750 §3) and `Retry-After` on 503. Adapters use it for failures before the engine runs (e.g. a body over
    /// the size limit).
    pub fn from_error(err: &crate::error::ScimError) -> Self {
        let body = serde_json::to_vec(&err.to_json()).unwrap_or_default();
        let mut response =
            ScimResponse::new(err.status()).with_header("content-type", SCIM_MEDIA_TYPE);
        if err.status() == 401 {
            response = response.with_header("www-authenticate", "Bearer realm=\"SCIM\"");
        }
        if err.status() == 503 {
            // The failures behind a 503 (storage, token revocation) are usually transient.
            response = response.with_header("retry-after", RETRY_AFTER_SECONDS);
        }
        response.body = body.into();
        response
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// Parses the body as JSON (for tests and clients); `Value::Null` when empty or invalid.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Where the absolute SCIM base URL (for `Location` and `meta.location`, RFC 7644 §3.1)
/// comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BaseUrl {
    /// From the request: the scheme of the connection (`https` only when the server itself
    /// terminates TLS; adapters never take it from the request), its `Host` header and the
    /// path the SCIM service is mounted under (e.g. `http://127.0.0.1:8080/scim/v2`).
    /// Forwarding headers are ignored. The default.
    #[default]
    FromRequest,
    /// From the request, but trusting what a reverse proxy says about the original request:
    /// the first `Forwarded` element's `proto` and `host` (RFC 7239 §4), else
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`. Only enable this behind a proxy that
    /// sets (and overwrites) these headers: otherwise clients choose the URLs the service
    /// reports. A forwarded scheme other than `http`/`https`, or a host with characters a
    /// host cannot have, is ignored.
    FromRequestTrustingForwardedHeaders,
    /// A fixed base URL, e.g. `https://app.example.com/scim/v2` (recommended in production).
    Fixed(String),
}

impl BaseUrl {
    /// The base URL for a request that arrived over a connection of `scheme` (`http` or
    /// `https`: what the server knows of the connection, not what the request says) with
    /// these `headers`, with SCIM mounted at `mount_path` (e.g. `/scim/v2`, or empty at the
    /// root). RFC 7644 §3.1 (`Location`, `meta.location`).
    pub fn resolve(&self, scheme: &str, headers: &Headers, mount_path: &str) -> String {
        let mount_path = mount_path.trim_end_matches('/');
        let scheme = valid_scheme(scheme).unwrap_or("http");
        let host = || {
            headers
                .get("host")
                .filter(|h| is_host(h))
                .unwrap_or("localhost")
        };
        match self {
            BaseUrl::Fixed(url) => url.trim_end_matches('/').to_owned(),
            BaseUrl::FromRequest => absolute_url(scheme, host(), mount_path),
            BaseUrl::FromRequestTrustingForwardedHeaders => {
                let forwarded = headers.get("forwarded").map(first_forwarded_element);
                let first = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.split(',').next())
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                };
                let scheme = forwarded
                    .and_then(|f| f.proto)
                    .or_else(|| first("x-forwarded-proto"))
                    .and_then(valid_scheme)
                    .unwrap_or(scheme);
                let host = forwarded
                    .and_then(|f| f.host)
                    .or_else(|| first("x-forwarded-host"))
                    .filter(|h| is_host(h))
                    .unwrap_or_else(host);
                absolute_url(scheme, host, mount_path)
            }
        }
    }
}

/// `http` or `https` (compared case-insensitively, RFC 3986 §3.1), as written in URLs.
fn valid_scheme(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// Whether `host` can be the authority of a URL we write: a name, IPv4 or bracketed IPv6
/// address with an optional port (RFC 3986 §3.2.2, §3.2.3); nothing that would end the
/// authority (`/`, `?`, `#`, `@`) or break the header.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:[]".contains(&b))
}

/// `proto` and `host` of the first element of a `Forwarded` header (RFC 7239 §4): the one
/// the proxy nearest the client added.
#[derive(Debug, Clone, Copy, Default)]
struct ForwardedElement<'a> {
    proto: Option<&'a str>,
    host: Option<&'a str>,
}

fn first_forwarded_element(header: &str) -> ForwardedElement<'_> {
    let mut element = ForwardedElement::default();
    let first = header.split(',').next().unwrap_or_default();
    for pair in first.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim();
        // A quoted-string value (RFC 7230 §3.2.6); forwarded hosts need no escapes.
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        match name.trim() {
            n if n.eq_ignore_ascii_case("proto") => element.proto = Some(value),
            n if n.eq_ignore_ascii_case("host") => element.host = Some(value),
            _ => {}
        }
    }
    element
}

/// Decodes `%XX` escapes in a request path (RFC 3986 §2.1) as the engine routes on decoded
/// segments (`/Schemas/urn%3Aietf…` is `/Schemas/urn:ietf…`). Invalid escapes stay as
/// they are; bytes that are not UTF-8 after decoding become U+FFFD. Borrows `path` when
/// it has no `%`.
pub fn decode_path(path: &str) -> Cow<'_, str> {
    if path.contains('%') {
        percent_encoding::percent_decode_str(path).decode_utf8_lossy()
    } else {
        Cow::Borrowed(path)
    }
}

/// `{scheme}://{host}{path}`, built in one allocation of the exact size (this runs for
/// every request).
fn absolute_url(scheme: &str, host: &str, path: &str) -> String {
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + path.len());
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    url.push_str(path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_order_and_match_names_case_insensitively() {
        let mut headers = Headers::with_capacity(1, 8);
        headers.insert("Content-Type", "application/scim+json");
        headers.insert("X-Empty", "");
        headers.insert("If-Match", String::from("W/\"3\""));
        headers.insert("content-type", "text/plain");
        assert_eq!(headers.get("CONTENT-TYPE"), Some("application/scim+json"));
        assert_eq!(headers.get("x-empty"), Some(""));
        assert_eq!(headers.get("if-match"), Some("W/\"3\""));
        assert_eq!(headers.get("accept"), None);
        let all: Vec<_> = headers.iter().collect();
        assert_eq!(
            all,
            [
                ("content-type", "application/scim+json"),
                ("x-empty", ""),
                ("if-match", "W/\"3\""),
                ("content-type", "text/plain"),
            ]
        );
        assert_eq!(Headers::new().iter().count(), 0);
    }

    #[test]
    fn trusted_forwarding_prefers_forwarded_and_ignores_what_cannot_be_a_url() {
        let trusting = BaseUrl::FromRequestTrustingForwardedHeaders;
        let resolve = |pairs: &[(&str, &str)]| {
            let mut headers = Headers::new();
            headers.insert("host", "internal:8080");
            for (name, value) in pairs {
                headers.insert(name, value);
            }
            trusting.resolve("http", &headers, "/scim/v2")
        };
        assert_eq!(resolve(&[]), "http://internal:8080/scim/v2");
        assert_eq!(
            resolve(&[
                (
                    "Forwarded",
                    r#"For="[2001:db8::1]:4711";Proto=HTTPS;Host="a.example:8443", for=10.0.0.2"#
                ),
                ("X-Forwarded-Host", "b.example"),
                ("X-Forwarded-Proto", "http"),
            ]),
            "https://a.example:8443/scim/v2"
        );
        // Only some facts in `Forwarded`: the others come from X-Forwarded-*.
        assert_eq!(
            resolve(&[
                ("Forwarded", "for=1.2.3.4;proto=https"),
                ("X-Forwarded-Host", "b.example, c")
            ]),
            "https://b.example/scim/v2"
        );
        assert_eq!(
            resolve(&[
                ("X-Forwarded-Proto", "ftp"),
                ("X-Forwarded-Host", "x.example/evil?")
            ]),
            "http://internal:8080/scim/v2"
        );
        assert_eq!(
            resolve(&[("Forwarded", "proto=javascript;host=\"a b\"")]),
            "http://internal:8080/scim/v2"
        );
        // Without trust, none of it counts; a Host that is not a host becomes localhost.
        let mut headers = Headers::new();
        headers.insert("host", "evil.example/x");
        headers.insert("forwarded", "proto=https;host=a.example");
        assert_eq!(
            BaseUrl::FromRequest.resolve("https", &headers, ""),
            "https://localhost"
        );
    }

    #[test]
    fn paths_are_decoded_once_and_borrowed_when_plain() {
        assert!(matches!(
            decode_path("/Users/abc"),
            Cow::Borrowed("/Users/abc")
        ));
        assert_eq!(decode_path("/Schemas/urn%3Aa%3Ab"), "/Schemas/urn:a:b");
        assert_eq!(decode_path("/Users/a%2Fb"), "/Users/a/b");
        assert_eq!(decode_path("/Users/100%"), "/Users/100%");
        assert_eq!(decode_path("/Users/%zz"), "/Users/%zz");
        assert_eq!(decode_path("/Users/%FF"), "/Users/\u{FFFD}");
        assert_eq!(decode_path("/Users/%25"), "/Users/%");
    }

    #[test]
    fn base_url_from_request_uses_host_and_mount_path() {
        let mut headers = Headers::new();
        headers.insert("Host", "app.example.com:8080");
        headers.insert("X-Forwarded-Proto", "https");
        assert_eq!(
            BaseUrl::FromRequest.resolve("http", &headers, "/scim/v2/"),
            "http://app.example.com:8080/scim/v2"
        );
        assert_eq!(
            BaseUrl::FromRequestTrustingForwardedHeaders.resolve("http", &headers, "/scim/v2"),
            "https://app.example.com:8080/scim/v2"
        );
        assert_eq!(
            BaseUrl::Fixed("https://scim.example.com/v2/".into()).resolve("http", &headers, "/x"),
            "https://scim.example.com/v2"
        );
    }
}

//! The example servers' OAuth 2.0 token endpoint (`POST /oauth/token`): the client
//! credentials grant (RFC 6749 §4.4) for configured clients, issuing short-lived JWT access
//! tokens (RFC 9068) that the SCIM channel verifies with `scim_core::jwt`.
//!
//! * Clients come from `--oauth-client 'ID=SECRET[ SCOPE …]'`; only the SHA-256 of each
//!   secret is kept, and a presented secret is compared in constant time (an unknown
//!   client id costs the same comparison). Client authentication by HTTP Basic
//!   (RFC 6749 §2.3.1) or by `client_id`/`client_secret` form fields.
//! * Tokens are signed HS256 with the first `--oauth-signing-key KID=SECRET`; every
//!   configured key verifies, so replicas given the same keys accept each other's tokens
//!   and a key is rotated by adding the new one first.
//! * Errors are RFC 6749 §5.2's: `invalid_request`, `invalid_client` (401),
//!   `unsupported_grant_type`, `invalid_scope` (400). Removing a client from the
//!   configuration stops new tokens at once; issued ones live until they expire.

use base64::Engine as _;
use scim_core::jwt::{JwtAuthenticator, JwtKey, SCOPE_READ, SCOPE_WRITE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The `iss` of the tokens the example servers issue (and accept).
pub const ISSUER: &str = "urn:scim-examples:oauth";
/// The `aud` of those tokens: the SCIM service.
pub const AUDIENCE: &str = "urn:scim-examples:scim";

/// One OAuth client of the configuration.
#[derive(Clone)]
pub struct OAuthClient {
    id: String,
    secret_digest: [u8; 32],
    scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("id", &self.id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for OAuthClient {
    type Err = String;

    /// `ID=SECRET`, optionally followed by the scopes it may have, space-separated
    /// (default `scim:read scim:write`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (id, rest) = text
            .split_once('=')
            .ok_or_else(|| "an OAuth client is `ID=SECRET[ SCOPE …]`".to_owned())?;
        let mut words = rest.split_ascii_whitespace();
        let secret = words.next().unwrap_or_default();
        if id.trim().is_empty() || secret.len() < 16 {
            return Err(format!(
                "the OAuth client `{}` needs an id and a secret of at least 16 characters",
                id.trim()
            ));
        }
        let mut scopes: Vec<String> = words.map(str::to_owned).collect();
        if scopes.is_empty() {
            scopes = vec![SCOPE_READ.to_owned(), SCOPE_WRITE.to_owned()];
        }
        Ok(Self {
            id: id.trim().to_owned(),
            secret_digest: Sha256::digest(secret.as_bytes()).into(),
            scopes,
        })
    }
}

/// One signing key of the configuration: `KID=SECRET` (HS256, at least 32 bytes).
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for SigningKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kid, secret) = text
            .split_once('=')
            .ok_or_else(|| "a signing key is `KID=SECRET`".to_owned())?;
        if kid.trim().is_empty() || secret.len() < 32 {
            return Err(format!(
                "the signing key `{}` needs a key id and a secret of at least 32 bytes (RFC 7518 §3.2)",
                kid.trim()
            ));
        }
        Ok(Self {
            kid: kid.trim().to_owned(),
            secret: secret.as_bytes().to_vec(),
        })
    }
}

/// The token endpoint's state.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    clients: Vec<OAuthClient>,
    keys: Vec<SigningKey>,
    ttl_seconds: u64,
    tenant: String,
}

/// An answer of the token endpoint: status, JSON body and whether to challenge with Basic.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (RFC 6749 §5.1 or §5.2).
    pub body: Value,
    /// Whether a 401 carries `WWW-Authenticate: Basic` (the client tried Basic).
    pub basic_challenge: bool,
}

fn error(status: u16, code: &str, description: &str) -> TokenResponse {
    TokenResponse {
        status,
        body: json!({"error": code, "error_description": description}),
        basic_challenge: false,
    }
}

impl TokenEndpoint {
    /// The endpoint for these clients, signing with the first of `keys`, tokens valid for
    /// `ttl_seconds`, all of `tenant`. `None` without keys (the endpoint is off).
    pub fn new(
        clients: Vec<OAuthClient>,
        keys: Vec<SigningKey>,
        ttl_seconds: u64,
        tenant: &str,
    ) -> Option<Self> {
        (!keys.is_empty()).then(|| Self {
            clients,
            keys,
            ttl_seconds,
            tenant: tenant.to_owned(),
        })
    }

    /// The authenticator that verifies the tokens of every configured key.
    pub fn authenticator(&self) -> JwtAuthenticator {
        self.keys
            .iter()
            .fold(JwtAuthenticator::new(ISSUER, AUDIENCE), |auth, key| {
                auth.with_key(key.kid.clone(), JwtKey::hs256(&key.secret))
            })
    }

    /// `POST /oauth/token` with this `Authorization` header and form body.
    pub fn token(&self, authorization: Option<&str>, body: &[u8]) -> TokenResponse {
        let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let field = |name: &str| {
            let mut values = form
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            match (values.next(), values.next()) {
                (Some(v), None) => Ok(Some(v)),
                (None, _) => Ok(None),
                // RFC 6749 §3.2: parameters must not be repeated.
                (Some(_), Some(_)) => Err(error(
                    400,
                    "invalid_request",
                    &format!("`{name}` is given more than once"),
                )),
            }
        };
        let (grant_type, scope, form_id, form_secret) = match (
            field("grant_type"),
            field("scope"),
            field("client_id"),
            field("client_secret"),
        ) {
            (Ok(g), Ok(s), Ok(i), Ok(c)) => (g, s, i, c),
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return e,
        };
        let basic = authorization.and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        });
        let (client_id, secret) = match (basic, form_id, form_secret) {
            (Some(_), _, Some(_)) => {
                return error(
                    400,
                    "invalid_request",
                    "authenticate with HTTP Basic or with client_secret, not both (RFC 6749 §2.3)",
                );
            }
            (Some(encoded), _, None) => match decode_basic(encoded) {
                Some(pair) => pair,
                None => {
                    let mut refused =
                        error(401, "invalid_client", "malformed HTTP Basic credentials");
                    refused.basic_challenge = true;
                    return refused;
                }
            },
            (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            (None, ..) => {
                return error(
                    401,
                    "invalid_client",
                    "client authentication required: HTTP Basic or client_id and client_secret",
                );
            }
        };
        let Some(client) = self.authenticate(&client_id, &secret) else {
            let mut refused = error(401, "invalid_client", "unknown client or wrong secret");
            refused.basic_challenge = basic.is_some();
            return refused;
        };
        match grant_type {
            Some("client_credentials") => {}
            Some(other) => {
                return error(
                    400,
                    "unsupported_grant_type",
                    &format!("`{other}` is not supported; use client_credentials"),
                );
            }
            None => return error(400, "invalid_request", "`grant_type` is missing"),
        }
        let granted: Vec<&str> = match scope {
            None => client.scopes.iter().map(String::as_str).collect(),
            Some(requested) => {
                let requested: Vec<&str> = requested.split_ascii_whitespace().collect();
                if let Some(denied) = requested
                    .iter()
                    .find(|s| !client.scopes.iter().any(|a| a == *s))
                {
                    return error(
                        400,
                        "invalid_scope",
                        &format!("the client may not have the scope `{denied}`"),
                    );
                }
                requested
            }
        };
        self.issue(client, &granted.join(" "))
    }

    /// The client `id` when `secret` is its secret. Every call hashes and compares once, in
    /// constant time, whether or not the id is known.
    fn authenticate(&self, id: &str, secret: &str) -> Option<&OAuthClient> {
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let client = self.clients.iter().find(|c| c.id == id);
        let expected = client.map_or([0u8; 32], |c| c.secret_digest);
        let matches = bool::from(expected.ct_eq(&presented));
        client.filter(|_| matches)
    }

    fn issue(&self, client: &OAuthClient, scope: &str) -> TokenResponse {
        let Some(key) = self.keys.first() else {
            return error(500, "server_error", "no signing key");
        };
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.ttl_seconds).unwrap_or(3600);
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": client.id, "client_id": client.id,
            "tenant": self.tenant, "scope": scope, "iat": now, "exp": now + ttl,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        header.typ = Some("at+jwt".into());
        let signing = jsonwebtoken::EncodingKey::from_secret(&key.secret);
        match jsonwebtoken::encode(&header, &claims, &signing) {
            Ok(token) => TokenResponse {
                status: 200,
                body: json!({
                    "access_token": token, "token_type": "Bearer",
                    "expires_in": self.ttl_seconds, "scope": scope,
                }),
                basic_challenge: false,
            },
            Err(_) => error(500, "server_error", "the token could not be signed"),
        }
    }
}

/// `client_id:client_secret` of an HTTP Basic credential (RFC 7617; RFC 6749 §2.3.1 says
/// both are form-urlencoded first).
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

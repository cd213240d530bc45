//! Authentication: the `AuthUser` extractor and the two ways a token is verified.
//!
//! * **Clerk** (production): RS256 session JWTs checked against the instance JWKS, cached and
//!   refetched once when a token names an unknown `kid`; `exp`/`nbf`/`iat` with 5 s leeway;
//!   `iss` and `azp` checked when configured.
//! * **Dev** (local): HS256 tokens minted by `relivchats token`; refused in production by the
//!   configuration loader.
//!
//! Either way the token's `sub` is the only identity. The first time a valid token is seen the
//! user row and its signup bonus are created (once, whatever the concurrency).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{extract::FromRequestParts, http::request::Parts};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use relivchats_domain::UserId;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::{AppState, error::ApiError, ledger};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, as Clerk's own SDK does.
pub const LEEWAY_SECS: u64 = 5;
/// Issuer written into dev tokens.
pub const DEV_ISSUER: &str = "relivchats-dev";
/// How long fetched keys are trusted before they are fetched again, unless configured.
pub const DEFAULT_JWKS_TTL: Duration = Duration::from_secs(300);
/// After a refetch caused by an unknown `kid`, further unknown kids wait this long before
/// causing another: a flood of forged kids cannot turn into a flood of JWKS requests.
const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(10);
/// How long cached keys stay usable when Clerk cannot be reached (keys rotate rarely, and a
/// rotated-out key is removed by the next successful fetch).
const JWKS_MAX_STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// After a failed refetch, how long requests use the stale keys before one tries again.
const FAILED_FETCH_COOLDOWN: Duration = Duration::from_secs(30);

/// Keys and signing secrets: one redacting type for the whole workspace.
pub use relivchats_domain::secret::Secret;

/// Where the Clerk keys come from and what the tokens must say.
#[derive(Debug, Clone)]
pub struct ClerkSettings {
    /// The Frontend API's `/.well-known/jwks.json` or the Backend API's `/v1/jwks`.
    pub jwks_url: String,
    /// How long fetched keys are used before they are fetched again (`CLERK_JWKS_TTL_SECS`).
    pub jwks_ttl: Duration,
    /// Sent as a bearer token to the Backend API's JWKS endpoint.
    pub secret_key: Option<Secret>,
    pub issuer: Option<String>,
    pub authorized_parties: Vec<String>,
}

/// How tokens are verified.
#[derive(Debug, Clone)]
pub enum AuthSettings {
    Dev { secret: Secret },
    Clerk(ClerkSettings),
}

/// A verified token: who is calling.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub email: Option<String>,
}

/// Why a request is not authenticated. Every variant becomes a 401 with a sentence, except an
/// unreachable key service, which is our problem (503), not the caller's.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Authentication required: send 'Authorization: Bearer <token>' or sign in again.")]
    Missing,
    #[error("Only Bearer tokens are accepted in the Authorization header.")]
    WrongScheme,
    #[error("The token is malformed.")]
    Malformed,
    #[error("Tokens signed with {0} are not accepted here.")]
    AlgorithmNotAllowed(String),
    #[error("The token names a signing key this service does not know.")]
    UnknownKey,
    #[error("Your session has expired. Please sign in again.")]
    Expired,
    #[error("The token is not valid yet.")]
    NotYetValid,
    #[error("The token's signature is not valid.")]
    BadSignature,
    #[error("The token was issued by an unexpected issuer.")]
    WrongIssuer,
    #[error("The token was issued for another site (azp {0:?}).")]
    WrongParty(String),
    #[error("The token does not say which site it was issued for (no azp claim).")]
    MissingParty,
    #[error("The token does not name a valid user: {0}")]
    BadSubject(String),
    #[error("The token is not valid.")]
    Invalid,
    #[error("The sign-in service could not be reached to verify the token; please try again.")]
    KeysUnavailable(#[source] anyhow::Error),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::KeysUnavailable(cause) => {
                tracing::warn!(error = ?cause, "JWKS fetch failed");
                ApiError::ServiceUnavailable(
                    "The sign-in service could not be reached to verify the token; please try again."
                        .to_owned(),
                )
            }
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

fn map_jwt_error(err: &jsonwebtoken::errors::Error) -> AuthError {
    match err.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthError::AlgorithmNotAllowed("this algorithm".to_owned())
        }
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => AuthError::Malformed,
        _ => AuthError::Invalid,
    }
}

/// Claims of a dev-auth token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// Mints a dev-auth token for `sub`, valid for `ttl`.
pub fn mint_dev_token(
    secret: &Secret,
    sub: &UserId,
    email: Option<&str>,
    ttl: Duration,
) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = DevClaims {
        sub: sub.to_string(),
        email: email.map(str::to_owned),
        iss: DEV_ISSUER.to_owned(),
        iat: now,
        exp: now + i64::try_from(ttl.as_secs())?,
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )?)
}

#[derive(Debug, Deserialize)]
struct ClerkClaims {
    sub: String,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    /// When a refetch for an unknown `kid` last ran while the keys were fresh (rate limit).
    last_unknown_kid_refetch: Option<Instant>,
    /// Refetches attempted, successful or not, so waiters can tell one already happened.
    attempts: u64,
    /// When the last refetch failed, if none has succeeded since.
    last_failure: Option<Instant>,
}

impl KeySet {
    fn is_fresh(&self, ttl: Duration) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() < ttl)
    }

    /// Cached keys may still be used: fetched within [`JWKS_MAX_STALE`].
    fn usable_stale(&self) -> bool {
        self.fetched_at
            .is_some_and(|t| t.elapsed() < JWKS_MAX_STALE)
    }

    /// A stale key, served without a refetch while the last refetch failed recently.
    fn stale_while_failing(&self, kid: &str) -> Option<DecodingKey> {
        let failing = self
            .last_failure
            .is_some_and(|t| t.elapsed() < FAILED_FETCH_COOLDOWN);
        (failing && self.usable_stale())
            .then(|| self.by_kid.get(kid).cloned())
            .flatten()
    }
}

/// The Clerk JWKS, fetched lazily and cached.
struct JwksCache {
    settings: ClerkSettings,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    refetch: Mutex<()>,
}

impl JwksCache {
    /// The key for `kid`: from the cache while it is fresh; otherwise one refetch at a time
    /// (single flight: requests waiting behind a refetch use its result instead of fetching
    /// again). When a refetch fails, keys fetched within [`JWKS_MAX_STALE`] keep being served,
    /// and no new attempt is made for [`FAILED_FETCH_COOLDOWN`]: a blip at Clerk must not sign
    /// everyone out, nor queue every request behind a 10-second timeout.
    async fn key_for(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let ttl = self.settings.jwks_ttl;
        let attempts_seen = {
            let keys = self.keys.read().await;
            if keys.is_fresh(ttl)
                && let Some(key) = keys.by_kid.get(kid)
            {
                return Ok(key.clone());
            }
            if let Some(key) = keys.stale_while_failing(kid) {
                return Ok(key);
            }
            keys.attempts
        };
        let _guard = self.refetch.lock().await;
        {
            let keys = self.keys.read().await;
            if keys.attempts != attempts_seen {
                // Someone refetched while we waited: use what they got.
                if let Some(key) = keys.by_kid.get(kid)
                    && (keys.is_fresh(ttl) || keys.usable_stale())
                {
                    return Ok(key.clone());
                }
                return Err(match &keys.last_failure {
                    Some(_) if !keys.usable_stale() => AuthError::KeysUnavailable(anyhow::anyhow!(
                        "the JWKS refetch a moment ago failed"
                    )),
                    _ => AuthError::UnknownKey,
                });
            }
            if keys.is_fresh(ttl) {
                let cooling = keys
                    .last_unknown_kid_refetch
                    .is_some_and(|t| t.elapsed() < UNKNOWN_KID_COOLDOWN);
                if cooling {
                    return Err(AuthError::UnknownKey);
                }
            }
        }
        let fresh_before = self.keys.read().await.is_fresh(ttl);
        let fetched = self.fetch().await;
        let mut keys = self.keys.write().await;
        keys.attempts += 1;
        match fetched {
            Ok(fetched) => {
                keys.by_kid = fetched;
                keys.fetched_at = Some(Instant::now());
                keys.last_failure = None;
                if fresh_before {
                    keys.last_unknown_kid_refetch = Some(Instant::now());
                }
                keys.by_kid.get(kid).cloned().ok_or(AuthError::UnknownKey)
            }
            Err(e) => {
                keys.last_failure = Some(Instant::now());
                match keys.by_kid.get(kid) {
                    Some(key) if keys.usable_stale() => {
                        tracing::warn!(error = ?e, "JWKS refetch failed; serving the cached keys");
                        Ok(key.clone())
                    }
                    _ => Err(AuthError::KeysUnavailable(e)),
                }
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let mut request = self.http.get(&self.settings.jwks_url);
        if let Some(secret) = &self.settings.secret_key {
            request = request.bearer_auth(secret.expose());
        }
        let jwks: Jwks = request.send().await?.error_for_status()?.json().await?;
        let mut out = HashMap::new();
        for jwk in jwks.keys {
            if let (Some(kid), "RSA", Some(n), Some(e)) = (jwk.kid, jwk.kty.as_str(), jwk.n, jwk.e)
            {
                out.insert(kid, DecodingKey::from_rsa_components(&n, &e)?);
            }
        }
        tracing::info!(keys = out.len(), "fetched the Clerk JWKS");
        Ok(out)
    }
}

/// Verifies tokens according to the configured mode.
pub struct Authenticator {
    mode: Mode,
}

enum Mode {
    Dev { key: DecodingKey },
    Clerk(Box<JwksCache>),
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Dev { .. } => "dev",
            Mode::Clerk(_) => "clerk",
        };
        f.debug_struct("Authenticator")
            .field("mode", &mode)
            .finish()
    }
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let mode = match settings {
            AuthSettings::Dev { secret } => Mode::Dev {
                key: DecodingKey::from_secret(secret.expose().as_bytes()),
            },
            AuthSettings::Clerk(clerk) => Mode::Clerk(Box::new(JwksCache {
                settings: clerk.clone(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .connect_timeout(Duration::from_secs(5))
                    .build()?,
                keys: RwLock::default(),
                refetch: Mutex::new(()),
            })),
        };
        Ok(Self { mode })
    }

    /// Checks a raw token and returns who it names.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| match declared_alg(token) {
            // `alg: none` and other names jsonwebtoken does not even parse.
            Some(alg) => AuthError::AlgorithmNotAllowed(alg),
            None => AuthError::Malformed,
        })?;
        match &self.mode {
            Mode::Dev { key } => {
                if header.alg != Algorithm::HS256 {
                    return Err(AuthError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
                }
                let mut validation = Validation::new(Algorithm::HS256);
                validation.leeway = LEEWAY_SECS;
                validation.set_issuer(&[DEV_ISSUER]);
                validation.set_required_spec_claims(&["exp", "sub", "iss"]);
                let data = jsonwebtoken::decode::<DevClaims>(token, key, &validation)
                    .map_err(|e| map_jwt_error(&e))?;
                let user_id = UserId::parse(&data.claims.sub)
                    .map_err(|e| AuthError::BadSubject(e.to_string()))?;
                Ok(VerifiedToken {
                    user_id,
                    email: data.claims.email,
                })
            }
            Mode::Clerk(jwks) => {
                if !matches!(
                    header.alg,
                    Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
                ) {
                    return Err(AuthError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
                }
                let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
                let key = jwks.key_for(kid).await?;
                let mut validation = Validation::new(header.alg);
                validation.leeway = LEEWAY_SECS;
                validation.validate_nbf = true;
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "sub"]);
                if let Some(issuer) = &jwks.settings.issuer {
                    validation.set_issuer(&[issuer]);
                }
                let data = jsonwebtoken::decode::<ClerkClaims>(token, &key, &validation)
                    .map_err(|e| map_jwt_error(&e))?;
                let claims = data.claims;
                let now = chrono::Utc::now().timestamp();
                if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS as i64) {
                    return Err(AuthError::NotYetValid);
                }
                let parties = &jwks.settings.authorized_parties;
                if !parties.is_empty() {
                    // With allowed parties configured, a token must say which site it is for.
                    match &claims.azp {
                        Some(azp) if parties.iter().any(|p| p == azp) => {}
                        Some(azp) => return Err(AuthError::WrongParty(azp.clone())),
                        None => return Err(AuthError::MissingParty),
                    }
                }
                let user_id =
                    UserId::parse(&claims.sub).map_err(|e| AuthError::BadSubject(e.to_string()))?;
                Ok(VerifiedToken {
                    user_id,
                    email: claims.email,
                })
            }
        }
    }
}

/// The `alg` a token's header declares, read without trusting anything else in it.
fn declared_alg(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// The raw token of a request: the `Authorization: Bearer` header, else the `__session` cookie.
fn token_from_parts(parts: &Parts) -> Result<String, AuthError> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::WrongScheme)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::WrongScheme);
        }
        let token = token.trim();
        return if token.is_empty() {
            Err(AuthError::Missing)
        } else {
            Ok(token.to_owned())
        };
    }
    let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
    jar.get("__session")
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::Missing)
}

/// A verified token without touching the database (used by `POST /api/users/store`, which
/// creates or reactivates the user itself).
#[derive(Debug, Clone)]
pub struct AuthClaims(pub VerifiedToken);

impl FromRequestParts<AppState> for AuthClaims {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_from_parts(parts)?;
        Ok(Self(state.auth.verify(&token).await?))
    }
}

/// An authenticated, active user. Creates the user (with the signup bonus, once) the first time
/// their token is seen.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub email: Option<String>,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AuthClaims(token) = AuthClaims::from_request_parts(parts, state).await?;
        let user = ledger::ensure_user(&state.pool, &token.user_id, token.email.as_deref()).await?;
        if user.is_deleted {
            return Err(ApiError::Unauthorized(
                "This account has been deleted. Sign in again to reactivate it.".to_owned(),
            ));
        }
        Ok(Self {
            user_id: token.user_id,
            email: token.email,
        })
    }
}

/// Shared handle to the authenticator.
pub type SharedAuthenticator = Arc<Authenticator>;

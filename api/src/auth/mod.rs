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
//!
//! The Clerk key cache is in [`jwks`] (it is the part that talks to the network and must
//! survive Clerk being down), token verification and dev tokens in [`tokens`]; this module
//! holds what the rest of the API names: the settings, the errors and the extractors.

mod jwks;
mod tokens;

use std::{sync::Arc, time::Duration};

use axum::{extract::FromRequestParts, http::request::Parts};
use relivchats_domain::UserId;

pub use tokens::{Authenticator, DevClaims, mint_dev_token};

use crate::{AppState, error::ApiError, ledger};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, as Clerk's own SDK does.
pub const LEEWAY_SECS: u64 = 5;
/// Issuer written into dev tokens.
pub const DEV_ISSUER: &str = "relivchats-dev";
/// How long fetched keys are trusted before they are fetched again, unless configured.
pub const DEFAULT_JWKS_TTL: Duration = Duration::from_secs(300);

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

//! Verifying a token by the configured mode (Clerk's RS256 session JWTs or local HS256 dev
//! tokens) and minting dev tokens: what a token must say to name a user.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use relivchats_domain::UserId;
use serde::{Deserialize, Serialize};

use super::{
    AuthError, AuthSettings, DEV_ISSUER, LEEWAY_SECS, Secret, VerifiedToken, jwks::JwksCache,
};

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
            AuthSettings::Clerk(clerk) => Mode::Clerk(Box::new(JwksCache::new(clerk.clone())?)),
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
                if let Some(issuer) = &jwks.settings().issuer {
                    validation.set_issuer(&[issuer]);
                }
                let data = jsonwebtoken::decode::<ClerkClaims>(token, &key, &validation)
                    .map_err(|e| map_jwt_error(&e))?;
                let claims = data.claims;
                let now = chrono::Utc::now().timestamp();
                if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS as i64) {
                    return Err(AuthError::NotYetValid);
                }
                let parties = &jwks.settings().authorized_parties;
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

//! Clerk's signing keys: fetched lazily, cached, refetched once for an unknown `kid`, and
//! served stale while Clerk cannot be reached, so a blip there neither signs everyone out nor
//! turns a flood of forged kids into a flood of requests.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::{AuthError, ClerkSettings};

/// After a refetch caused by an unknown `kid`, further unknown kids wait this long before
/// causing another: a flood of forged kids cannot turn into a flood of JWKS requests.
const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(10);
/// How long cached keys stay usable when Clerk cannot be reached (keys rotate rarely, and a
/// rotated-out key is removed by the next successful fetch).
const JWKS_MAX_STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// After a failed refetch, how long requests use the stale keys before one tries again.
const FAILED_FETCH_COOLDOWN: Duration = Duration::from_secs(30);

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
pub(super) struct JwksCache {
    settings: ClerkSettings,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    refetch: Mutex<()>,
}

impl JwksCache {
    pub(super) fn new(settings: ClerkSettings) -> anyhow::Result<Self> {
        Ok(Self {
            settings,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .build()?,
            keys: RwLock::default(),
            refetch: Mutex::new(()),
        })
    }

    /// What the tokens must say (issuer, parties), as configured.
    pub(super) fn settings(&self) -> &ClerkSettings {
        &self.settings
    }

    /// The key for `kid`: from the cache while it is fresh; otherwise one refetch at a time
    /// (single flight: requests waiting behind a refetch use its result instead of fetching
    /// again). When a refetch fails, keys fetched within [`JWKS_MAX_STALE`] keep being served,
    /// and no new attempt is made for [`FAILED_FETCH_COOLDOWN`]: a blip at Clerk must not sign
    /// everyone out, nor queue every request behind a 10-second timeout.
    pub(super) async fn key_for(&self, kid: &str) -> Result<DecodingKey, AuthError> {
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

//! Per-user rate limits on the routes that cost the most (an upload parses and stores a chat,
//! an unlock starts a saga, a retry or a RAG query calls the model or the vector store …).
//!
//! Keyed by the verified token's `sub`; a request without a valid token is keyed by the client
//! IP: the peer address, or the right-most address of a configured proxy header (the one our
//! own proxy appended, which a client cannot forge). The buckets live in this process, so with
//! several API replicas each allows its own share: running unlocks per user are also bounded in
//! the database, which holds across replicas.

use std::{collections::HashMap, net::SocketAddr, num::NonZeroU32, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderName, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::{AppState, error::ApiError};

/// The limited kinds of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitClass {
    Upload,
    Unlock,
    Retry,
    RagQuery,
    PaymentOrder,
    UserStore,
    /// The anonymous share page's statistics (keyed by IP).
    PublicStats,
}

impl LimitClass {
    /// Which class a route belongs to, by method and route pattern.
    pub fn of(method: &Method, route: &str) -> Option<Self> {
        if method != Method::POST && route != "/api/chats/{chat_id}/stats" {
            return None;
        }
        Some(match route {
            "/api/chats/upload" => Self::Upload,
            "/api/insights/unlock" => Self::Unlock,
            "/api/insights/{insight_id}/retry" => Self::Retry,
            "/api/rag/query" => Self::RagQuery,
            "/api/payments/orders" => Self::PaymentOrder,
            "/api/users/store" => Self::UserStore,
            "/api/chats/{chat_id}/stats" if method == Method::GET => Self::PublicStats,
            _ => return None,
        })
    }

    fn what(self) -> &'static str {
        match self {
            Self::Upload => "uploads",
            Self::Unlock => "unlock requests",
            Self::Retry => "retries",
            Self::RagQuery => "searches",
            Self::PaymentOrder => "payment orders",
            Self::UserStore => "sign-in updates",
            Self::PublicStats => "requests for shared statistics",
        }
    }
}

/// Requests per minute allowed for each class (a burst of that many, refilled evenly).
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub per_minute: HashMap<LimitClass, u32>,
    /// A header our own reverse proxy sets to the client's address (`X-Forwarded-For`); only
    /// its right-most entry is trusted. `None`: the peer address is the client.
    pub trusted_proxy_header: Option<HeaderName>,
    /// At most this many unlocks queued or running per user (in the database).
    pub max_running_unlocks: i64,
    /// At most this many chats stored per user in any hour (in the database).
    pub max_uploads_per_hour: i64,
}

impl RateLimitSettings {
    /// Limits a real person never meets: for development and tests.
    pub fn generous() -> Self {
        Self {
            per_minute: [
                (LimitClass::Upload, 600),
                (LimitClass::Unlock, 600),
                (LimitClass::Retry, 600),
                (LimitClass::RagQuery, 3000),
                (LimitClass::PaymentOrder, 600),
                (LimitClass::UserStore, 3000),
                (LimitClass::PublicStats, 6000),
            ]
            .into(),
            trusted_proxy_header: None,
            max_running_unlocks: 50,
            max_uploads_per_hour: 1000,
        }
    }

    /// Production defaults: generous for a person, tight for a script.
    pub fn production() -> Self {
        Self {
            per_minute: [
                (LimitClass::Upload, 10),
                (LimitClass::Unlock, 10),
                (LimitClass::Retry, 20),
                (LimitClass::RagQuery, 60),
                (LimitClass::PaymentOrder, 20),
                (LimitClass::UserStore, 30),
                (LimitClass::PublicStats, 120),
            ]
            .into(),
            trusted_proxy_header: None,
            max_running_unlocks: 4,
            max_uploads_per_hour: 30,
        }
    }
}

/// The limiters of this process, one per class.
pub struct RateLimits {
    limiters: HashMap<LimitClass, DefaultKeyedRateLimiter<String>>,
    settings: RateLimitSettings,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Buckets kept before idle ones are dropped (memory stays bounded under many keys).
const MAX_TRACKED_KEYS: usize = 50_000;

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        let limiters = settings
            .per_minute
            .iter()
            .filter_map(|(class, n)| {
                let n = NonZeroU32::new(*n)?;
                Some((*class, RateLimiter::keyed(Quota::per_minute(n))))
            })
            .collect();
        Self {
            limiters,
            settings,
            clock: DefaultClock::default(),
        }
    }

    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    /// `Err(wait)` when `key` has used up `class` for now.
    fn check(&self, class: LimitClass, key: &str) -> Result<(), Duration> {
        let Some(limiter) = self.limiters.get(&class) else {
            return Ok(());
        };
        if limiter.len() > MAX_TRACKED_KEYS {
            limiter.retain_recent();
        }
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// The client address: the right-most entry of the trusted proxy header, else the peer.
    fn client_ip(&self, request: &Request) -> String {
        if let Some(name) = &self.settings.trusted_proxy_header
            && let Some(value) = request.headers().get(name).and_then(|v| v.to_str().ok())
            && let Some(last) = value.rsplit(',').map(str::trim).find(|s| !s.is_empty())
        {
            return last.to_owned();
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
    }
}

/// A 429 with `Retry-After` in whole seconds (at least 1).
fn too_many(what: &str, wait: Duration) -> ApiError {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    ApiError::TooManyRequests {
        message: format!(
            "Too many {what} in a short time. Please wait {secs} second{} and try again.",
            if secs == 1 { "" } else { "s" }
        ),
        retry_after_secs: secs,
    }
}

/// Applies the limit of the request's route, if it has one.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let Some(class) = route.and_then(|r| LimitClass::of(request.method(), &r)) else {
        return next.run(request).await;
    };
    let limits: &Arc<RateLimits> = &state.limits;
    let key = match bearer(&request) {
        Some(token) => match state.auth.verify(token).await {
            Ok(verified) => format!("user:{}", verified.user_id),
            // Refused later by the handler's extractor; counted against the address.
            Err(_) => format!("ip:{}", limits.client_ip(&request)),
        },
        None => format!("ip:{}", limits.client_ip(&request)),
    };
    match limits.check(class, &key) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::info!(?class, %key, "rate limited");
            too_many(class.what(), wait).into_response()
        }
    }
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

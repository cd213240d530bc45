//! The HTTP API of RelivChats (axum).
//!
//! `routes/<resource>.rs` each hold a `router()`, their handlers and their SQL; a resource
//! with several concerns is a folder (`routes/chats/`, `routes/insights/`,
//! `routes/payments/`) whose `mod.rs` holds the `router()` and what its files share. Errors go
//! through [`error::ApiError`]; identity through [`auth::AuthUser`]; shared state through
//! [`AppState`] (vendor clients such as [`payment_providers`] live beside it, not under
//! `routes/`). The coins rule and the user-row lock come from `relivchats_store`. The binary
//! (`app`) builds the state and serves [`router`].

pub mod auth;
pub mod error;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod payment_providers;
pub mod routes;
mod workflow_start;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, StatusCode},
    response::IntoResponse,
};
use futures::future::BoxFuture;
use relivchats_domain::crypto::Cipher;
use sqlx::PgPool;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::{auth::Authenticator, error::ApiError};

/// Settings the HTTP layer needs (the binary loads them from the environment).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `development` or `production`, reported by `/health`.
    pub environment: String,
    /// Whether 500 bodies carry their cause chain (development only).
    pub expose_internals: bool,
    /// Origins allowed to call the API from a browser, with credentials.
    pub cors_origins: Vec<String>,
    /// Clerk's Backend API, used to delete the Clerk user when an account is deleted.
    pub clerk_api: Option<ClerkApi>,
    /// Largest accepted chat upload, in bytes (enforced while streaming: 413 beyond it).
    pub max_upload_bytes: usize,
    /// How an upload cuts its messages into stored blocks.
    pub message_blocks: relivchats_domain::blocks::BlockLimits,
    /// What one uploaded chat may unpack to.
    pub upload_caps: UploadCaps,
    /// Deadline, timeouts and retries of unlocks, passed into each workflow's input.
    pub unlock_timings: relivchats_domain::contracts::unlock::UnlockTimings,
    /// Cut-offs for slow or stalled clients.
    pub timeouts: HttpTimeouts,
    /// Requests per minute per user (or IP) on the expensive routes, and the database-held
    /// bounds on unlocks and uploads.
    pub rate_limits: limits::RateLimitSettings,
    /// Svix signing secret of Clerk's webhooks (`CLERK_WEBHOOK_SECRET`, `whsec_…`); without
    /// it `POST /api/webhooks/clerk` answers 503.
    pub clerk_webhook_secret: Option<auth::Secret>,
    /// Whether `GET /metrics` is served on the API's listener (development default), rather
    /// than only on a separate internal one (`METRICS_BIND_ADDR`).
    pub metrics_on_api: bool,
    /// Bearer token a scrape of `/metrics` must carry (`METRICS_TOKEN`), wherever it is served.
    pub metrics_token: Option<auth::Secret>,
}

/// Timeouts of the HTTP server: a client that sends its headers or its body too slowly, or a
/// request that takes too long as a whole, is cut off (slow-loris connections and stalled
/// uploads would otherwise hold a connection, a task and their memory for ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// From a connection's start (or its previous response) to the end of the next request's
    /// headers; past it the connection is closed. Applied by the server loop, not a layer.
    pub header_read: Duration,
    /// The longest pause between two pieces of a request body (408).
    pub body_idle: Duration,
    /// A whole request, body and handler included (408).
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(15),
            // A 25 MiB upload at ~2 Mbit/s, with room to parse it.
            request: Duration::from_secs(120),
        }
    }
}

/// Bounds on what one upload may turn into, so a small crafted file cannot cost gigabytes.
#[derive(Debug, Clone, Copy)]
pub struct UploadCaps {
    /// Chat text a zip may unpack to (413 beyond).
    pub max_unpacked_bytes: usize,
    /// Messages in one chat (422 beyond).
    pub max_messages: usize,
    /// Distinct authors in one chat (422 beyond).
    pub max_participants: usize,
}

/// Clerk's Backend API (`https://api.clerk.com` in production).
#[derive(Debug, Clone)]
pub struct ClerkApi {
    pub base_url: String,
    pub secret_key: auth::Secret,
}

/// A dependency `/health/ready` checks besides Postgres (Temporal, the vector store …).
pub trait DependencyCheck: Send + Sync {
    fn name(&self) -> &'static str;
    /// `Err` carries a short reason shown to operators.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// Vector search for `/api/rag/query`, and vector cleanup when a chat or account is deleted.
#[derive(Clone)]
pub struct Retrieval {
    pub embedder: Arc<dyn relivchats_domain::retrieval::Embedder>,
    pub store: Arc<dyn relivchats_domain::retrieval::VectorStore>,
    /// Excerpts returned when the request does not say (`RAG_TOP_K`).
    pub top_k: usize,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub auth: Arc<Authenticator>,
    pub settings: Arc<ApiSettings>,
    pub dependencies: Arc<Vec<Arc<dyn DependencyCheck>>>,
    /// Outbound HTTP to vendors, with timeouts.
    pub http: reqwest::Client,
    /// Encrypts chat content at rest.
    pub cipher: Arc<Cipher>,
    /// Set with [`AppState::with_retrieval`]; without it retrieval answers 503.
    pub retrieval: Option<Retrieval>,
    /// Starts, queries and signals workflows (types from `relivchats_domain::contracts`).
    pub temporal: temporalio_client::Client,
    /// The task queue workflows are started on.
    pub task_queue: Arc<str>,
    /// Set with [`AppState::with_payments`]; without it payment routes answer 503.
    pub payments: Option<Arc<payment_providers::PaymentProviders>>,
    /// This process's rate-limit buckets.
    pub limits: Arc<limits::RateLimits>,
    /// This process's metrics (shared with the worker in `serve`), see [`AppState::with_metrics`].
    pub metrics: Arc<relivchats_metrics::Metrics>,
}

impl AppState {
    pub fn new(
        pool: PgPool,
        auth: Authenticator,
        cipher: Cipher,
        temporal: temporalio_client::Client,
        task_queue: &str,
        settings: ApiSettings,
        dependencies: Vec<Arc<dyn DependencyCheck>>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            pool,
            auth: Arc::new(auth),
            limits: Arc::new(limits::RateLimits::new(settings.rate_limits.clone())),
            settings: Arc::new(settings),
            dependencies: Arc::new(dependencies),
            http,
            cipher: Arc::new(cipher),
            retrieval: None,
            temporal,
            task_queue: Arc::from(task_queue),
            payments: None,
            // A registry of its own until the binary hands in the process's one.
            metrics: Arc::new(relivchats_metrics::Metrics::new()),
        })
    }
}

impl AppState {
    /// Adds the payment providers (Stripe, Razorpay) configured for this process.
    pub fn with_payments(mut self, payments: payment_providers::PaymentProviders) -> Self {
        self.payments = Some(Arc::new(payments));
        self
    }

    /// Records into the process's registry (the one `/metrics` renders).
    pub fn with_metrics(mut self, metrics: Arc<relivchats_metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Adds the vector search (the same embedder and store the worker uses).
    pub fn with_retrieval(mut self, retrieval: Retrieval) -> Self {
        self.retrieval = Some(retrieval);
        self
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::users::router())
        .merge(routes::chats::router(state.settings.max_upload_bytes))
        .merge(routes::categories::router())
        .merge(routes::insights::router())
        .merge(routes::credits::router())
        .merge(routes::payments::router())
        .merge(routes::rag::router());
    let mut root = Router::new()
        .merge(routes::health::router())
        .nest("/api", api)
        .merge(openapi::router());
    if state.settings.metrics_on_api {
        root = root.merge(metrics::router(metrics::MetricsEndpoint {
            metrics: state.metrics.clone(),
            token: state.settings.metrics_token.clone().map(Arc::new),
        }));
    }
    root.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.timeouts,
            middleware::timeouts,
        ))
        .layer(cors_layer(&state.settings.cors_origins))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_context,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("There is nothing at this address.".to_owned())
}

async fn method_not_allowed() -> impl IntoResponse {
    let mut response =
        ApiError::BadRequest("This method is not allowed on this address.".to_owned())
            .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(Duration::from_secs(3600))
}

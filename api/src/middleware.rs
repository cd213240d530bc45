//! Cross-cutting HTTP behaviour: request ids, timing, security headers, and the request span.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;
use uuid::Uuid;

use crate::{AppState, error::EXPOSE_INTERNALS};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, if called inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_PROCESS_TIME: HeaderName = HeaderName::from_static("x-process-time");

const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "1; mode=block"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
];

/// Gives every request an id (echoed in `X-Request-ID`, in error bodies and in the logs), times
/// it, and adds the security headers the earlier service sent on every response.
pub async fn request_context(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = Uuid::new_v4().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let span = tracing::info_span!(
        "http_request",
        method = %request.method(),
        route = %route,
        request_id = %request_id,
        status = tracing::field::Empty,
    );
    let quiet = route.starts_with("/health");
    let expose = state.settings.expose_internals;
    let mut response = REQUEST_ID
        .scope(
            request_id.clone(),
            EXPOSE_INTERNALS.scope(expose, next.run(request)),
        )
        .instrument(span.clone())
        .await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("status", response.status().as_u16());
    if !quiet {
        span.in_scope(|| tracing::info!(elapsed_ms, "request served"));
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(X_REQUEST_ID.clone(), v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{elapsed_ms:.2}")) {
        headers.insert(X_PROCESS_TIME.clone(), v);
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

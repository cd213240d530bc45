//! Cross-cutting HTTP behaviour: request ids, timing, security headers, the request span, and
//! request timeouts.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    AppState,
    error::{ApiError, EXPOSE_INTERNALS},
};

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
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let route = matched
        .clone()
        .unwrap_or_else(|| request.uri().path().to_owned());
    let method = method_label(request.method());
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
    let elapsed = started.elapsed();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    span.record("status", response.status().as_u16());
    // The route template, never the raw path (ids would make a series per chat); requests
    // no route matched share one label.
    state.metrics.http_request(
        method,
        matched.as_deref().unwrap_or(UNMATCHED_ROUTE),
        response.status().as_u16(),
        elapsed,
    );
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

/// The `route` label of requests that matched no route (404s, scanners' guesses).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `method` label: the standard methods by name, anything else as `other`, so a client
/// inventing methods cannot mint series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Bounds a request in time: the whole of it ([`HttpTimeouts::request`]) and every pause in its
/// body ([`HttpTimeouts::body_idle`]). Either ends in a 408 with the one error body. A stalled
/// body surfaces inside the handler as a failed read (each handler words that differently), so
/// the wrapper notes the stall and its 408 replaces whatever the handler answered.
pub async fn timeouts(
    State(timeouts): State<crate::HttpTimeouts>,
    request: Request,
    next: Next,
) -> Response {
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    let request = request.map(|body| {
        let idle = tower_http::timeout::TimeoutBody::new(timeouts.body_idle, body);
        Body::new(http_body_util::BodyExt::map_err(
            idle,
            move |e: Box<dyn std::error::Error + Send + Sync>| {
                if e.is::<tower_http::timeout::TimeoutError>() {
                    flag.store(true, Ordering::Relaxed);
                }
                e
            },
        ))
    });
    match tokio::time::timeout(timeouts.request, next.run(request)).await {
        Ok(response) if !stalled.load(Ordering::Relaxed) => response,
        Ok(_) => ApiError::RequestTimeout(format!(
            "The request body stopped arriving for more than {} seconds, so the request was cancelled. Please try again on a steadier connection.",
            timeouts.body_idle.as_secs()
        ))
        .into_response(),
        Err(_) => ApiError::RequestTimeout(format!(
            "The request took longer than {} seconds and was cancelled. Please try again.",
            timeouts.request.as_secs()
        ))
        .into_response(),
    }
}

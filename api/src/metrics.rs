//! `GET /metrics`: the process's series in Prometheus text format.
//!
//! Served on the API's own listener (development default) or on a separate internal listener
//! (`METRICS_BIND_ADDR`, the production default, and the only one a worker-only process has):
//! the same router either way. With `METRICS_TOKEN` set a scrape must carry
//! `Authorization: Bearer <token>`, so an endpoint that ends up reachable still tells nothing.

use std::sync::Arc;

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use relivchats_metrics::Metrics;

use crate::{auth::Secret, error::ApiError};

/// What a scrape needs: the registry and, optionally, the token it must present.
#[derive(Clone)]
pub struct MetricsEndpoint {
    pub metrics: Arc<Metrics>,
    pub token: Option<Arc<Secret>>,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

/// A router with `GET /metrics` only, for any state (merged into the API, or served alone).
pub fn router<S: Clone + Send + Sync + 'static>(endpoint: MetricsEndpoint) -> Router<S> {
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| scrape(endpoint.clone(), headers)),
    )
}

async fn scrape(endpoint: MetricsEndpoint, headers: HeaderMap) -> Response {
    if let Some(token) = &endpoint.token
        && !presents(&headers, token.expose())
    {
        let mut response = ApiError::Unauthorized(
            "Scraping the metrics needs the metrics bearer token (METRICS_TOKEN).".to_owned(),
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    // Sampling the pools and encoding a few hundred series is quick and never waits on I/O.
    let body = endpoint.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(relivchats_metrics::CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

/// Whether the request carries `Bearer <expected>`, compared in constant time.
fn presents(headers: &HeaderMap, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes())))
}

/// Counts one webhook delivery by its answer (`outcome` reads the acknowledged outcome) and
/// hands the answer on unchanged.
pub(crate) fn count_delivery<T>(
    metrics: &Metrics,
    provider: &'static str,
    result: crate::error::ApiResult<crate::error::ApiJson<T>>,
    outcome: fn(&T) -> &str,
) -> crate::error::ApiResult<crate::error::ApiJson<T>> {
    metrics.webhook_delivery(
        provider,
        webhook_result(result.as_ref().map(|ack| outcome(&ack.0))),
    );
    result
}

/// The `result` label of `relivchats_webhook_deliveries_total`: the acknowledged outcome, or
/// why the delivery was refused (`rejected`: a bad signature or body, 400; `unavailable`:
/// not configured or Temporal down, 503, which the provider retries).
pub(crate) fn webhook_result(outcome: Result<&str, &ApiError>) -> &'static str {
    match outcome {
        Ok("duplicate") => "duplicate",
        Ok("ignored") => "ignored",
        Ok("unparsable") => "unparsable",
        Ok("unknown_order") => "unknown_order",
        Ok("unknown_user") => "unknown_user",
        Ok("order_failed") => "order_failed",
        Ok("user_deleted") => "user_deleted",
        Ok("topup_started") => "topup_started",
        Ok("topup_already_done") => "topup_already_done",
        Ok("refund_started") => "refund_started",
        Ok("refund_already_done") => "refund_already_done",
        Ok(_) => "processed",
        Err(ApiError::BadRequest(_)) => "rejected",
        Err(ApiError::ServiceUnavailable(_)) => "unavailable",
        Err(_) => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_passes() {
        let mut h = HeaderMap::new();
        assert!(!presents(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, "Bearer s3cre".parse().unwrap());
        assert!(!presents(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, "Basic s3cret".parse().unwrap());
        assert!(!presents(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(presents(&h, "s3cret"));
    }
}

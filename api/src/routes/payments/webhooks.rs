//! The providers' webhooks.
//!
//! verify the signature on the raw bytes (400 with a sentence, never 500) → store the event
//! (`webhook_events`, unique per provider event id) → act: a payment starts `TopUp`, a refund
//! `RefundPayment`, a failure marks the order → mark the event processed → 200 at once
//! (the workflow runs on). An event already processed is acknowledged and nothing more; one
//! stored but not processed (a crash, Temporal down) is processed by the provider's retry.

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::HeaderMap,
};
use relivchats_domain::payments::{
    Provider,
    events::{self, PaymentEvent, WebhookEvent},
    signature::{self, STRIPE_TOLERANCE_SECS},
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dispatch::{on_failed, on_paid, on_refund};
use crate::{
    AppState,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};

/// The acknowledgement providers get.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookAck {
    /// Always `ok`.
    status: &'static str,
    /// What was done, for logs and tests: `topup_started`, `refund_started`, `order_failed`,
    /// `duplicate`, `unknown_order`, `ignored` …
    outcome: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn rejected(provider: Provider, reason: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%provider, %reason, "webhook rejected");
    ApiError::BadRequest(format!("Invalid {provider} webhook: {reason}."))
}

/// Razorpay events: `payment.captured`, `order.paid`, `payment.failed`, `refund.processed`.
#[utoipa::path(post, path = "/api/payments/webhooks/razorpay", tag = "payments",
    params(("X-Razorpay-Signature" = String, Header, description = "hex HMAC-SHA256 of the raw body"),
           ("X-Razorpay-Event-Id" = Option<String>, Header, description = "dedupe key")),
    request_body(content = Object, content_type = "application/json", description = "The provider's event as it sent it; the signature is checked on these exact bytes. A correctly signed event that cannot be used is acknowledged (200) and kept for an operator."),
    responses((status = 200, body = WebhookAck), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, err(Debug))]
pub(crate) async fn razorpay_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<WebhookAck>> {
    let result = receive_razorpay(&state, &headers, body).await;
    crate::metrics::count_delivery(&state.metrics, "razorpay", result, |ack: &WebhookAck| {
        &ack.outcome
    })
}

async fn receive_razorpay(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<WebhookAck>> {
    let body = crate::routes::raw_body(body)?;
    let client = super::razorpay(state)?;
    let secret = client.webhook_secret().ok_or_else(|| {
        super::not_configured("Receiving Razorpay webhooks", "RAZORPAY_WEBHOOK_SECRET")
    })?;
    let provider = Provider::Razorpay;
    signature::verify_razorpay_webhook(
        secret.expose(),
        &body,
        header(headers, "x-razorpay-signature"),
    )
    .map_err(|e| rejected(provider, e))?;
    match events::parse_razorpay(&body, header(headers, "x-razorpay-event-id")) {
        Ok(_) if has_nul(&body) => unusable(state, provider, &body, &NUL_REASON).await,
        Ok(event) => process(state, event, &body).await,
        Err(e) => unusable(state, provider, &body, &e).await,
    }
}

/// Stripe events: `payment_intent.succeeded`, `payment_intent.payment_failed`,
/// `charge.refunded`.
#[utoipa::path(post, path = "/api/payments/webhooks/stripe", tag = "payments",
    params(("Stripe-Signature" = String, Header, description = "t=…,v1=…")),
    request_body(content = Object, content_type = "application/json", description = "The provider's event as it sent it; the signature is checked on these exact bytes. A correctly signed event that cannot be used is acknowledged (200) and kept for an operator."),
    responses((status = 200, body = WebhookAck), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, err(Debug))]
pub(crate) async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<WebhookAck>> {
    let result = receive_stripe(&state, &headers, body).await;
    crate::metrics::count_delivery(&state.metrics, "stripe", result, |ack: &WebhookAck| {
        &ack.outcome
    })
}

async fn receive_stripe(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<WebhookAck>> {
    let body = crate::routes::raw_body(body)?;
    let client = super::stripe(state)?;
    let secret = client.webhook_secret().ok_or_else(|| {
        super::not_configured("Receiving Stripe webhooks", "STRIPE_WEBHOOK_SECRET")
    })?;
    let provider = Provider::Stripe;
    signature::verify_stripe(
        secret.expose(),
        &body,
        header(headers, "stripe-signature"),
        chrono::Utc::now().timestamp(),
        STRIPE_TOLERANCE_SECS,
    )
    .map_err(|e| rejected(provider, e))?;
    match events::parse_stripe(&body) {
        Ok(_) if has_nul(&body) => unusable(state, provider, &body, &NUL_REASON).await,
        Ok(event) => process(state, event, &body).await,
        Err(e) => unusable(state, provider, &body, &e).await,
    }
}

/// Why an event that carries U+0000 is not processed: PostgreSQL stores no U+0000, in text
/// or jsonb, so its ids could not be recorded as they are.
const NUL_REASON: &str = "it contains U+0000, which cannot be stored";

/// Whether a JSON body has U+0000 in a string or a key (`\u0000`).
fn has_nul(body: &[u8]) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(walk),
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || walk(v)),
            _ => false,
        }
    }
    serde_json::from_slice(body).is_ok_and(|v| walk(&v))
}

/// A payload PostgreSQL can store: U+0000, which jsonb refuses (a 500, and the provider
/// would redeliver for days), becomes U+FFFD in strings and keys. Everything else is kept.
pub(crate) fn storable(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(without_nul(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(storable).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (without_nul(k), storable(v)))
                .collect(),
        ),
        other => other,
    }
}

fn without_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

/// A correctly signed body we cannot use. A 400 would make the provider redeliver it for days
/// (it is the provider's own payload: it will never parse), so it is acknowledged with 200,
/// kept in `webhook_events` (outcome `unparsable`, once per distinct body) for an operator,
/// and logged as an error.
async fn unusable(
    state: &AppState,
    provider: Provider,
    body: &[u8],
    why: &(dyn std::fmt::Display + Sync),
) -> ApiResult<ApiJson<WebhookAck>> {
    use sha2::Digest;
    tracing::error!(%provider, reason = %why, "a signed webhook could not be read; acknowledged and kept for an operator");
    let payload = serde_json::from_slice::<serde_json::Value>(body)
        .unwrap_or_else(|_| serde_json::json!({ "raw": String::from_utf8_lossy(body) }));
    let payload = storable(payload);
    sqlx::query(
        r#"INSERT INTO webhook_events (id, provider, event_id, event_type, payload, processed_at, outcome)
           VALUES ($1, $2, $3, 'unparsable', $4, now(), $5)
           ON CONFLICT (provider, event_id) DO NOTHING"#,
    )
    .bind(Uuid::new_v4())
    .bind(provider.as_str())
    .bind(format!("unparsable:{}", hex::encode(sha2::Sha256::digest(body))))
    .bind(payload)
    .bind(without_nul(format!("unparsable: {why}")))
    .execute(&state.pool)
    .await?;
    Ok(ack("unparsable"))
}

/// Stores, dispatches and marks one verified event.
#[tracing::instrument(skip_all, fields(provider = %event.provider, event_id = %event.event_id, event_type = %event.event_type), err(Debug))]
async fn process(
    state: &AppState,
    event: WebhookEvent,
    body: &[u8],
) -> ApiResult<ApiJson<WebhookAck>> {
    if !store(state, &event, body).await? {
        tracing::info!("webhook replayed: already processed");
        return Ok(ack("duplicate"));
    }
    let outcome = match &event.event {
        PaymentEvent::Paid(paid) => on_paid(state, &event, paid).await?,
        PaymentEvent::Failed(failed) => on_failed(state, event.provider, failed).await?,
        PaymentEvent::Refunded(refund) => on_refund(state, &event, refund).await?,
        PaymentEvent::Other => "ignored".to_owned(),
    };
    sqlx::query(
        r#"UPDATE webhook_events SET processed_at = now(), outcome = $3
           WHERE provider = $1 AND event_id = $2"#,
    )
    .bind(event.provider.as_str())
    .bind(&event.event_id)
    .bind(&outcome)
    .execute(&state.pool)
    .await?;
    Ok(ack(&outcome))
}

fn ack(outcome: &str) -> ApiJson<WebhookAck> {
    ApiJson(WebhookAck {
        status: "ok",
        outcome: outcome.to_owned(),
    })
}

/// Stores the event; false when an earlier delivery of it was already processed.
async fn store(state: &AppState, event: &WebhookEvent, body: &[u8]) -> sqlx::Result<bool> {
    // Verified JSON (the parser accepted it); stored as received.
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    // The no-op update makes RETURNING answer for an existing row too.
    let processed: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        r#"INSERT INTO webhook_events (id, provider, event_id, event_type, payload)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (provider, event_id) DO UPDATE SET event_type = EXCLUDED.event_type
           RETURNING processed_at"#,
    )
    .bind(Uuid::new_v4())
    .bind(event.provider.as_str())
    .bind(&event.event_id)
    .bind(&event.event_type)
    .bind(payload)
    .fetch_one(&state.pool)
    .await?;
    Ok(processed.is_none())
}

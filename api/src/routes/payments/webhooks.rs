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
use relivchats_domain::{
    contracts::payments::{
        RefundPaymentDefinition, RefundPaymentInput, TopUpDefinition, TopUpInput,
        payment_search_attributes, refund_workflow_id, top_up_workflow_id,
    },
    payments::{
        Provider,
        events::{
            self, FailedEvent, PaidEvent, PaymentEvent, RefundAmount, RefundEvent, WebhookEvent,
        },
        signature::{self, STRIPE_TOLERANCE_SECS},
    },
};
use serde::Serialize;
use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
    errors::WorkflowStartError,
};
use temporalio_common::HasWorkflowDefinition;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// The order an event is about: `(id, user_id)`.
async fn find_order(
    state: &AppState,
    provider: Provider,
    provider_order_id: Option<&str>,
    provider_payment_id: Option<&str>,
) -> sqlx::Result<Option<(Uuid, String)>> {
    let found: Option<(Uuid, String)> = sqlx::query_as(
        r#"UPDATE payment_orders
           SET webhook_count = webhook_count + 1, webhook_received_at = now()
           WHERE id = (SELECT id FROM payment_orders
                       WHERE provider = $1 AND (provider_order_id = $2 OR provider_payment_id = $3)
                       ORDER BY provider_order_id = $2 DESC NULLS LAST
                       LIMIT 1)
           RETURNING id, user_id"#,
    )
    .bind(provider.as_str())
    .bind(provider_order_id)
    .bind(provider_payment_id)
    .fetch_optional(&state.pool)
    .await?;
    if found.is_none() {
        tracing::warn!(
            ?provider_order_id,
            ?provider_payment_id,
            "webhook for an unknown order: acknowledged, nothing done"
        );
    }
    Ok(found)
}

async fn on_paid(state: &AppState, event: &WebhookEvent, paid: &PaidEvent) -> ApiResult<String> {
    let provider = event.provider;
    let order = find_order(
        state,
        provider,
        paid.provider_order_id.as_deref(),
        Some(&paid.provider_payment_id),
    )
    .await?;
    let Some((order_id, user_id)) = order else {
        return Ok("unknown_order".to_owned());
    };
    let workflow_id = top_up_workflow_id(provider, &paid.provider_payment_id);
    let input = TopUpInput {
        order_id,
        user_id: user_id.clone(),
        provider,
        provider_payment_id: paid.provider_payment_id.clone(),
        amount: paid.amount,
        currency: paid.currency.clone(),
        event_id: event.event_id.clone(),
    };
    let summary = format!(
        "{provider} payment {} for order {order_id}",
        paid.provider_payment_id
    );
    let launch = Launch {
        workflow_id,
        user_id: &user_id,
        provider,
        summary,
        kind: "topup",
    };
    start(state, TopUpDefinition, input, launch).await
}

async fn on_refund(
    state: &AppState,
    event: &WebhookEvent,
    refund: &RefundEvent,
) -> ApiResult<String> {
    let provider = event.provider;
    let order = find_order(
        state,
        provider,
        refund.provider_order_id.as_deref(),
        Some(&refund.provider_payment_id),
    )
    .await?;
    let Some((order_id, user_id)) = order else {
        return Ok("unknown_order".to_owned());
    };
    let (amount, cumulative) = match refund.amount {
        RefundAmount::This(a) => (a, false),
        RefundAmount::Total(a) => (a, true),
    };
    let input = RefundPaymentInput {
        order_id,
        user_id: user_id.clone(),
        provider,
        provider_payment_id: refund.provider_payment_id.clone(),
        provider_refund_id: refund.provider_refund_id.clone(),
        amount,
        cumulative,
        currency: refund.currency.clone(),
        event_id: event.event_id.clone(),
        reason: format!("{} webhook {}", provider, event.event_type),
    };
    let workflow_id = refund_workflow_id(provider, &refund.provider_refund_id);
    let summary = format!(
        "{provider} refund {} of order {order_id}",
        refund.provider_refund_id
    );
    let launch = Launch {
        workflow_id,
        user_id: &user_id,
        provider,
        summary,
        kind: "refund",
    };
    start(state, RefundPaymentDefinition, input, launch).await
}

/// A failed attempt marks a still-pending order failed; nothing moves, so no workflow. A later
/// successful attempt on the same order still credits it.
async fn on_failed(
    state: &AppState,
    provider: Provider,
    failed: &FailedEvent,
) -> ApiResult<String> {
    let order = find_order(state, provider, failed.provider_order_id.as_deref(), None).await?;
    let Some((order_id, _)) = order else {
        return Ok("unknown_order".to_owned());
    };
    sqlx::query(
        r#"UPDATE payment_orders
           SET status = 'failed', updated_at = now(),
               metadata = metadata || jsonb_build_object('failure_reason', $2::TEXT)
           WHERE id = $1 AND status = 'pending'"#,
    )
    .bind(order_id)
    .bind(&failed.reason)
    .execute(&state.pool)
    .await?;
    Ok("order_failed".to_owned())
}

/// How to start one payment workflow.
pub(crate) struct Launch<'a> {
    pub(crate) workflow_id: String,
    pub(crate) user_id: &'a str,
    pub(crate) provider: Provider,
    /// Shown in the Temporal UI.
    pub(crate) summary: String,
    /// `topup` or `refund`: prefixes the outcome.
    pub(crate) kind: &'static str,
}

/// Starts (or attaches to) a payment workflow: conflict `UseExisting` attaches a redelivery to
/// the running one, reuse `RejectDuplicate` refuses a second run after it closed.
pub(crate) async fn start<W>(
    state: &AppState,
    workflow: W,
    input: W::Input,
    launch: Launch<'_>,
) -> ApiResult<String>
where
    W: HasWorkflowDefinition,
    W::Input: Send,
{
    let Launch {
        workflow_id,
        user_id,
        provider,
        summary,
        kind,
    } = launch;
    let options = WorkflowStartOptions::new(state.task_queue.to_string(), workflow_id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .search_attributes(payment_search_attributes(user_id, provider))
        .static_summary(summary)
        .build();
    match state
        .temporal
        .start_workflow(workflow, input, options)
        .await
    {
        Ok(_) => {
            tracing::info!(%workflow_id, "payment workflow started (or attached)");
            Ok(format!("{kind}_started"))
        }
        Err(WorkflowStartError::AlreadyStarted { .. }) => {
            tracing::info!(%workflow_id, "payment workflow already ran");
            Ok(format!("{kind}_already_done"))
        }
        Err(e) => {
            tracing::error!(%workflow_id, error = %e, "cannot start the payment workflow");
            // The event stays unprocessed; the provider's retry will try again.
            Err(ApiError::ServiceUnavailable(
                "The payment could not be queued for processing; it will be retried.".into(),
            ))
        }
    }
}

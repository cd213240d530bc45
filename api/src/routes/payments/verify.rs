//! `POST /api/payments/razorpay/verify`: the Razorpay checkout handler's signature.
//!
//! A valid signature proves only that the payment exists, so nothing is credited on its word:
//! the payment is fetched from Razorpay, and only if it is captured for this order does the
//! same `TopUp` workflow the webhook would start begin early (same id, so the webhook then
//! attaches to it or finds it done).

use axum::extract::State;
use relivchats_domain::{
    contracts::payments::{TopUpDefinition, TopUpInput, top_up_workflow_id},
    payments::{Provider, signature},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::launch::{Launch, start};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};

/// What Razorpay's checkout handler received. Fields not listed here are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct VerifyRequest {
    /// `order_…`, an order of the caller's (else 404).
    #[schema(pattern = r"^[^\u0000]*$")]
    razorpay_order_id: String,
    /// `pay_…`.
    #[schema(pattern = r"^[^\u0000]*$")]
    razorpay_payment_id: String,
    /// Hex HMAC-SHA256 of `order_id|payment_id` (a bad one is a 400).
    razorpay_signature: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyResponse {
    /// Always true (a bad signature is a 400).
    verified: bool,
    /// Our order id.
    order_id: String,
    /// `topup_started` when the captured payment was handed to the top-up workflow now,
    /// `awaiting_webhook` when Razorpay has not captured it yet (the webhook will credit it).
    outcome: String,
}

/// Verifies the checkout signature (`order_id|payment_id`, HMAC with the key secret) for the
/// caller's order, and starts crediting if Razorpay confirms the payment is captured.
#[utoipa::path(post, path = "/api/payments/razorpay/verify", tag = "payments", request_body = VerifyRequest,
    security(("bearer" = [])),
    responses((status = 200, body = VerifyResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, payment = %body.razorpay_payment_id), err(Debug))]
pub(crate) async fn verify_razorpay(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> ApiResult<ApiJson<VerifyResponse>> {
    let client = super::razorpay(&state)?;
    let key_secret = client.key_secret().ok_or_else(|| {
        super::not_configured("Razorpay checkout verification", "RAZORPAY_KEY_SECRET")
    })?;
    let order: Option<(Uuid, String)> = sqlx::query_as(
        r#"SELECT id, provider_order_id FROM payment_orders
           WHERE provider = 'razorpay' AND provider_order_id = $1 AND user_id = $2"#,
    )
    .bind(body.razorpay_order_id.trim())
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?;
    let (order_id, provider_order_id) = order.ok_or_else(|| ApiError::not_found("Order"))?;
    // The order id we stored, never one the client made up.
    signature::verify_razorpay_checkout(
        key_secret.expose(),
        &provider_order_id,
        body.razorpay_payment_id.trim(),
        &body.razorpay_signature,
    )
    .map_err(|e| ApiError::BadRequest(format!("Invalid Razorpay checkout signature: {e}.")))?;
    let outcome = start_if_captured(
        &state,
        order_id,
        &provider_order_id,
        user.user_id.as_str(),
        body.razorpay_payment_id.trim(),
    )
    .await?;
    Ok(ApiJson(VerifyResponse {
        verified: true,
        order_id: order_id.to_string(),
        outcome,
    }))
}

async fn start_if_captured(
    state: &AppState,
    order_id: Uuid,
    provider_order_id: &str,
    user_id: &str,
    payment_id: &str,
) -> ApiResult<String> {
    let client = super::razorpay(state)?;
    let payment = match client.fetch_payment(payment_id).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot fetch the payment; the webhook will credit it");
            return Ok("awaiting_webhook".into());
        }
    };
    if payment.status != "captured" || payment.order_id.as_deref() != Some(provider_order_id) {
        return Ok("awaiting_webhook".into());
    }
    let provider = Provider::Razorpay;
    let event_id = format!("checkout:{}", payment.id);
    // `TopUp` credits only what a verified record says was paid (whoever can start a
    // workflow must not be able to invent a payment): this one is the payment as Razorpay's
    // API just confirmed it, stored in the shape of the webhook that reports it.
    let record = serde_json::json!({
        "event": "payment.captured",
        "payload": {"payment": {"entity": {
            "id": payment.id, "order_id": provider_order_id, "status": payment.status,
            "amount": payment.amount, "currency": payment.currency,
        }}},
    });
    sqlx::query(
        r#"INSERT INTO webhook_events (id, provider, event_id, event_type, payload, processed_at, outcome)
           VALUES ($1, 'razorpay', $2, 'checkout.verified', $3, now(), 'checkout')
           ON CONFLICT (provider, event_id) DO NOTHING"#,
    )
    .bind(Uuid::new_v4())
    .bind(&event_id)
    .bind(record)
    .execute(&state.pool)
    .await?;
    let input = TopUpInput {
        order_id,
        user_id: user_id.to_owned(),
        provider,
        provider_payment_id: payment.id.clone(),
        amount: payment.amount,
        currency: payment.currency,
        event_id,
    };
    let launch = Launch {
        workflow_id: top_up_workflow_id(provider, &payment.id),
        user_id,
        provider,
        summary: format!(
            "razorpay payment {} for order {order_id} (checkout)",
            payment.id
        ),
        kind: "topup",
    };
    start(state, TopUpDefinition, input, launch).await
}

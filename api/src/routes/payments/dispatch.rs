//! What a stored, verified payment event does: find its order, then start the workflow that
//! moves the coins (or, for a failed attempt, only mark the order). Kept apart from the
//! receiving side so that verification and storage never depend on what an event means.

use relivchats_domain::{
    contracts::payments::{
        RefundPaymentDefinition, RefundPaymentInput, TopUpDefinition, TopUpInput,
        refund_workflow_id, top_up_workflow_id,
    },
    payments::{
        Provider,
        events::{FailedEvent, PaidEvent, RefundAmount, RefundEvent, WebhookEvent},
    },
};
use uuid::Uuid;

use super::launch::{Launch, start};
use crate::{AppState, error::ApiResult};

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

pub(super) async fn on_paid(
    state: &AppState,
    event: &WebhookEvent,
    paid: &PaidEvent,
) -> ApiResult<String> {
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

pub(super) async fn on_refund(
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
pub(super) async fn on_failed(
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

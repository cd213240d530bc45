//! A top-up: verify the captured payment against its order, then credit it once.

use relivchats_domain::{
    contracts::payments::{CreditOutcome, CreditPurchaseInput, PaymentVerdict, TopUpInput},
    ledger::TransactionType,
    payments::{self, Provider},
    status::OrderStatus,
};
use relivchats_store::lock_user;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{Order, PaymentError, is_unique_violation, lock_order, refused};
use crate::ledger::entry::{Entry, post};

/// The captured payment as the verified webhook event stored by the API describes it: `None`
/// when no stored event of this provider and id is a payment event for this payment id.
async fn verified_payment(
    tx: &mut Transaction<'_, Postgres>,
    input: &TopUpInput,
) -> sqlx::Result<Option<payments::events::PaidEvent>> {
    let payload: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT payload FROM webhook_events WHERE provider = $1 AND event_id = $2",
    )
    .bind(input.provider.as_str())
    .bind(&input.event_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(payload) = payload else {
        return Ok(None);
    };
    let body = payload.to_string();
    let parsed = match input.provider {
        Provider::Razorpay => {
            payments::events::parse_razorpay(body.as_bytes(), Some(&input.event_id))
        }
        Provider::Stripe => payments::events::parse_stripe(body.as_bytes()),
    };
    Ok(match parsed {
        Ok(payments::events::WebhookEvent {
            event: payments::events::PaymentEvent::Paid(paid),
            ..
        }) if paid.provider_payment_id == input.provider_payment_id => Some(paid),
        _ => None,
    })
}

/// Checks the payment against the order; records the payment id, or flags the order.
#[tracing::instrument(skip_all, fields(order_id = %input.order_id, payment = %input.provider_payment_id), err)]
pub async fn verify(pool: &PgPool, input: &TopUpInput) -> Result<PaymentVerdict, PaymentError> {
    let mut tx = pool.begin().await?;
    let order = lock_order(&mut tx, input.order_id, input.provider).await?;
    if let Some(verdict) = settled_verdict(&order, &input.provider_payment_id) {
        return Ok(verdict);
    }
    // The amount and currency come from the verified webhook event as the API stored it, not
    // from the workflow input: whoever can start a workflow on the cluster could otherwise
    // claim any payment for a pending order.
    let Some(paid) = verified_payment(&mut tx, input).await? else {
        tracing::error!(event_id = %input.event_id, "no verified webhook event backs this top-up; not credited");
        return Ok(PaymentVerdict::Skip {
            reason: format!(
                "no verified webhook event {} records payment {}",
                input.event_id, input.provider_payment_id
            ),
        });
    };
    let checked = payments::check_payment(
        order.amount.into(),
        &order.currency,
        paid.amount,
        &paid.currency,
    );
    let (status, flag_reason) = match &checked {
        Ok(()) => (OrderStatus::Processing, None),
        Err(mismatch) => (
            OrderStatus::Flagged,
            Some(format!("payment {}: {mismatch}", input.provider_payment_id)),
        ),
    };
    let recorded = sqlx::query(
        r#"UPDATE payment_orders
           SET provider_payment_id = $2, status = $3, flag_reason = COALESCE($4, flag_reason),
               updated_at = now()
           WHERE id = $1"#,
    )
    .bind(input.order_id)
    .bind(&input.provider_payment_id)
    .bind(status)
    .bind(&flag_reason)
    .execute(&mut *tx)
    .await;
    match recorded {
        Err(e) if is_unique_violation(&e) => {
            tracing::error!("this payment id is already recorded on another order; not credited");
            return Ok(PaymentVerdict::Skip {
                reason: "the payment is recorded on another order".into(),
            });
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(match flag_reason {
        None => PaymentVerdict::Credit { coins: order.coins },
        Some(reason) => {
            tracing::warn!(%reason, "payment does not match its order: flagged, nothing credited");
            PaymentVerdict::Flagged { reason }
        }
    })
}

/// The verdict for an order that a payment can no longer change, if it is one.
fn settled_verdict(order: &Order, payment_id: &str) -> Option<PaymentVerdict> {
    let other_payment = order
        .provider_payment_id
        .as_deref()
        .is_some_and(|p| p != payment_id);
    if other_payment && order.status != OrderStatus::Pending && order.status != OrderStatus::Failed
    {
        tracing::error!(
            recorded = ?order.provider_payment_id,
            "a second payment arrived for an order already paid; not credited"
        );
        return Some(PaymentVerdict::Skip {
            reason: "the order was paid by another payment".into(),
        });
    }
    match order.status {
        OrderStatus::Refunded => Some(PaymentVerdict::Skip {
            reason: "the order was refunded before the payment was credited".into(),
        }),
        OrderStatus::Flagged => Some(PaymentVerdict::Flagged {
            reason: order
                .flag_reason
                .clone()
                .unwrap_or_else(|| "flagged".into()),
        }),
        // Credited earlier (a replay): credit_purchase will find its ledger row.
        OrderStatus::Completed => Some(PaymentVerdict::Credit { coins: order.coins }),
        _ => None,
    }
}

/// Credits the package once and marks the order completed, in one transaction.
#[tracing::instrument(skip_all, fields(order_id = %input.order_id, payment = %input.provider_payment_id), err)]
pub async fn credit(
    pool: &PgPool,
    input: &CreditPurchaseInput,
) -> Result<CreditOutcome, PaymentError> {
    let mut tx = pool.begin().await?;
    let order = lock_order(&mut tx, input.order_id, input.provider).await?;
    if matches!(order.status, OrderStatus::Refunded | OrderStatus::Flagged) {
        return Ok(CreditOutcome {
            status: "skipped".into(),
            coins: 0,
            balance_after: None,
            transaction_id: None,
            newly_credited: false,
        });
    }
    let key = payments::purchase_key(input.provider, &input.provider_payment_id);
    // The order's foreign key keeps its user: a missing row is a database error.
    let balance = lock_user(&mut tx, &order.user_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?
        .balance;
    let balance_after = balance
        .checked_add(order.coins)
        .ok_or_else(|| refused("the balance would overflow"))?;
    let inserted = insert_purchase(&mut tx, input, &order, &key, balance_after).await?;
    let outcome = match inserted {
        Some(transaction_id) => {
            tracing::info!(coins = order.coins, balance_after, "purchase credited");
            credited(order.coins, Some(balance_after), Some(transaction_id), true)
        }
        None => {
            // The unique key says an earlier attempt credited: report that row.
            let (id, after): (Uuid, i32) = sqlx::query_as(
                "SELECT id, balance_after FROM credit_transactions WHERE idempotency_key = $1",
            )
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
            credited(order.coins, Some(after), Some(id), false)
        }
    };
    sqlx::query(
        r#"UPDATE payment_orders
           SET status = 'completed', completed_at = COALESCE(completed_at, now()),
               provider_payment_id = COALESCE(provider_payment_id, $2), updated_at = now()
           WHERE id = $1"#,
    )
    .bind(input.order_id)
    .bind(&input.provider_payment_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

fn credited(
    coins: i32,
    balance_after: Option<i32>,
    transaction_id: Option<Uuid>,
    newly_credited: bool,
) -> CreditOutcome {
    CreditOutcome {
        status: "completed".into(),
        coins,
        balance_after,
        transaction_id,
        newly_credited,
    }
}

/// The `purchase` ledger row and the balance; `None` when the idempotency key already exists.
async fn insert_purchase(
    tx: &mut Transaction<'_, Postgres>,
    input: &CreditPurchaseInput,
    order: &Order,
    key: &str,
    balance_after: i32,
) -> sqlx::Result<Option<Uuid>> {
    let entry = Entry {
        description: format!("Purchased {} coins", order.coins),
        idempotency_key: key.to_owned(),
        package_id: Some(order.package_id),
        payment_order_id: Some(input.order_id),
        payment_id: Some(input.provider_payment_id.clone()),
        metadata: Some(serde_json::json!({
            "provider": input.provider,
            "provider_order_id": order.provider_order_id,
            "provider_payment_id": input.provider_payment_id,
            "amount_paid": input.amount,
            "currency": input.currency,
        })),
        ..Entry::new(
            &order.user_id,
            TransactionType::Purchase,
            order.coins,
            balance_after,
        )
    };
    post(tx, &entry).await
}

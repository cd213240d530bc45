//! A refund: record it and claw its coins back as far as the available balance allows.

use relivchats_domain::{
    contracts::payments::{RefundOutcome, RefundPaymentInput},
    ledger::TransactionType,
    payments,
    status::OrderStatus,
};
use relivchats_store::lock_user;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{Order, PaymentError, lock_order, refused};
use crate::ledger::entry::{Entry, post};

/// Records a refund and claws its coins back as far as the balance allows.
#[tracing::instrument(skip_all, fields(order_id = %input.order_id, refund = %input.provider_refund_id), err)]
pub async fn claw_back(
    pool: &PgPool,
    input: &RefundPaymentInput,
) -> Result<RefundOutcome, PaymentError> {
    let mut tx = pool.begin().await?;
    let order = lock_order(&mut tx, input.order_id, input.provider).await?;
    if let Some(previous) = recorded_refund(&mut tx, input, &order).await? {
        return Ok(previous);
    }
    let before: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM payment_refunds WHERE payment_order_id = $1",
    )
    .bind(input.order_id)
    .fetch_one(&mut *tx)
    .await?;
    let this_refund = if input.cumulative {
        input.amount - before
    } else {
        input.amount
    };
    if this_refund <= 0 {
        // An older cumulative total arriving late: nothing new was refunded.
        return Ok(refund_outcome("nothing_new", 0, 0, order.status));
    }
    let due = coins_due(&mut tx, input, &order, before, before + this_refund).await?;
    // The order's foreign key keeps its user: a missing row is a database error.
    let coins = lock_user(&mut tx, &order.user_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let (balance, held) = (coins.balance, coins.held_i32());
    let take = payments::clawback(due, balance, held);
    let fully_refunded = before + this_refund >= i64::from(order.amount);
    let order_status = if fully_refunded {
        OrderStatus::Refunded
    } else {
        order.status
    };
    insert_refund(&mut tx, input, &order, this_refund, take).await?;
    if take.clawed > 0 {
        write_clawback(
            &mut tx,
            input,
            &order.user_id,
            balance - take.clawed,
            take.clawed,
        )
        .await?;
    }
    if take.shortfall > 0 {
        flag_user(&mut tx, input, &order.user_id, take.shortfall).await?;
    }
    sqlx::query("UPDATE payment_orders SET status = $2, updated_at = now() WHERE id = $1")
        .bind(input.order_id)
        .bind(order_status)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        due,
        clawed = take.clawed,
        shortfall = take.shortfall,
        "refund recorded"
    );
    Ok(refund_outcome(
        "processed",
        take.clawed,
        take.shortfall,
        order_status,
    ))
}

fn refund_outcome(
    status: &str,
    clawed: i32,
    shortfall: i32,
    order_status: OrderStatus,
) -> RefundOutcome {
    RefundOutcome {
        status: status.into(),
        coins_clawed: clawed,
        shortfall_coins: shortfall,
        order_status,
    }
}

/// What an earlier attempt recorded for this refund id, if any (a retry or a replay).
async fn recorded_refund(
    tx: &mut Transaction<'_, Postgres>,
    input: &RefundPaymentInput,
    order: &Order,
) -> sqlx::Result<Option<RefundOutcome>> {
    let row: Option<(i32, i32)> = sqlx::query_as(
        r#"SELECT coins_refunded, shortfall_coins FROM payment_refunds
           WHERE provider = $1 AND provider_refund_id = $2"#,
    )
    .bind(input.provider.as_str())
    .bind(&input.provider_refund_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(clawed, shortfall)| refund_outcome("processed", clawed, shortfall, order.status)))
}

/// Coins the refunded share of the order is worth — zero if the purchase was never credited.
async fn coins_due(
    tx: &mut Transaction<'_, Postgres>,
    input: &RefundPaymentInput,
    order: &Order,
    before: i64,
    after: i64,
) -> sqlx::Result<i32> {
    let payment_id = order
        .provider_payment_id
        .as_deref()
        .unwrap_or(&input.provider_payment_id);
    let credited: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM credit_transactions WHERE idempotency_key = $1)",
    )
    .bind(payments::purchase_key(input.provider, payment_id))
    .fetch_one(&mut **tx)
    .await?;
    Ok(if credited {
        payments::refund_coins(order.coins, order.amount.into(), before, after)
    } else {
        0
    })
}

async fn insert_refund(
    tx: &mut Transaction<'_, Postgres>,
    input: &RefundPaymentInput,
    order: &Order,
    amount: i64,
    take: payments::Clawback,
) -> Result<(), PaymentError> {
    let amount = i32::try_from(amount)
        .map_err(|_| refused(format!("refund amount {amount} is out of range")))?;
    sqlx::query(
        r#"INSERT INTO payment_refunds
               (id, payment_order_id, user_id, provider, provider_refund_id, provider_payment_id,
                amount, currency, coins_refunded, shortfall_coins, reason, status, metadata,
                processed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'processed', $12, now())"#,
    )
    .bind(Uuid::new_v4())
    .bind(input.order_id)
    .bind(&order.user_id)
    .bind(input.provider.as_str())
    .bind(&input.provider_refund_id)
    .bind(&input.provider_payment_id)
    .bind(amount)
    .bind(input.currency.to_ascii_uppercase())
    .bind(take.clawed)
    .bind(take.shortfall)
    .bind(&input.reason)
    .bind(serde_json::json!({"event_id": input.event_id, "cumulative": input.cumulative}))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The `payment_refund` ledger row and the balance, keyed so it is written once.
async fn write_clawback(
    tx: &mut Transaction<'_, Postgres>,
    input: &RefundPaymentInput,
    user_id: &str,
    balance_after: i32,
    clawed: i32,
) -> sqlx::Result<()> {
    let entry = Entry {
        description: format!("Payment refunded: {clawed} coins taken back"),
        idempotency_key: payments::payment_refund_key(input.provider, &input.provider_refund_id),
        payment_order_id: Some(input.order_id),
        payment_id: Some(input.provider_payment_id.clone()),
        metadata: Some(
            serde_json::json!({"provider_refund_id": input.provider_refund_id, "event_id": input.event_id}),
        ),
        ..Entry::new(
            user_id,
            TransactionType::PaymentRefund,
            -clawed,
            balance_after,
        )
    };
    post(tx, &entry).await?;
    Ok(())
}

/// Flags the account: coins bought with refunded money were already spent.
async fn flag_user(
    tx: &mut Transaction<'_, Postgres>,
    input: &RefundPaymentInput,
    user_id: &str,
    shortfall: i32,
) -> sqlx::Result<()> {
    tracing::warn!(
        shortfall,
        "refund could not claw back every coin: user flagged"
    );
    sqlx::query(
        "UPDATE users SET is_flagged = TRUE, flag_reason = $2, updated_at = now() WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(format!(
        "refund {} of order {}: {shortfall} coins had already been spent",
        input.provider_refund_id, input.order_id
    ))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

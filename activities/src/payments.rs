//! Activities of the payment workflows: verify a captured payment against its order, credit
//! it once, and claw a refund back.
//!
//! Each is one database transaction that locks the order row first and the user row second
//! (the unlock ledger never locks orders, so no lock cycle is possible). What makes a credit or
//! a claw-back happen once is a unique key in the database — the ledger's `idempotency_key`
//! (`purchase:{provider}:{payment}`, `payment_refund:{provider}:{refund}`) and
//! `payment_refunds (provider, provider_refund_id)` — not a check in code: a retried activity
//! hits the key and reports what the first attempt did.

#![allow(unreachable_pub)] // the activity macros emit items the lint cannot see through

use std::sync::Arc;

use relivchats_domain::{
    contracts::payments::{
        ClawBackPayment, CreditOutcome, CreditPurchase, CreditPurchaseInput, PaymentVerdict,
        RefundOutcome, RefundPaymentInput, TopUpInput, VerifyPayment,
    },
    ledger::TransactionType,
    payments::{self, Provider},
};
use sqlx::{PgPool, Postgres, Transaction};

use crate::ledger::{Entry, post};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};
use uuid::Uuid;

/// Why a payment activity did not complete.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// A business rule (unknown order, wrong provider): never retried.
    #[error("{0}")]
    Refused(String),
    /// The database: retried without limit.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl PaymentError {
    /// Refusals become non-retryable failures; database errors stay retryable. (The blanket
    /// `From` of `ActivityError` would make every error retryable.)
    pub fn into_activity(self) -> ActivityError {
        match self {
            Self::Refused(message) => ActivityError::application(
                ApplicationFailure::builder(message)
                    .type_name("PaymentRefused".to_owned())
                    .non_retryable(true)
                    .build(),
            ),
            Self::Database(e) => ActivityError::from(anyhow::Error::from(e)),
        }
    }
}

/// The payment activities; they share the worker's database pool.
#[derive(Clone)]
pub struct PaymentActivities {
    pool: PgPool,
}

impl PaymentActivities {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[activities]
impl PaymentActivities {
    #[activity(definition = VerifyPayment)]
    pub async fn verify_payment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: TopUpInput,
    ) -> Result<PaymentVerdict, ActivityError> {
        verify(&self.pool, &input)
            .await
            .map_err(PaymentError::into_activity)
    }

    #[activity(definition = CreditPurchase)]
    pub async fn credit_purchase(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CreditPurchaseInput,
    ) -> Result<CreditOutcome, ActivityError> {
        credit(&self.pool, &input)
            .await
            .map_err(PaymentError::into_activity)
    }

    #[activity(definition = ClawBackPayment)]
    pub async fn claw_back_payment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RefundPaymentInput,
    ) -> Result<RefundOutcome, ActivityError> {
        claw_back(&self.pool, &input)
            .await
            .map_err(PaymentError::into_activity)
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Order {
    user_id: String,
    package_id: Uuid,
    provider: String,
    provider_order_id: String,
    provider_payment_id: Option<String>,
    amount: i32,
    currency: String,
    coins: i32,
    status: String,
    flag_reason: Option<String>,
}

/// Locks the order row: every payment activity starts here.
async fn lock_order(
    tx: &mut Transaction<'_, Postgres>,
    order_id: Uuid,
    provider: Provider,
) -> Result<Order, PaymentError> {
    let order: Option<Order> = sqlx::query_as(
        r#"SELECT user_id, package_id, provider, provider_order_id, provider_payment_id, amount,
                  currency, coins, status, flag_reason
           FROM payment_orders WHERE id = $1 FOR UPDATE"#,
    )
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await?;
    let order = order.ok_or_else(|| PaymentError::Refused(format!("no order {order_id}")))?;
    if order.provider != provider.as_str() {
        return Err(PaymentError::Refused(format!(
            "order {order_id} is a {} order, not {provider}",
            order.provider
        )));
    }
    Ok(order)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

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
        Ok(()) => ("processing", None),
        Err(mismatch) => (
            "flagged",
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
    if other_payment && order.status != "pending" && order.status != "failed" {
        tracing::error!(
            recorded = ?order.provider_payment_id,
            "a second payment arrived for an order already paid; not credited"
        );
        return Some(PaymentVerdict::Skip {
            reason: "the order was paid by another payment".into(),
        });
    }
    match order.status.as_str() {
        "refunded" => Some(PaymentVerdict::Skip {
            reason: "the order was refunded before the payment was credited".into(),
        }),
        "flagged" => Some(PaymentVerdict::Flagged {
            reason: order
                .flag_reason
                .clone()
                .unwrap_or_else(|| "flagged".into()),
        }),
        // Credited earlier (a replay): credit_purchase will find its ledger row.
        "completed" => Some(PaymentVerdict::Credit { coins: order.coins }),
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
    if order.status == "refunded" || order.status == "flagged" {
        return Ok(CreditOutcome {
            status: "skipped".into(),
            coins: 0,
            balance_after: None,
            transaction_id: None,
            newly_credited: false,
        });
    }
    let key = payments::purchase_key(input.provider, &input.provider_payment_id);
    let balance: i32 =
        sqlx::query_scalar("SELECT credit_balance FROM users WHERE user_id = $1 FOR UPDATE")
            .bind(&order.user_id)
            .fetch_one(&mut *tx)
            .await?;
    let balance_after = balance
        .checked_add(order.coins)
        .ok_or_else(|| PaymentError::Refused("the balance would overflow".into()))?;
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
        return Ok(refund_outcome("nothing_new", 0, 0, &order.status));
    }
    let due = coins_due(&mut tx, input, &order, before, before + this_refund).await?;
    let (balance, held) = lock_balance(&mut tx, &order.user_id).await?;
    let take = payments::clawback(due, balance, held);
    let fully_refunded = before + this_refund >= i64::from(order.amount);
    let order_status = if fully_refunded {
        "refunded"
    } else {
        order.status.as_str()
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

fn refund_outcome(status: &str, clawed: i32, shortfall: i32, order_status: &str) -> RefundOutcome {
    RefundOutcome {
        status: status.into(),
        coins_clawed: clawed,
        shortfall_coins: shortfall,
        order_status: order_status.into(),
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
    Ok(
        row.map(|(clawed, shortfall)| {
            refund_outcome("processed", clawed, shortfall, &order.status)
        }),
    )
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

/// Locks the user row; returns `(balance, coins held by running unlocks)`.
async fn lock_balance(
    tx: &mut Transaction<'_, Postgres>,
    user_id: &str,
) -> sqlx::Result<(i32, i32)> {
    let balance: i32 =
        sqlx::query_scalar("SELECT credit_balance FROM users WHERE user_id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?;
    let held: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM coin_reservations WHERE user_id = $1 AND status = 'held'",
    )
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((balance, i32::try_from(held).unwrap_or(i32::MAX)))
}

async fn insert_refund(
    tx: &mut Transaction<'_, Postgres>,
    input: &RefundPaymentInput,
    order: &Order,
    amount: i64,
    take: payments::Clawback,
) -> Result<(), PaymentError> {
    let amount = i32::try_from(amount)
        .map_err(|_| PaymentError::Refused(format!("refund amount {amount} is out of range")))?;
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

//! Activities of the payment workflows: verify a captured payment against its order, credit
//! it once ([`topup`]), and claw a refund back ([`refund`]).
//!
//! Each is one database transaction that locks the order row first and the user row second
//! (the unlock ledger never locks orders, so no lock cycle is possible). What makes a credit or
//! a claw-back happen once is a unique key in the database — the ledger's `idempotency_key`
//! (`purchase:{provider}:{payment}`, `payment_refund:{provider}:{refund}`) and
//! `payment_refunds (provider, provider_refund_id)` — not a check in code: a retried activity
//! hits the key and reports what the first attempt did.

#![allow(unreachable_pub)] // the activity macros emit items the lint cannot see through

mod refund;
mod topup;

use std::sync::Arc;

use relivchats_domain::{
    contracts::payments::{
        ClawBackPayment, CreditOutcome, CreditPurchase, CreditPurchaseInput, PAYMENT_REFUSED,
        PaymentVerdict, RefundOutcome, RefundPaymentInput, TopUpInput, VerifyPayment,
    },
    payments::Provider,
    status::OrderStatus,
};
use sqlx::{PgPool, Postgres, Transaction};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use uuid::Uuid;

pub use refund::claw_back;
pub use topup::{credit, verify};

use crate::failure::ActivityFailure;

/// Why a payment activity did not complete: the activities' one failure type (refusals are
/// typed [`PAYMENT_REFUSED`]).
pub type PaymentError = ActivityFailure;

/// A business refusal of a payment activity (unknown order, wrong provider): never retried.
fn refused(message: impl Into<String>) -> PaymentError {
    ActivityFailure::refused(PAYMENT_REFUSED, message)
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
            .map_err(ActivityFailure::into_activity)
    }

    #[activity(definition = CreditPurchase)]
    pub async fn credit_purchase(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CreditPurchaseInput,
    ) -> Result<CreditOutcome, ActivityError> {
        credit(&self.pool, &input)
            .await
            .map_err(ActivityFailure::into_activity)
    }

    #[activity(definition = ClawBackPayment)]
    pub async fn claw_back_payment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RefundPaymentInput,
    ) -> Result<RefundOutcome, ActivityError> {
        claw_back(&self.pool, &input)
            .await
            .map_err(ActivityFailure::into_activity)
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct Order {
    pub(super) user_id: String,
    pub(super) package_id: Uuid,
    pub(super) provider: String,
    pub(super) provider_order_id: String,
    pub(super) provider_payment_id: Option<String>,
    pub(super) amount: i32,
    pub(super) currency: String,
    pub(super) coins: i32,
    pub(super) status: OrderStatus,
    pub(super) flag_reason: Option<String>,
}

/// Locks the order row: every payment activity starts here.
pub(super) async fn lock_order(
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
    let order = order.ok_or_else(|| refused(format!("no order {order_id}")))?;
    if order.provider != provider.as_str() {
        return Err(refused(format!(
            "order {order_id} is a {} order, not {provider}",
            order.provider
        )));
    }
    Ok(order)
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

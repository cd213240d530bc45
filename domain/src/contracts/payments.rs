//! Contracts of the payment workflows: `TopUp` (credit a captured payment once) and
//! `RefundPayment` (claw a refunded payment's coins back), their activities, ids and search
//! attributes. The API starts the workflows through the marker types here, without
//! depending on the `workflows` crate.

#![allow(unreachable_pub)] // the activity macro emits a private marker module; re-exported below

use serde::{Deserialize, Serialize};
use temporalio_common::{
    HasWorkflowDefinition, WorkflowDefinition,
    search_attributes::{SearchAttributeKey, SearchAttributes},
};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

use super::search_attributes::{PAYMENT_PROVIDER, USER_ID};
use crate::{payments::Provider, status::OrderStatus};

/// Failure type of a payment activity's business refusal (unknown order, wrong provider, a
/// balance that would overflow): non-retryable.
pub const PAYMENT_REFUSED: &str = "PaymentRefused";

/// Workflow type name of a top-up.
pub const TOP_UP_WORKFLOW: &str = "TopUp";
/// Workflow type name of a refund's claw-back.
pub const REFUND_PAYMENT_WORKFLOW: &str = "RefundPayment";

/// One workflow per provider payment: every webhook for that payment (replays, `order.paid`
/// after `payment.captured`, concurrent deliveries) starts or attaches to the same one.
pub fn top_up_workflow_id(provider: Provider, provider_payment_id: &str) -> String {
    format!("topup:{provider}:{provider_payment_id}")
}

/// One workflow per provider refund.
pub fn refund_workflow_id(provider: Provider, provider_refund_id: &str) -> String {
    format!("refund:{provider}:{provider_refund_id}")
}

/// `UserId` (Keyword): the owner of the order.
pub const USER_ID_ATTRIBUTE: SearchAttributeKey<String> = SearchAttributeKey::keyword(USER_ID);
/// `PaymentProvider` (Keyword): `razorpay` or `stripe`.
pub const PROVIDER_ATTRIBUTE: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(PAYMENT_PROVIDER);

/// What an operator filters payment workflows by, e.g.
/// `WorkflowType='TopUp' AND UserId='user_2ab' AND PaymentProvider='stripe'`.
pub fn payment_search_attributes(user_id: &str, provider: Provider) -> SearchAttributes {
    SearchAttributes::new([
        USER_ID_ATTRIBUTE.value_set(user_id.to_owned()),
        PROVIDER_ATTRIBUTE.value_set(provider.as_str().to_owned()),
    ])
}

/// Start input of `TopUp`: the captured payment as the verified webhook reported it. New
/// fields must be `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpInput {
    /// Our `payment_orders.id`.
    pub order_id: Uuid,
    pub user_id: String,
    pub provider: Provider,
    pub provider_payment_id: String,
    /// Minor units captured.
    pub amount: i64,
    /// As the provider wrote it.
    pub currency: String,
    /// The webhook event that started it (for the audit trail).
    pub event_id: String,
}

/// How a top-up ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpOutcome {
    /// `completed` (credited now or earlier), `flagged` (amount or currency did not match:
    /// nothing credited, an operator decides) or `skipped` (the order was refunded or failed
    /// for good before the payment arrived).
    pub status: String,
    pub coins_credited: i32,
    pub balance_after: Option<i32>,
    pub reason: Option<String>,
}

/// What `verify_payment` decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum PaymentVerdict {
    /// The payment pays for the order: credit `coins`.
    Credit { coins: i32 },
    /// Paid too little or in another currency; the order is now `flagged`.
    Flagged { reason: String },
    /// Nothing to do (already refunded, or this payment belongs to another order).
    Skip { reason: String },
}

/// Input of `credit_purchase`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditPurchaseInput {
    pub order_id: Uuid,
    pub provider: Provider,
    pub provider_payment_id: String,
    /// Minor units captured (kept in the ledger row's metadata).
    pub amount: i64,
    pub currency: String,
}

/// What `credit_purchase` did (the same answer however often it is retried).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditOutcome {
    /// `completed`, or `skipped` when the order was refunded meanwhile.
    pub status: String,
    pub coins: i32,
    pub balance_after: Option<i32>,
    pub transaction_id: Option<Uuid>,
    /// False when an earlier attempt had already credited.
    pub newly_credited: bool,
}

/// Start input of `RefundPayment` (and of its one activity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPaymentInput {
    pub order_id: Uuid,
    pub user_id: String,
    pub provider: Provider,
    pub provider_payment_id: String,
    pub provider_refund_id: String,
    /// Minor units: this refund alone, or the payment's refunded total when `cumulative`.
    pub amount: i64,
    /// Stripe's `charge.refunded` reports the total refunded so far, Razorpay each refund.
    pub cumulative: bool,
    pub currency: String,
    pub event_id: String,
    /// Written into `payment_refunds.reason`.
    pub reason: String,
}

/// How a refund's claw-back ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundOutcome {
    /// `processed`, or `nothing_new` when the event refunds no more than already recorded.
    pub status: String,
    pub coins_clawed: i32,
    /// Coins that could not be taken back (already spent); the user is flagged when > 0.
    pub shortfall_coins: i32,
    /// The order's status afterwards (`refunded` once the whole price was given back).
    pub order_status: OrderStatus,
}

/// Marker for `client.start_workflow(TopUpDefinition, …)` outside the workflows crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopUpDefinition;

impl WorkflowDefinition for TopUpDefinition {
    type Input = TopUpInput;
    type Output = TopUpOutcome;
    fn name(&self) -> &str {
        TOP_UP_WORKFLOW
    }
}

impl HasWorkflowDefinition for TopUpDefinition {
    type Run = Self;
}

/// Marker for starting `RefundPayment` outside the workflows crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefundPaymentDefinition;

impl WorkflowDefinition for RefundPaymentDefinition {
    type Input = RefundPaymentInput;
    type Output = RefundOutcome;
    fn name(&self) -> &str {
        REFUND_PAYMENT_WORKFLOW
    }
}

impl HasWorkflowDefinition for RefundPaymentDefinition {
    type Run = Self;
}

/// Activities of the payment workflows (`activities/src/payments.rs`). Each is one database
/// transaction that locks the order row first, so a top-up and a refund of the same order
/// never interleave.
pub struct PaymentContracts;

#[activity_definitions]
impl PaymentContracts {
    /// Checks amount and currency against the order and records the payment id on it; flags
    /// the order on a mismatch.
    #[activity(name = "verify_payment")]
    pub fn verify_payment(input: TopUpInput) -> Result<PaymentVerdict, ActivityError> {
        unimplemented!()
    }

    /// Credits the package's coins once (ledger key `purchase:{provider}:{payment}`) and marks
    /// the order completed, in one transaction.
    #[activity(name = "credit_purchase")]
    pub fn credit_purchase(input: CreditPurchaseInput) -> Result<CreditOutcome, ActivityError> {
        unimplemented!()
    }

    /// Records the refund, claws back what the balance allows (ledger key
    /// `payment_refund:{provider}:{refund}`), records and flags any shortfall.
    #[activity(name = "claw_back_payment")]
    pub fn claw_back_payment(input: RefundPaymentInput) -> Result<RefundOutcome, ActivityError> {
        unimplemented!()
    }
}

pub use payment_contracts::{ClawBackPayment, CreditPurchase, VerifyPayment};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_ids() {
        assert_eq!(
            top_up_workflow_id(Provider::Razorpay, "pay_1"),
            "topup:razorpay:pay_1"
        );
        assert_eq!(
            refund_workflow_id(Provider::Stripe, "ch_1:200"),
            "refund:stripe:ch_1:200"
        );
    }

    #[test]
    fn verdicts_are_tagged_json() {
        let json = serde_json::to_value(PaymentVerdict::Credit { coins: 400 }).unwrap();
        assert_eq!(json, serde_json::json!({"verdict": "credit", "coins": 400}));
        let attrs = payment_search_attributes("user_1", Provider::Stripe);
        assert_eq!(attrs.get(&PROVIDER_ATTRIBUTE).as_deref(), Some("stripe"));
        assert_eq!(attrs.get(&USER_ID_ATTRIBUTE).as_deref(), Some("user_1"));
    }
}

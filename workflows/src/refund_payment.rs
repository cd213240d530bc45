//! `RefundPayment`: money given back takes its coins back.
//!
//! One activity, one database transaction: record the refund (`payment_refunds`, unique per
//! provider refund id), claw back what the available balance allows (ledger key
//! `payment_refund:{provider}:{refund}`), record the shortfall and flag the account when coins
//! were already spent, and mark the order refunded once its whole price has been returned.

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

use relivchats_domain::contracts::payments::{PaymentContracts, RefundOutcome, RefundPaymentInput};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use crate::options::payment_options;

#[workflow]
#[derive(Default)]
pub struct RefundPaymentWorkflow;

#[workflow_methods]
impl RefundPaymentWorkflow {
    #[run(name = relivchats_domain::contracts::payments::REFUND_PAYMENT_WORKFLOW)]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: RefundPaymentInput,
    ) -> WorkflowResult<RefundOutcome> {
        let out = ctx
            .execute_activity(
                PaymentContracts::claw_back_payment,
                input,
                payment_options("claw back the refunded coins"),
            )
            .await?;
        Ok(out)
    }
}

//! `TopUp`: a captured payment becomes coins, once.
//!
//! verify (amount and currency against the order; a mismatch flags the order and credits
//! nothing) → credit (ledger key `purchase:{provider}:{payment}`, order completed). The
//! workflow id `topup:{provider}:{payment}` makes every webhook for one payment start or attach
//! to the same run; the ledger's unique key makes even a second run credit nothing.

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

use relivchats_domain::contracts::payments::{
    CreditPurchaseInput, PaymentContracts, PaymentVerdict, TopUpInput, TopUpOutcome,
};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use crate::options::payment_options;

#[workflow]
#[derive(Default)]
pub struct TopUpWorkflow;

#[workflow_methods]
impl TopUpWorkflow {
    #[run(name = relivchats_domain::contracts::payments::TOP_UP_WORKFLOW)]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: TopUpInput,
    ) -> WorkflowResult<TopUpOutcome> {
        let verdict = ctx
            .execute_activity(
                PaymentContracts::verify_payment,
                input.clone(),
                payment_options("verify amount and currency"),
            )
            .await?;
        let coins = match verdict {
            PaymentVerdict::Credit { coins } => coins,
            PaymentVerdict::Flagged { reason } => return Ok(not_credited("flagged", reason)),
            PaymentVerdict::Skip { reason } => return Ok(not_credited("skipped", reason)),
        };
        let credit = CreditPurchaseInput {
            order_id: input.order_id,
            provider: input.provider,
            provider_payment_id: input.provider_payment_id,
            amount: input.amount,
            currency: input.currency,
        };
        let out = ctx
            .execute_activity(
                PaymentContracts::credit_purchase,
                credit,
                payment_options(&format!("credit {coins} coins")),
            )
            .await?;
        Ok(TopUpOutcome {
            coins_credited: if out.status == "completed" {
                out.coins
            } else {
                0
            },
            status: out.status,
            balance_after: out.balance_after,
            reason: None,
        })
    }
}

fn not_credited(status: &str, reason: String) -> TopUpOutcome {
    TopUpOutcome {
        status: status.to_owned(),
        coins_credited: 0,
        balance_after: None,
        reason: Some(reason),
    }
}

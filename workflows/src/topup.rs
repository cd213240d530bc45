//! `TopUp`: a captured payment becomes coins, once.
//!
//! verify (amount and currency against the order; a mismatch flags the order and credits
//! nothing) → credit (ledger key `purchase:{provider}:{payment}`, order completed). The
//! workflow id `topup:{provider}:{payment}` makes every webhook for one payment start or attach
//! to the same run; the ledger's unique key makes even a second run credit nothing.

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

use std::time::Duration;

use relivchats_domain::contracts::payments::{
    CreditPurchaseInput, PaymentContracts, PaymentVerdict, TopUpInput, TopUpOutcome,
};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// Options of a money-moving activity: retried until it succeeds (`maximum_attempts` 0), with
/// capped backoff; only business refusals (non-retryable failures) stop it.
pub(crate) fn money_activity(summary: &str) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(500))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(60))
                .maximum_attempts(0)
                .build(),
        )
        .summary(summary.to_owned())
        .build()
}

#[workflow]
#[derive(Default)]
pub struct TopUpWorkflow;

#[workflow_methods]
impl TopUpWorkflow {
    #[run(name = "TopUp")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: TopUpInput,
    ) -> WorkflowResult<TopUpOutcome> {
        let verdict = ctx
            .execute_activity(
                PaymentContracts::verify_payment,
                input.clone(),
                money_activity("verify amount and currency"),
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
                money_activity(&format!("credit {coins} coins")),
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

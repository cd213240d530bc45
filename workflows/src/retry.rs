//! `RetryInsight`: a free second chance for one failed insight, as its own small workflow.

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

use relivchats_domain::contracts::{
    insights::{GenerateInsightInput, InsightContracts},
    unlock::{LedgerContracts, RetryInput, RetryUpdate},
};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};
use temporalio_workflow::WorkflowCancellationToken;

use crate::{
    failures::describe,
    options::{insight_options, money_options},
};

#[workflow]
#[derive(Default)]
pub struct RetryInsightWorkflow;

#[workflow_methods]
impl RetryInsightWorkflow {
    /// Generates the insight again, then records the result; returns its final status.
    #[run(name = relivchats_domain::contracts::unlock::RETRY_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: RetryInput) -> WorkflowResult<String> {
        let request = GenerateInsightInput {
            chat_id: input.chat_id,
            insight_type_id: input.insight_type_id,
            job_id: input.job_id.clone(),
        };
        let options = insight_options(&input.timings, &WorkflowCancellationToken::new());
        let result = ctx
            .execute_activity(InsightContracts::generate_insight, request, options)
            .await;
        let update = RetryUpdate {
            insight_id: input.insight_id,
            chat_id: input.chat_id,
            succeeded: result.is_ok(),
            error: result.err().map(|e| describe(&e).1),
        };
        Ok(ctx
            .execute_activity(LedgerContracts::settle_retry, update, money_options())
            .await?)
    }
}

//! `UnlockInsights`: the saga that turns coins into insights.
//!
//! reserve → index (skipped when indexed) → every insight type in parallel → settle:
//! all succeeded: capture the price; some failed: capture the completed share (rounded down,
//! in the user's favour) and release the rest; more than half failed: release everything.
//! Any failure after the reservation compensates by releasing it. An operator's
//! `manual_refund` signal wins at any time (release before capture, a refund after), and a
//! deadline timer releases the reservation and fails what is left. After a capture the
//! workflow stays open for a refund window, so the signal still works then.
//!
//! The ledger steps run as local activities (patch [`UNLOCK_V2`]); indexing and the insights
//! stay regular activities (long, heartbeating, each with its own timeout and retries).

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

mod settle;

use std::time::Duration;

use futures::FutureExt;
use relivchats_domain::{
    contracts::{
        insights::{GenerateInsightInput, IndexChatInput, InsightContracts, failure},
        search_attributes,
        unlock::{
            InsightProgress, InsightTypeRef, JobUpdate, LedgerContracts, ManualRefund,
            ReserveInput, UnlockInput, UnlockOutcome, UnlockProgress, unlock_workflow_id,
        },
    },
    status::{GenerationStatus, InsightStatus, JobStatus},
};
use temporalio_common::{
    ActivityDefinition, data_converters::TemporalDeserializable,
    search_attributes::SearchAttributeKey,
};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, CancellableFuture, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult,
    workflows::{join_all, select},
};
use temporalio_workflow::WorkflowCancellationToken;

use crate::{
    failures::describe,
    options::{index_options, insight_options, local_money_options, money_options},
};

const UNLOCK_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::UNLOCK_STATUS);

/// Patch id of the second version of this workflow, which (1) runs the ledger activities as
/// local activities ([`local_money_options`]), (2) keeps the transient stages out of the
/// search attribute ([`set_stage`]) and (3) cancels the deadline timer once the race is over,
/// instead of leaving it to fire into the refund window. Histories recorded before it replay
/// on the first version's path (`tests/fixtures/unlock-histories`).
const UNLOCK_V2: &str = "unlock-v2";

#[workflow]
pub struct UnlockInsightsWorkflow {
    input: UnlockInput,
    progress: UnlockProgress,
    refund: Option<ManualRefund>,
    refund_handled: bool,
    generating_since: Option<std::time::SystemTime>,
    last_done_at: Option<std::time::SystemTime>,
    /// Whether this run is on [`UNLOCK_V2`] (decided once, at its start).
    v2: bool,
}

/// Why the race between the work, the deadline and the operator ended.
enum Ending {
    Manual,
    Deadline,
    Work(Vec<(InsightTypeRef, Result<(), String>)>),
}

#[workflow_methods]
impl UnlockInsightsWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: UnlockInput) -> Self {
        let progress = UnlockProgress {
            job_id: input.job_id.clone(),
            stage: "reserving".to_owned(),
            total: input.insight_types.len() as u32,
            insights: input
                .insight_types
                .iter()
                .map(|t| InsightProgress {
                    insight_type_id: t.id,
                    name: t.name.clone(),
                    state: InsightStatus::Pending,
                    error: None,
                })
                .collect(),
            ..UnlockProgress::default()
        };
        Self {
            input,
            progress,
            refund: None,
            refund_handled: false,
            generating_since: None,
            last_done_at: None,
            v2: false,
        }
    }

    #[run(name = relivchats_domain::contracts::unlock::UNLOCK_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<UnlockOutcome> {
        let input = ctx.state(|s| s.input.clone());
        let timings = input.timings.clone();
        // Asked first, before any command: runs started before the patch replay without it.
        let v2 = ctx.patched(UNLOCK_V2);
        ctx.state_mut(|s| s.v2 = v2);
        set_stage(ctx, "reserving");
        let reserve = ReserveInput {
            reservation_id: input.reservation_id,
            user_id: input.user_id.clone(),
            chat_id: input.chat_id,
            category_id: input.category_id,
            workflow_id: unlock_workflow_id(input.chat_id, input.category_id),
            amount: input.price,
            hold_secs: timings.hold_secs(),
        };
        if let Err(e) = Self::ledger(ctx, LedgerContracts::reserve_coins, reserve).await {
            // Nothing is held: record why and stop.
            let (kind, message) = describe(&e);
            let message = match kind.as_deref() {
                Some(failure::INSUFFICIENT_CREDITS) => format!("Not enough coins: {message}"),
                _ => format!("The coins could not be reserved: {message}"),
            };
            return Self::fail_unreserved(ctx, &input, message).await;
        }
        ctx.state_mut(|s| s.progress.coins_reserved = input.price);
        let running = job_update(
            &input,
            GenerationStatus::Generating,
            JobStatus::Running,
            (0, 0),
            Vec::new(),
            false,
        );
        Self::ledger(ctx, LedgerContracts::update_unlock_job, running).await?;

        let work_token = ctx.cancellation_token().child_token();
        let mut work = Box::pin(Self::work(ctx.clone(), input.clone(), work_token.clone()).fuse());
        let ending = {
            let mut deadline =
                std::pin::pin!(ctx.timer(Duration::from_secs(timings.deadline_secs)));
            let ending = select! {
                _ = ctx.wait_condition(|s: &Self| s.refund.is_some()) => Ending::Manual,
                _ = &mut deadline => Ending::Deadline,
                results = work => Ending::Work(results),
            };
            if v2 && !matches!(ending, Ending::Deadline) {
                // Dropping the timer future does not cancel the timer: it would still fire (a
                // workflow task for nothing) half an hour later, inside the refund window.
                deadline.cancel();
            }
            ending
        };
        if !matches!(ending, Ending::Work(_)) {
            work_token.cancel_with_reason(
                "the unlock ended before its insights (deadline or operator refund)",
            );
        }
        let outcome = Self::settle(ctx, &input, ending).await?;
        Self::refund_window(ctx, &input, outcome).await
    }

    #[query]
    pub fn progress(&self, ctx: &WorkflowContextView) -> UnlockProgress {
        let mut progress = self.progress.clone();
        progress.manual_refund = self.refund.clone();
        progress.estimated_seconds_remaining = self.estimate(ctx);
        progress
    }

    #[signal]
    pub fn manual_refund(&mut self, _ctx: &mut SyncWorkflowContext<Self>, request: ManualRefund) {
        // The first request wins; a second signal changes nothing.
        if self.refund.is_none() {
            self.refund = Some(request);
        }
    }
}

impl UnlockInsightsWorkflow {
    /// Seconds until the running insights should be done. They run in parallel, so the rest
    /// should take about as long as the ones already finished took on average (a query has no
    /// clock of its own: the times come from the workflow's history).
    fn estimate(&self, _ctx: &WorkflowContextView) -> Option<u64> {
        if self.progress.stage != "generating" {
            return None;
        }
        let done = self.progress.completed + self.progress.failed;
        let taken = match (self.generating_since, self.last_done_at) {
            (Some(since), Some(last)) if done > 0 => {
                last.duration_since(since).map_or(0, |d| d.as_secs())
            }
            _ => return Some((self.input.timings.insight_timeout_secs / 4).max(1)),
        };
        Some((taken / u64::from(done)).max(1))
    }

    /// Index, then generate every insight in parallel. Never fails: each insight's outcome is
    /// in the result (an indexing failure fails them all).
    async fn work(
        ctx: WorkflowContext<Self>,
        input: UnlockInput,
        token: WorkflowCancellationToken,
    ) -> Vec<(InsightTypeRef, Result<(), String>)> {
        set_stage(&ctx, "indexing");
        let index = ctx
            .execute_activity(
                InsightContracts::index_chat,
                IndexChatInput {
                    chat_id: input.chat_id,
                },
                index_options(&token),
            )
            .await;
        if let Err(e) = index {
            let message = format!(
                "The chat could not be prepared for analysis: {}",
                describe(&e).1
            );
            return input
                .insight_types
                .iter()
                .map(|t| (t.clone(), Err(message.clone())))
                .collect();
        }
        set_stage(&ctx, "generating");
        let now = ctx.workflow_time();
        ctx.state_mut(|s| {
            s.generating_since = now;
            s.progress
                .insights
                .iter_mut()
                .for_each(|i| i.state = InsightStatus::Generating);
        });
        let runs = input.insight_types.iter().map(|t| {
            let (ctx, t, token) = (ctx.clone(), t.clone(), token.clone());
            let request = GenerateInsightInput {
                chat_id: input.chat_id,
                insight_type_id: t.id,
                job_id: Some(input.job_id.clone()),
            };
            let options = insight_options(&input.timings, &token);
            async move {
                let result = ctx
                    .execute_activity(InsightContracts::generate_insight, request, options)
                    .await
                    .map(|_| ())
                    .map_err(|e| describe(&e).1);
                let now = ctx.workflow_time();
                ctx.state_mut(|s| {
                    s.last_done_at = now;
                    s.record(t.id, &result);
                });
                (t, result)
            }
        });
        join_all(runs).await
    }

    /// Runs a ledger activity: local on [`UNLOCK_V2`] runs, a regular activity on runs
    /// started before it (their histories hold the regular activity's events).
    async fn ledger<AD>(
        ctx: &WorkflowContext<Self>,
        activity: AD,
        input: AD::Input,
    ) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        if ctx.state(|s| s.v2) {
            ctx.execute_local_activity(activity, input, local_money_options())
                .await
        } else {
            ctx.execute_activity(activity, input, money_options()).await
        }
    }

    fn record(&mut self, type_id: uuid::Uuid, result: &Result<(), String>) {
        if let Some(i) = self
            .progress
            .insights
            .iter_mut()
            .find(|i| i.insight_type_id == type_id)
        {
            match result {
                Ok(()) => {
                    i.state = InsightStatus::Completed;
                    self.progress.completed += 1;
                }
                Err(e) => {
                    i.state = InsightStatus::Failed;
                    i.error = Some(e.clone());
                    self.progress.failed += 1;
                }
            }
        }
    }
}

fn operator_name(request: &ManualRefund) -> String {
    if request.operator.trim().is_empty() {
        "an operator".to_owned()
    } else {
        request.operator.clone()
    }
}

/// Records the stage in the query state and in the `UnlockStatus` search attribute. On
/// [`UNLOCK_V2`] runs, `reserving` and `settling` stay in the query state only: their
/// bookkeeping normally finishes inside the workflow task that also sets the next stage, so
/// the attribute would be overwritten in the same visibility write. (While the database is
/// down a run waits in its previous attribute value; the `progress` query tells the truth.)
fn set_stage(ctx: &WorkflowContext<UnlockInsightsWorkflow>, stage: &str) {
    let v2 = ctx.state_mut(|s| {
        s.progress.stage = stage.to_owned();
        s.v2
    });
    if v2 && matches!(stage, "reserving" | "settling") {
        return;
    }
    ctx.upsert_search_attributes([UNLOCK_STATUS.value_set(stage.to_owned())]);
}

fn job_update(
    input: &UnlockInput,
    chat_status: GenerationStatus,
    job_status: JobStatus,
    (completed, failed): (u32, u32),
    failed_insights: Vec<(uuid::Uuid, String)>,
    finished: bool,
) -> JobUpdate {
    JobUpdate {
        job_id: input.job_id.clone(),
        chat_id: input.chat_id,
        chat_status,
        job_status,
        completed,
        failed,
        failed_insights,
        coins_charged: 0,
        coins_refunded: 0,
        error_message: None,
        finished,
    }
}

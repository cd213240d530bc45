//! How an unlock ends: the settlement (capture or release), the cut-short outcome of unfinished
//! insights, the refund window after a capture, and a reservation that never happened.

use std::time::Duration;

use relivchats_domain::{
    contracts::unlock::{
        CaptureInput, InsightTypeRef, LedgerContracts, ManualRefund, RefundInput, ReleaseInput,
        UnlockInput, UnlockOutcome,
    },
    ledger::settlement_charge,
    status::{GenerationStatus, InsightStatus, JobStatus},
};
use temporalio_sdk::{WorkflowContext, WorkflowResult, workflows::select};

use super::{Ending, UnlockInsightsWorkflow, job_update, operator_name, set_stage};

impl UnlockInsightsWorkflow {
    /// Applies the settlement rules and records the final state of the chat and the job.
    pub(super) async fn settle(
        ctx: &mut WorkflowContext<Self>,
        input: &UnlockInput,
        ending: Ending,
    ) -> WorkflowResult<UnlockOutcome> {
        set_stage(ctx, "settling");
        let (results, refund_reason, expired) = match ending {
            Ending::Work(results) => (results, None, false),
            Ending::Deadline => (
                Self::unfinished(ctx, "The analysis did not finish in time."),
                Some("deadline passed".to_owned()),
                true,
            ),
            Ending::Manual => {
                let request = ctx
                    .state(|s| s.refund.clone())
                    .unwrap_or_else(|| ManualRefund {
                        reason: String::new(),
                        operator: String::new(),
                    });
                ctx.state_mut(|s| s.refund_handled = true);
                let reason = format!(
                    "manual refund by {}: {}",
                    operator_name(&request),
                    request.reason
                );
                (
                    Self::unfinished(ctx, "Stopped: the coins were refunded by support."),
                    Some(reason),
                    false,
                )
            }
        };
        let total = results.len() as u32;
        let completed = results.iter().filter(|(_, r)| r.is_ok()).count() as u32;
        let failed = total - completed;
        let failed_insights: Vec<(uuid::Uuid, String)> = results
            .iter()
            .filter_map(|(t, r)| r.as_ref().err().map(|e| (t.id, e.clone())))
            .collect();
        let price = input.price;
        let charge = settlement_charge(price, completed, failed, refund_reason.is_some());
        let refund_reason = refund_reason
            .or_else(|| (charge < price).then(|| format!("{failed} of {total} insights failed")));
        let settled = if charge > 0 {
            let capture = CaptureInput {
                reservation_id: input.reservation_id,
                amount: charge,
                description: format!(
                    "Unlocked {} insights ({}/{total} delivered)",
                    input.category_slug, completed
                ),
                job_id: input.job_id.clone(),
            };
            Self::ledger(ctx, LedgerContracts::capture_coins, capture).await?
        } else {
            let release = ReleaseInput {
                reservation_id: input.reservation_id,
                reason: refund_reason.clone().unwrap_or_default(),
                expired,
            };
            Self::ledger(ctx, LedgerContracts::release_coins, release).await?
        };
        let (status, job_status) = final_statuses(completed, failed);
        let mut update = job_update(
            input,
            status,
            job_status,
            (completed, failed),
            failed_insights,
            true,
        );
        update.coins_charged = settled.captured;
        update.error_message = refund_reason
            .clone()
            .filter(|_| status != GenerationStatus::Completed);
        Self::ledger(ctx, LedgerContracts::update_unlock_job, update).await?;
        ctx.state_mut(|s| {
            s.progress.coins_charged = settled.captured;
            s.progress.coins_refunded = price - settled.captured;
        });
        set_stage(ctx, status.as_str());
        Ok(UnlockOutcome {
            status,
            completed,
            failed,
            coins_charged: settled.captured,
            coins_refunded: price - settled.captured,
            refund_reason,
        })
    }

    /// The outcome of every insight when the work was cut short: finished ones keep their
    /// result, the rest fail with `why`.
    fn unfinished(
        ctx: &WorkflowContext<Self>,
        why: &str,
    ) -> Vec<(InsightTypeRef, Result<(), String>)> {
        ctx.state_mut(|s| {
            let mut out = Vec::new();
            for i in &mut s.progress.insights {
                let result = match i.state {
                    InsightStatus::Completed => Ok(()),
                    InsightStatus::Failed => Err(i.error.clone().unwrap_or_else(|| why.to_owned())),
                    _ => {
                        i.state = InsightStatus::Failed;
                        i.error = Some(why.to_owned());
                        Err(why.to_owned())
                    }
                };
                out.push((
                    InsightTypeRef {
                        id: i.insight_type_id,
                        name: i.name.clone(),
                    },
                    result,
                ));
            }
            s.progress.completed = out.iter().filter(|(_, r)| r.is_ok()).count() as u32;
            s.progress.failed = out.len() as u32 - s.progress.completed;
            out
        })
    }

    /// After a capture, an operator may still refund: wait for the signal or the window's end.
    pub(super) async fn refund_window(
        ctx: &mut WorkflowContext<Self>,
        input: &UnlockInput,
        mut outcome: UnlockOutcome,
    ) -> WorkflowResult<UnlockOutcome> {
        // No window configured (a zero-second timer would still cost the ~1 s granularity of
        // Temporal timers before the workflow closes).
        if outcome.coins_charged == 0
            || ctx.state(|s| s.refund_handled)
            || input.timings.refund_window_secs == 0
        {
            return Ok(outcome);
        }
        let window = Duration::from_secs(input.timings.refund_window_secs);
        let refunded = select! {
            _ = ctx.wait_condition(|s: &Self| s.refund.is_some()) => true,
            _ = ctx.timer(window) => false,
        };
        if !refunded {
            return Ok(outcome);
        }
        let request = ctx
            .state(|s| s.refund.clone())
            .unwrap_or_else(|| ManualRefund {
                reason: String::new(),
                operator: String::new(),
            });
        let refund = RefundInput {
            reservation_id: input.reservation_id,
            reason: request.reason.clone(),
            operator: operator_name(&request),
        };
        let settled = Self::ledger(ctx, LedgerContracts::refund_coins, refund).await?;
        let mut update = job_update(
            input,
            outcome.status,
            final_statuses(outcome.completed, outcome.failed).1,
            (outcome.completed, outcome.failed),
            Vec::new(),
            true,
        );
        update.coins_charged = settled.captured;
        update.coins_refunded = input.price - settled.captured + settled.refunded;
        update.error_message = Some(format!(
            "refunded by {}: {}",
            operator_name(&request),
            request.reason
        ));
        Self::ledger(ctx, LedgerContracts::update_unlock_job, update).await?;
        ctx.state_mut(|s| {
            s.refund_handled = true;
            s.progress.coins_refunded = input.price;
        });
        set_stage(ctx, "refunded");
        outcome.coins_refunded = input.price;
        outcome.refund_reason = Some(format!(
            "manual refund by {}: {}",
            operator_name(&request),
            request.reason
        ));
        Ok(outcome)
    }

    pub(super) async fn fail_unreserved(
        ctx: &mut WorkflowContext<Self>,
        input: &UnlockInput,
        message: String,
    ) -> WorkflowResult<UnlockOutcome> {
        let failed: Vec<_> = input
            .insight_types
            .iter()
            .map(|t| (t.id, message.clone()))
            .collect();
        let total = failed.len() as u32;
        let mut update = job_update(
            input,
            GenerationStatus::Failed,
            JobStatus::Failed,
            (0, total),
            failed,
            true,
        );
        update.error_message = Some(message.clone());
        Self::ledger(ctx, LedgerContracts::update_unlock_job, update).await?;
        ctx.state_mut(|s| {
            s.progress.failed = total;
            s.progress.insights.iter_mut().for_each(|i| {
                i.state = InsightStatus::Failed;
                i.error = Some(message.clone());
            });
        });
        set_stage(ctx, GenerationStatus::Failed.as_str());
        Ok(UnlockOutcome {
            status: GenerationStatus::Failed,
            completed: 0,
            failed: total,
            coins_charged: 0,
            coins_refunded: 0,
            refund_reason: Some(message),
        })
    }
}

/// The chat's and the job's final status, from how many insights were delivered and failed.
fn final_statuses(completed: u32, failed: u32) -> (GenerationStatus, JobStatus) {
    match (completed, failed) {
        (_, 0) => (GenerationStatus::Completed, JobStatus::Completed),
        (0, _) => (GenerationStatus::Failed, JobStatus::Failed),
        _ => (GenerationStatus::PartialFailure, JobStatus::PartialFailure),
    }
}

//! Activity options shared by the workflows: the money steps (retried until they succeed, only
//! business refusals stop them), indexing and one insight.
//!
//! These values are part of the commands the workflows issue (timeouts, retry policies, task
//! queues): changing one changes what new runs record, so they live here once.

use std::time::Duration;

use relivchats_domain::contracts::unlock::UnlockTimings;
use temporalio_common::RetryPolicy;
use temporalio_sdk::{ActivityOptions, LocalActivityOptions};
use temporalio_workflow::WorkflowCancellationToken;

/// The unlock ledger's retry policy: without limit, backoff capped at 30 s.
fn money_retry() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_millis(500))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(30))
        .maximum_attempts(0)
        .build()
}

/// Money and bookkeeping as local activities: the same retry policy as [`money_options`], run
/// by the worker inside the workflow task (recorded as markers in the history), so the few
/// milliseconds of a ledger transaction no longer cost an activity task and a workflow task
/// each on the Temporal server.
pub(crate) fn local_money_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(money_retry())
        // Compensation must run even after the work was cancelled.
        .cancellation_token(WorkflowCancellationToken::new())
        .build()
}

/// Money and bookkeeping as regular activities (unlock runs started before `unlock-v2`, and
/// free retries): retried without limit (only business refusals stop them), so a reservation
/// is always settled once the database is back.
pub(crate) fn money_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(money_retry())
        // Compensation must run even after the work was cancelled.
        .cancellation_token(WorkflowCancellationToken::new())
        .build()
}

/// Options of a payment activity: retried until it succeeds (`maximum_attempts` 0), with
/// capped backoff; only business refusals (non-retryable failures) stop it.
pub(crate) fn payment_options(summary: &str) -> ActivityOptions {
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

/// Options of `index_chat`: long, heartbeating, a few attempts.
pub(crate) fn index_options(token: &WorkflowCancellationToken) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(15 * 60))
        .heartbeat_timeout(Duration::from_secs(30))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .maximum_attempts(5)
                .build(),
        )
        .cancellation_token(token.clone())
        .summary("index the chat for retrieval")
        .build()
}

/// Options of one `generate_insight`: its own timeout and retries, and a heartbeat timeout so
/// that cancelling the work (deadline, operator refund) reaches a running model call — without
/// one, a cancel request waits for the activity to finish by itself. It runs on the model task
/// queue when the input names one (the rate-limited queue; see `UnlockTimings`).
pub(crate) fn insight_options(
    timings: &UnlockTimings,
    token: &WorkflowCancellationToken,
) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(timings.insight_timeout_secs))
        .heartbeat_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(10))
                .maximum_attempts(timings.insight_max_attempts)
                .build(),
        )
        .cancellation_token(token.clone())
        .maybe_task_queue(timings.model_task_queue.clone())
        .build()
}

/// Options of the health probe's one database query.
pub(crate) fn probe_options() -> ActivityOptions {
    ActivityOptions::start_to_close_timeout(Duration::from_secs(10))
}

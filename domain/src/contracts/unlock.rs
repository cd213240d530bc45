//! Contracts of the unlock saga: the `UnlockInsights` and `RetryInsight` workflows (so the
//! API can start, query and signal them without depending on the `workflows` crate), and the
//! ledger and job-bookkeeping activities they call.

#![allow(unreachable_pub)] // the activity macro emits a private marker module; re-exported below

use serde::{Deserialize, Serialize};
use temporalio_common::{
    HasWorkflowDefinition, QueryDefinition, SignalDefinition, WorkflowDefinition,
};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

use crate::status::{GenerationStatus, InsightStatus, JobStatus, ReservationStatus};

/// Workflow type name of the unlock saga.
pub const UNLOCK_WORKFLOW: &str = "UnlockInsights";
/// Workflow type name of a free retry of one failed insight.
pub const RETRY_WORKFLOW: &str = "RetryInsight";

/// One workflow per chat and category: a double click attaches to the running one.
pub fn unlock_workflow_id(chat_id: Uuid, category_id: Uuid) -> String {
    format!("unlock:{chat_id}:{category_id}")
}

/// One retry workflow per insight and attempt number.
pub fn retry_workflow_id(insight_id: Uuid, attempt: i32) -> String {
    format!("retry:{insight_id}:{attempt}")
}

/// An insight type the unlock generates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsightTypeRef {
    pub id: Uuid,
    pub name: String,
}

/// Timings of an unlock and where its model calls run, from configuration (`UNLOCK_*`,
/// `INSIGHT_*`, `TEMPORAL_MODEL_TASK_QUEUE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockTimings {
    /// The reservation is released and what is left fails after this long.
    pub deadline_secs: u64,
    /// Start-to-close timeout of one `generate_insight` attempt.
    pub insight_timeout_secs: u64,
    /// Attempts of one `generate_insight` (retryable failures only).
    pub insight_max_attempts: u32,
    /// After coins were captured, how long an operator's `manual_refund` signal is still
    /// accepted by the running workflow.
    pub refund_window_secs: u64,
    /// The task queue `generate_insight` is scheduled on: its own, so that Temporal's
    /// task-queue rate limit holds the model-call budget across every worker. `None` (inputs
    /// recorded before the model queue existed) schedules it on the workflow's queue, so those
    /// histories replay unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_task_queue: Option<String>,
}

impl UnlockTimings {
    /// How long a reservation holds its coins: the deadline plus a margin for settling. Past
    /// it, the reservation sweeper releases a hold that no workflow settled (a terminated or
    /// stuck run), so held coins always come back.
    pub fn hold_secs(&self) -> u64 {
        self.deadline_secs + 300
    }
}

/// Free retries one failed insight gets. A retry costs the model calls of a whole insight,
/// so it is bounded; past it the user asks support (an operator can refund).
pub const MAX_FREE_RETRIES: i32 = 3;

impl Default for UnlockTimings {
    fn default() -> Self {
        Self {
            deadline_secs: 30 * 60,
            insight_timeout_secs: 120,
            insight_max_attempts: 3,
            refund_window_secs: 24 * 60 * 60,
            model_task_queue: None,
        }
    }
}

/// Start input of `UnlockInsights`. New fields must be `#[serde(default)]`: a running workflow
/// whose input no longer deserialises is stuck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockInput {
    pub job_id: String,
    pub user_id: String,
    pub chat_id: Uuid,
    pub category_id: Uuid,
    pub category_slug: String,
    /// The category's price when the unlock started, in coins.
    pub price: i32,
    /// Chosen by the API, so a retried `reserve_coins` finds its own reservation.
    pub reservation_id: Uuid,
    pub insight_types: Vec<InsightTypeRef>,
    #[serde(default)]
    pub timings: UnlockTimings,
}

/// How an unlock ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockOutcome {
    /// The chat's final `insights_generation_status`: `completed`, `partial_failure` or `failed`.
    pub status: GenerationStatus,
    pub completed: u32,
    pub failed: u32,
    pub coins_charged: i32,
    pub coins_refunded: i32,
    /// Why coins were given back, when they were (settlement, deadline, operator).
    pub refund_reason: Option<String>,
}

/// State of one insight in the `progress` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsightProgress {
    pub insight_type_id: Uuid,
    pub name: String,
    /// `pending`, `generating`, `completed` or `failed`.
    pub state: InsightStatus,
    pub error: Option<String>,
}

/// An operator's refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualRefund {
    pub reason: String,
    #[serde(default)]
    pub operator: String,
}

/// The `progress` query's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockProgress {
    pub job_id: String,
    /// `reserving`, `indexing`, `generating`, `settling`, then the outcome status (and
    /// `refunded` after an operator refund).
    pub stage: String,
    pub total: u32,
    pub completed: u32,
    pub failed: u32,
    pub insights: Vec<InsightProgress>,
    pub coins_reserved: i32,
    pub coins_charged: i32,
    pub coins_refunded: i32,
    /// Seconds until the remaining insights are expected, while generating.
    pub estimated_seconds_remaining: Option<u64>,
    pub manual_refund: Option<ManualRefund>,
}

/// Marker for `client.start_workflow(UnlockInsightsDefinition, …)` outside the workflows crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnlockInsightsDefinition;

impl WorkflowDefinition for UnlockInsightsDefinition {
    type Input = UnlockInput;
    type Output = UnlockOutcome;
    fn name(&self) -> &str {
        UNLOCK_WORKFLOW
    }
}

impl HasWorkflowDefinition for UnlockInsightsDefinition {
    type Run = Self;
}

/// The `progress` query of `UnlockInsights`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressQuery;

impl QueryDefinition for ProgressQuery {
    type Workflow = UnlockInsightsDefinition;
    type Input = ();
    type Output = UnlockProgress;
    fn name(&self) -> &str {
        "progress"
    }
}

/// The `manual_refund` signal of `UnlockInsights`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManualRefundSignal;

impl SignalDefinition for ManualRefundSignal {
    type Workflow = UnlockInsightsDefinition;
    type Input = ManualRefund;
    fn name(&self) -> &str {
        "manual_refund"
    }
}

/// Start input of `RetryInsight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryInput {
    pub insight_id: Uuid,
    pub chat_id: Uuid,
    pub insight_type_id: Uuid,
    pub job_id: Option<String>,
    #[serde(default)]
    pub timings: UnlockTimings,
}

/// Marker for starting `RetryInsight` outside the workflows crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryInsightDefinition;

impl WorkflowDefinition for RetryInsightDefinition {
    type Input = RetryInput;
    /// The insight's final status.
    type Output = String;
    fn name(&self) -> &str {
        RETRY_WORKFLOW
    }
}

impl HasWorkflowDefinition for RetryInsightDefinition {
    type Run = Self;
}

// ---- ledger activities -------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveInput {
    pub reservation_id: Uuid,
    pub user_id: String,
    pub chat_id: Uuid,
    pub category_id: Uuid,
    pub workflow_id: String,
    pub amount: i32,
    pub hold_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveOutput {
    /// `balance − held` after this reservation.
    pub available_after: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureInput {
    pub reservation_id: Uuid,
    /// Coins to deduct, at most the reservation; the rest is released.
    pub amount: i32,
    pub description: String,
    pub job_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInput {
    pub reservation_id: Uuid,
    pub reason: String,
    /// Released by the deadline (`expired`) rather than by a decision (`released`).
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundInput {
    pub reservation_id: Uuid,
    pub reason: String,
    pub operator: String,
}

/// What a settling operation left behind (the same answer however often it is retried).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleOutput {
    /// `captured`, `released` or `expired` (`held` when a refund finds nothing captured).
    pub status: ReservationStatus,
    pub captured: i32,
    pub refunded: i32,
    pub transaction_id: Option<Uuid>,
}

/// Bookkeeping of an unlock job: the chat's status, the job row and the insight rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobUpdate {
    pub job_id: String,
    pub chat_id: Uuid,
    /// The chat's `insights_generation_status` (`generating`, `completed`, …).
    pub chat_status: GenerationStatus,
    /// The job's status (`running`, `completed`, `partial_failure`, `failed`).
    pub job_status: JobStatus,
    pub completed: u32,
    pub failed: u32,
    /// Insights that ended failed, with the reason shown to the user.
    #[serde(default)]
    pub failed_insights: Vec<(Uuid, String)>,
    #[serde(default)]
    pub coins_charged: i32,
    #[serde(default)]
    pub coins_refunded: i32,
    #[serde(default)]
    pub error_message: Option<String>,
    /// The job has ended (sets `completed_at`).
    #[serde(default)]
    pub finished: bool,
}

/// Settling a free retry: mark the insight, recount the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryUpdate {
    pub insight_id: Uuid,
    pub chat_id: Uuid,
    pub succeeded: bool,
    pub error: Option<String>,
}

/// Ledger and bookkeeping activities of the saga (`activities/src/ledger.rs`).
pub struct LedgerContracts;

#[activity_definitions]
impl LedgerContracts {
    #[activity(name = "reserve_coins")]
    pub fn reserve_coins(input: ReserveInput) -> Result<ReserveOutput, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "capture_coins")]
    pub fn capture_coins(input: CaptureInput) -> Result<SettleOutput, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "release_coins")]
    pub fn release_coins(input: ReleaseInput) -> Result<SettleOutput, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "refund_coins")]
    pub fn refund_coins(input: RefundInput) -> Result<SettleOutput, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "update_unlock_job")]
    pub fn update_unlock_job(input: JobUpdate) -> Result<(), ActivityError> {
        unimplemented!()
    }

    #[activity(name = "settle_retry")]
    pub fn settle_retry(input: RetryUpdate) -> Result<String, ActivityError> {
        unimplemented!()
    }
}

pub use ledger_contracts::{
    CaptureCoins, RefundCoins, ReleaseCoins, ReserveCoins, SettleRetry, UpdateUnlockJob,
};

//! Insights: unlock a category (start the `UnlockInsights` saga), follow the job, read the
//! insights, retry a failed one for free.
//!
//! One file per thing a user does with them: [`unlock`] decides whether an unlock may start,
//! [`hold`] reserves its coins and writes the job, [`start`] hands it to Temporal,
//! [`job_status`] follows it, [`read`] shows the result and [`retry`] regenerates a failed
//! insight. The job row and the search attributes are here because all of them read them.

mod hold;
mod job_status;
mod read;
mod retry;
mod start;
mod unlock;

use axum::{
    Router,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use relivchats_domain::{contracts::search_attributes, status::JobStatus};
use temporalio_common::search_attributes::SearchAttributeKey;
use uuid::Uuid;

use crate::{AppState, error::ApiResult};

pub(crate) use job_status::__path_job_status;
pub(crate) use read::__path_chat_insights;
pub(crate) use retry::__path_retry_insight;
pub(crate) use unlock::__path_unlock;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/insights/unlock", post(unlock::unlock))
        .route(
            "/insights/jobs/{job_id}/status",
            get(job_status::job_status),
        )
        .route("/insights/chats/{chat_id}", get(read::chat_insights))
        .route("/insights/{insight_id}/retry", post(retry::retry_insight))
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct JobRow {
    pub(super) job_id: String,
    pub(super) workflow_id: String,
    pub(super) chat_id: Uuid,
    pub(super) category_id: Uuid,
    pub(super) reservation_id: Option<Uuid>,
    pub(super) status: JobStatus,
    pub(super) total_insights: i32,
    pub(super) completed_insights: i32,
    pub(super) failed_insights: i32,
    pub(super) coins_reserved: i32,
    pub(super) coins_charged: i32,
    pub(super) coins_refunded: i32,
    pub(super) error_message: Option<String>,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) estimated_completion_at: Option<DateTime<Utc>>,
    pub(super) completed_at: Option<DateTime<Utc>>,
    pub(super) created_at: DateTime<Utc>,
}

pub(super) const JOB_COLUMNS: &str = r#"job_id, workflow_id, chat_id, category_id, reservation_id, status, total_insights,
    completed_insights, failed_insights, coins_reserved, coins_charged, coins_refunded, error_message,
    started_at, estimated_completion_at, completed_at, created_at"#;

/// Typed keys of the custom search attributes set when an unlock starts.
pub(super) const USER_ID: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::USER_ID);
pub(super) const CHAT_ID: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::CHAT_ID);
pub(super) const CATEGORY: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::CATEGORY);
pub(super) const UNLOCK_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::UNLOCK_STATUS);

pub(super) async fn latest_job(
    state: &AppState,
    chat_id: Uuid,
    category_id: Uuid,
) -> ApiResult<Option<JobRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM insight_generation_jobs WHERE chat_id = $1 AND category_id = $2 ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(chat_id)
    .bind(category_id)
    .fetch_optional(&state.pool)
    .await?)
}

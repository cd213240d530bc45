//! `GET /api/insights/jobs/{job_id}/status`: a job's progress, asked of its running workflow
//! and answered from the database when the workflow has finished or cannot be asked.

use std::time::Duration;

use axum::extract::State;
use chrono::{DateTime, Utc};
use relivchats_domain::{
    contracts::unlock::{ProgressQuery, UnlockInsightsDefinition, UnlockProgress},
    status::{InsightStatus, JobStatus},
};
use serde::Serialize;
use serde_json::{Value, json};
use temporalio_client::WorkflowQueryOptions;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{JOB_COLUMNS, JobRow};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobStatusResponse {
    job_id: String,
    /// `queued`, `running`, `completed`, `partial_failure` or `failed`.
    status: String,
    /// (completed + failed) / total × 100.
    progress_percentage: u32,
    total_insights: i32,
    completed_insights: i32,
    failed_insights: i32,
    started_at: Option<DateTime<Utc>>,
    estimated_completion_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    /// New: the workflow's stage (`reserving`, `indexing`, `generating`, `settling`, …).
    stage: String,
    /// New: per-insight states.
    #[schema(value_type = Vec<Object>)]
    insights: Value,
    coins_reserved: i32,
    coins_charged: i32,
    coins_refunded: i32,
    error_message: Option<String>,
    /// New: where the answer came from: the running workflow or the database.
    source: &'static str,
}

/// A job's progress: live from the workflow while it runs, from the database afterwards (or
/// when the workflow cannot be asked).
#[utoipa::path(get, path = "/api/insights/jobs/{job_id}/status", tag = "insights", security(("bearer" = [])),
    params(("job_id" = String, Path, pattern = r"^[^\u0000]*$", description = "The `job_id` an unlock returned")),
    responses((status = 200, body = JobStatusResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn job_status(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(job_id): ApiPath<String>,
) -> ApiResult<ApiJson<JobStatusResponse>> {
    let job: JobRow = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM insight_generation_jobs WHERE job_id = $1 AND user_id = $2"
    ))
    .bind(&job_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Job"))?;
    let live = if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
        query_progress(&state, &job).await
    } else {
        None
    };
    Ok(ApiJson(match live {
        Some(p) => from_progress(&job, p),
        None => from_database(&state, job).await?,
    }))
}

async fn query_progress(state: &AppState, job: &JobRow) -> Option<UnlockProgress> {
    let handle = state
        .temporal
        .get_workflow_handle::<UnlockInsightsDefinition>(job.workflow_id.clone());
    // A query needs a live worker; never let a status poll hang on one.
    match tokio::time::timeout(
        Duration::from_secs(3),
        handle.query(ProgressQuery, (), WorkflowQueryOptions::default()),
    )
    .await
    {
        Ok(Ok(p)) if p.job_id == job.job_id => Some(p),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "progress query failed; answering from the database");
            None
        }
        Err(_) => {
            tracing::warn!("progress query timed out; answering from the database");
            None
        }
    }
}

fn percentage(done: i64, total: i64) -> u32 {
    if total <= 0 {
        0
    } else {
        (done * 100 / total).clamp(0, 100) as u32
    }
}

fn from_progress(job: &JobRow, p: UnlockProgress) -> JobStatusResponse {
    let total = i64::from(p.total);
    JobStatusResponse {
        job_id: job.job_id.clone(),
        status: JobStatus::Running.to_string(),
        progress_percentage: percentage(i64::from(p.completed + p.failed), total),
        total_insights: p.total as i32,
        completed_insights: p.completed as i32,
        failed_insights: p.failed as i32,
        started_at: job.started_at.or(Some(job.created_at)),
        estimated_completion_at: p
            .estimated_seconds_remaining
            .map(|s| Utc::now() + chrono::Duration::seconds(s as i64)),
        completed_at: None,
        stage: p.stage,
        insights: serde_json::to_value(&p.insights).unwrap_or(Value::Null),
        coins_reserved: p.coins_reserved,
        coins_charged: p.coins_charged,
        coins_refunded: p.coins_refunded,
        error_message: None,
        source: "workflow",
    }
}

async fn from_database(state: &AppState, job: JobRow) -> ApiResult<JobStatusResponse> {
    let insights: Vec<(Uuid, String, InsightStatus, Option<String>)> = sqlx::query_as(
        r#"SELECT i.insight_type_id, t.name, i.status, i.error_message FROM insights i
           JOIN insight_types t ON t.id = i.insight_type_id
           JOIN category_insight_types cit ON cit.insight_type_id = t.id AND cit.category_id = $2
           WHERE i.chat_id = $1 ORDER BY cit.display_order"#,
    )
    .bind(job.chat_id)
    .bind(job.category_id)
    .fetch_all(&state.pool)
    .await?;
    let insights: Vec<Value> = insights
        .into_iter()
        .map(|(id, name, status, error)| json!({"insight_type_id": id, "name": name, "state": status, "error": error}))
        .collect();
    Ok(JobStatusResponse {
        progress_percentage: if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
            percentage(
                i64::from(job.completed_insights + job.failed_insights),
                i64::from(job.total_insights),
            )
        } else {
            100
        },
        stage: job.status.to_string(),
        job_id: job.job_id,
        status: job.status.to_string(),
        total_insights: job.total_insights,
        completed_insights: job.completed_insights,
        failed_insights: job.failed_insights,
        started_at: job.started_at,
        estimated_completion_at: job.estimated_completion_at,
        completed_at: job.completed_at,
        insights: Value::Array(insights),
        coins_reserved: job.coins_reserved,
        coins_charged: job.coins_charged,
        coins_refunded: job.coins_refunded,
        error_message: job.error_message,
        source: "database",
    })
}

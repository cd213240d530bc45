//! `POST /api/insights/{insight_id}/retry`: the free retries an unlock's buyer is owed for
//! the insights that failed, claimed in the database so that none is started twice or unowed.

use axum::extract::State;
use relivchats_domain::{
    contracts::unlock::{MAX_FREE_RETRIES, RetryInput, RetryInsightDefinition, retry_workflow_id},
    status::InsightStatus,
};
use serde::Serialize;
use temporalio_client::WorkflowIdReusePolicy;
use temporalio_common::search_attributes::SearchAttributes;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CHAT_ID, USER_ID};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
    workflow_start::{StartRequest, start_or_attach},
};

/// A failed insight and what its unlock paid.
#[derive(Debug, sqlx::FromRow)]
struct RetryCandidate {
    chat_id: Uuid,
    insight_type_id: Uuid,
    job_id: Option<String>,
    status: InsightStatus,
    retry_count: i32,
    /// The insight's unlock captured coins and no refund gave them back.
    paid: bool,
}

/// Claims a free retry of a failed insight: only for an unlock that was paid for (a partial
/// capture counts: the failed insights are the ones the user was promised), at most
/// [`MAX_FREE_RETRIES`] times. The claim re-checks both in its own `WHERE`, so neither a race
/// nor a refund landing in between can start a retry that is not owed.
async fn claim_retry(
    state: &AppState,
    insight_id: Uuid,
    insight: &RetryCandidate,
) -> ApiResult<i32> {
    if !insight.paid {
        return Err(ApiError::Conflict(
            "This insight's unlock was not charged (it was refunded, or too few insights succeeded), so there is no free retry. Unlock the category again to generate it.".to_owned(),
        ));
    }
    if insight.retry_count >= MAX_FREE_RETRIES {
        return Err(ApiError::Conflict(format!(
            "This insight was already retried {MAX_FREE_RETRIES} times without success. Please contact support; nothing more was charged."
        )));
    }
    let claimed: Option<i32> = sqlx::query_scalar(
        r#"UPDATE insights i SET status = 'generating', retry_count = i.retry_count + 1,
                  error_message = NULL, updated_at = now()
           FROM insight_generation_jobs j JOIN coin_reservations r ON r.id = j.reservation_id
           WHERE i.id = $1 AND i.status = 'failed' AND i.retry_count < $2
             AND j.job_id = i.job_id AND r.status = 'captured' AND r.refunded_amount = 0
           RETURNING i.retry_count"#,
    )
    .bind(insight_id)
    .bind(MAX_FREE_RETRIES)
    .fetch_optional(&state.pool)
    .await?;
    if let Some(attempt) = claimed {
        return Ok(attempt);
    }
    // Lost a race with an identical request (that one started the retry), or a refund landed.
    let now: Option<(InsightStatus, i32)> =
        sqlx::query_as("SELECT status, retry_count FROM insights WHERE id = $1")
            .bind(insight_id)
            .fetch_optional(&state.pool)
            .await?;
    match now {
        Some((InsightStatus::Generating, attempt)) => Ok(attempt),
        _ => Err(ApiError::Conflict(
            "This insight can no longer be retried for free.".to_owned(),
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RetryResponse {
    insight_id: Uuid,
    /// `generating` while the retry runs.
    status: String,
    workflow_id: String,
    /// Retries cost nothing.
    coins_charged: i32,
}

/// Generates a failed insight again, for free, in its own small workflow: only an insight of a
/// paid unlock (not refunded), at most three times.
#[utoipa::path(post, path = "/api/insights/{insight_id}/retry", tag = "insights", security(("bearer" = [])),
    params(("insight_id" = Uuid, Path)),
    responses((status = 200, body = RetryResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn retry_insight(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(insight_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<RetryResponse>> {
    let row: Option<RetryCandidate> = sqlx::query_as(
        r#"SELECT i.chat_id, i.insight_type_id, i.job_id, i.status, i.retry_count,
                  COALESCE(r.status = 'captured' AND r.refunded_amount = 0, FALSE) AS paid
           FROM insights i
           JOIN chats c ON c.id = i.chat_id
           LEFT JOIN insight_generation_jobs j ON j.job_id = i.job_id
           LEFT JOIN coin_reservations r ON r.id = j.reservation_id
           WHERE i.id = $1 AND c.user_id = $2 AND NOT c.is_deleted"#,
    )
    .bind(insight_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?;
    let insight = row.ok_or_else(|| ApiError::not_found("Insight"))?;
    let (chat_id, insight_type_id, job_id, retries) = (
        insight.chat_id,
        insight.insight_type_id,
        insight.job_id.clone(),
        insight.retry_count,
    );
    let attempt = match insight.status {
        InsightStatus::Failed => claim_retry(&state, insight_id, &insight).await?,
        // Already retrying: the same answer again.
        InsightStatus::Generating if retries > 0 => retries,
        InsightStatus::Completed => {
            return Err(ApiError::Conflict(
                "This insight is already complete.".to_owned(),
            ));
        }
        _ => {
            return Err(ApiError::Conflict(
                "This insight is still being generated by its unlock; only failed insights can be retried.".to_owned(),
            ));
        }
    };
    let workflow_id = retry_workflow_id(insight_id, attempt);
    let input = RetryInput {
        insight_id,
        chat_id,
        insight_type_id,
        job_id,
        timings: state.settings.unlock_timings.clone(),
    };
    let request = StartRequest {
        workflow_id: workflow_id.clone(),
        reuse: WorkflowIdReusePolicy::RejectDuplicate,
        search_attributes: SearchAttributes::new([
            USER_ID.value_set(user.user_id.to_string()),
            CHAT_ID.value_set(chat_id.to_string()),
        ]),
        summary: format!("free retry of insight {insight_id}"),
    };
    match start_or_attach(&state, RetryInsightDefinition, input, request).await {
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = ?e, "could not start the retry workflow");
            sqlx::query("UPDATE insights SET status = 'failed', error_message = $2 WHERE id = $1 AND status = 'generating'")
                .bind(insight_id)
                .bind("the retry could not be started")
                .execute(&state.pool)
                .await?;
            return Err(ApiError::ServiceUnavailable(
                "The retry could not be started right now; please try again.".to_owned(),
            ));
        }
    }
    Ok(ApiJson(RetryResponse {
        insight_id,
        status: InsightStatus::Generating.to_string(),
        workflow_id,
        coins_charged: 0,
    }))
}

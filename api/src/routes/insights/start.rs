//! Handing an unlock's job to Temporal: one workflow per chat and category, started or
//! attached to, and the hold given back at once when Temporal cannot take it.

use relivchats_domain::{
    contracts::unlock::{InsightTypeRef, UnlockInput, UnlockInsightsDefinition},
    status::{JobStatus, VectorStatus},
};
use temporalio_client::WorkflowIdReusePolicy;
use temporalio_common::search_attributes::SearchAttributes;
use uuid::Uuid;

use super::{
    CATEGORY, CHAT_ID, JobRow, UNLOCK_STATUS, USER_ID,
    unlock::{ChatForUnlock, UnlockResponse, UnlockType},
};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiResult},
    workflow_start::{StartRequest, start_or_attach},
};

async fn available_coins(state: &AppState, user: &AuthUser) -> ApiResult<i64> {
    let mut conn = state.pool.acquire().await?;
    let coins = relivchats_store::coins(&mut conn, user.user_id.as_str())
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(coins.available())
}

/// Starts the job's workflow, or attaches to it when it already runs (the id is the chat and
/// category: a double click, a retried request or a crash between the job row and the start
/// all end up with one workflow).
pub(super) async fn attach(
    state: &AppState,
    user: &AuthUser,
    job: JobRow,
    slug: &str,
    types: &[UnlockType],
    chat: &ChatForUnlock,
) -> ApiResult<ApiJson<UnlockResponse>> {
    let reservation_id = job.reservation_id.unwrap_or_else(Uuid::new_v4);
    let input = UnlockInput {
        job_id: job.job_id.clone(),
        user_id: user.user_id.to_string(),
        chat_id: job.chat_id,
        category_id: job.category_id,
        category_slug: slug.to_owned(),
        price: job.coins_reserved,
        reservation_id,
        insight_types: types
            .iter()
            .map(|t| InsightTypeRef {
                id: t.id,
                name: t.name.clone(),
            })
            .collect(),
        timings: state.settings.unlock_timings.clone(),
    };
    let attributes = SearchAttributes::new([
        USER_ID.value_set(user.user_id.to_string()),
        CHAT_ID.value_set(job.chat_id.to_string()),
        CATEGORY.value_set(slug.to_owned()),
        UNLOCK_STATUS.value_set(JobStatus::Queued.to_string()),
    ]);
    let request = StartRequest {
        workflow_id: job.workflow_id.clone(),
        reuse: WorkflowIdReusePolicy::AllowDuplicate,
        search_attributes: attributes,
        summary: format!(
            "unlock {slug} for chat {} (user {})",
            job.chat_id, user.user_id
        ),
    };
    match start_or_attach(state, UnlockInsightsDefinition, input, request).await {
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = ?e, "could not start the unlock workflow");
            sqlx::query("UPDATE insight_generation_jobs SET status = 'failed', error_message = $2, completed_at = now() WHERE job_id = $1 AND status = 'queued'")
                .bind(&job.job_id)
                .bind("the workflow could not be started")
                .execute(&state.pool)
                .await?;
            sqlx::query("UPDATE chats SET insights_generation_status = 'failed' WHERE id = $1 AND insights_job_id = $2")
                .bind(job.chat_id)
                .bind(&job.job_id)
                .execute(&state.pool)
                .await?;
            // The API held the coins; no workflow will settle them.
            sqlx::query(
                r#"UPDATE coin_reservations SET status = 'released', reason = $2, settled_at = now()
                   WHERE id = $1 AND status = 'held'"#,
            )
            .bind(reservation_id)
            .bind("the unlock workflow could not be started")
            .execute(&state.pool)
            .await?;
            return Err(ApiError::ServiceUnavailable(
                "The unlock could not be started right now. Nothing was charged; please try again in a minute.".to_owned(),
            ));
        }
    }
    let available = available_coins(state, user).await?;
    Ok(ApiJson(UnlockResponse {
        success: true,
        message: format!(
            "Generating {} insights. {} coins are held and only the insights delivered are charged.",
            types.len(),
            job.coins_reserved
        ),
        poll_url: format!("/insights/jobs/{}/status", job.job_id),
        job_id: job.job_id,
        coins_deducted: job.coins_reserved,
        transaction_id: reservation_id.to_string(),
        // The hold is written with the job, so this is already net of it.
        remaining_balance: available,
        total_insights: types.len(),
        estimated_time_seconds: Some(60),
        indexed_on_demand: chat.vector_status != VectorStatus::Completed,
        workflow_id: job.workflow_id,
        status: job.status.to_string(),
    }))
}

//! `POST /api/insights/unlock`: the checks an unlock must pass before coins are held (the
//! chat, the category, who may join a running job), so a refusal never touches the ledger.

use axum::extract::State;
use relivchats_domain::{
    catalogue::allows_participants,
    status::{GenerationStatus, JobStatus, VectorStatus},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{hold::create_job, latest_job, start::attach};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};

/// Fields not listed here are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UnlockRequest {
    chat_id: Uuid,
    category_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnlockResponse {
    pub(super) success: bool,
    pub(super) job_id: String,
    /// The price of the unlock. Held while the insights are generated; only the share of the
    /// insights actually delivered is finally charged.
    pub(super) coins_deducted: i32,
    /// The coin reservation (the ledger row appears when it is captured).
    pub(super) transaction_id: String,
    /// Coins still available after this hold.
    pub(super) remaining_balance: i64,
    pub(super) total_insights: usize,
    pub(super) estimated_time_seconds: Option<u64>,
    pub(super) message: String,
    pub(super) poll_url: String,
    /// The chat was not indexed yet and is indexed first.
    pub(super) indexed_on_demand: bool,
    /// New: the Temporal workflow running this unlock (operators find it by this id).
    pub(super) workflow_id: String,
    /// New: `queued` or `running` (an identical request while one runs returns the same job).
    pub(super) status: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ChatForUnlock {
    pub(super) participant_count: i32,
    pub(super) vector_status: VectorStatus,
    pub(super) insights_generation_status: GenerationStatus,
    pub(super) category_id: Option<Uuid>,
}

/// An insight type of the category being unlocked: what the unlock needs of it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct UnlockType {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) display_title: String,
    pub(super) supports_group_chats: bool,
    pub(super) max_participants: Option<i32>,
}

async fn load_types(state: &AppState, category_id: Uuid) -> ApiResult<Vec<UnlockType>> {
    Ok(sqlx::query_as(
        r#"SELECT t.id, t.name, t.display_title, t.supports_group_chats, t.max_participants
           FROM category_insight_types cit JOIN insight_types t ON t.id = cit.insight_type_id
           WHERE cit.category_id = $1 AND t.is_active ORDER BY cit.display_order, t.name"#,
    )
    .bind(category_id)
    .fetch_all(&state.pool)
    .await?)
}

/// Unlocks a category's insights for a chat: coins are held, the insights generated in a
/// durable workflow, and only what was delivered is charged. Insufficient coins → 402 (nothing
/// held); the same request while one runs → the same job; an unlocked category → 409.
#[utoipa::path(post, path = "/api/insights/unlock", tag = "insights", request_body = UnlockRequest,
    security(("bearer" = [])),
    responses((status = 200, body = UnlockResponse), (status = 402, body = ErrorBody, description = "Not enough coins: {required, available, deficit}"),
        (status = 403, body = ErrorBody, description = "The account is on hold (a reversed payment)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already unlocked, another unlock running, or the chat does not fit the category"),
        (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, chat_id = %body.chat_id, category_id = %body.category_id), err(Debug))]
pub(crate) async fn unlock(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<UnlockRequest>,
) -> ApiResult<ApiJson<UnlockResponse>> {
    let chat: ChatForUnlock = sqlx::query_as(
        r#"SELECT participant_count, vector_status, insights_generation_status, category_id FROM chats
           WHERE id = $1 AND user_id = $2 AND NOT is_deleted AND status = 'completed'"#,
    )
    .bind(body.chat_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Chat"))?;
    let (slug, display_name, price): (String, String, i32) =
        sqlx::query_as("SELECT name, display_name, credit_cost FROM analysis_categories WHERE id = $1 AND is_active")
            .bind(body.category_id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or_else(|| ApiError::not_found("Category"))?;
    let types = load_types(&state, body.category_id).await?;
    if types.is_empty() {
        return Err(ApiError::NotFound(format!(
            "The {display_name} category has no insights to unlock."
        )));
    }
    let refused: Vec<&str> = types
        .iter()
        .filter(|t| {
            !allows_participants(
                t.supports_group_chats,
                t.max_participants,
                chat.participant_count,
            )
        })
        .map(|t| t.display_title.as_str())
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::Conflict(format!(
            "This chat has {} participants, but {} in {display_name} only work for a chat between two people. Nothing was charged: choose a category made for groups, such as Family or Workplace.",
            chat.participant_count,
            refused.join(", ")
        )));
    }
    if let Some(job) = latest_job(&state, body.chat_id, body.category_id).await? {
        match job.status {
            JobStatus::Queued | JobStatus::Running => {
                return attach(&state, &user, job, &slug, &types, &chat).await;
            }
            // A settled unlock that took coins stays unlocked; one that charged nothing (more
            // than half failed) may be unlocked again, or the user would be stuck with it.
            JobStatus::Completed | JobStatus::PartialFailure if job.coins_charged > 0 => {
                return Err(ApiError::Conflict(format!(
                    "The {display_name} insights of this chat are already unlocked (job {}). Failed insights can be retried for free.",
                    job.job_id
                )));
            }
            _ => {}
        }
    }
    if matches!(
        chat.insights_generation_status,
        GenerationStatus::Queued | GenerationStatus::Generating
    ) && chat.category_id != Some(body.category_id)
    {
        return Err(another_unlock_running());
    }
    let (job, created) =
        match create_job(&state, &user, body.chat_id, body.category_id, price, &types).await? {
            Some(job) => (job, true),
            // A concurrent request's job won the one-active-unlock-per-chat index: the same
            // category attaches to it, another category waits.
            None => match latest_job(&state, body.chat_id, body.category_id).await? {
                Some(job) if matches!(job.status, JobStatus::Queued | JobStatus::Running) => {
                    (job, false)
                }
                _ => return Err(another_unlock_running()),
            },
        };
    let response = attach(&state, &user, job, &slug, &types, &chat).await?;
    // A new job whose workflow started (a failed start releases the hold at once): counted
    // once, not on attaches.
    if created {
        state.metrics.unlock_started();
    }
    Ok(response)
}

fn another_unlock_running() -> ApiError {
    ApiError::Conflict(
        "Another category is being unlocked for this chat. Wait for it to finish, then try again."
            .to_owned(),
    )
}

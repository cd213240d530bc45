//! `DELETE /api/chats/{chat_id}`: a chat gone at once, its vectors first (so nothing
//! searchable outlives the rows that would have pointed at it).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeleteChatResponse {
    success: bool,
    message: &'static str,
    chat_id: Uuid,
}

/// Deletes the chat with its messages, chunks and insights (ledger rows keep their amounts and
/// lose the link). Gone at once, not soft-deleted.
#[utoipa::path(delete, path = "/api/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = DeleteChatResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn delete_chat(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<DeleteChatResponse>> {
    let owned: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM chats WHERE id = $1 AND user_id = $2)")
            .bind(chat_id)
            .bind(user.user_id.as_str())
            .fetch_one(&state.pool)
            .await?;
    if !owned {
        return Err(ApiError::not_found("Chat"));
    }
    crate::routes::rag::remove_vectors(&state, &[chat_id]).await?;
    let deleted = sqlx::query("DELETE FROM chats WHERE id = $1 AND user_id = $2")
        .bind(chat_id)
        .bind(user.user_id.as_str())
        .execute(&state.pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::not_found("Chat"));
    }
    Ok(ApiJson(DeleteChatResponse {
        success: true,
        message: "Chat successfully deleted",
        chat_id,
    }))
}

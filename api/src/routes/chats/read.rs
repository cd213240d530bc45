//! Reading the caller's chats as the frontend lists and opens them, and whether one is
//! indexed for retrieval.

use axum::extract::State;
use chrono::{DateTime, Utc};
use relivchats_domain::status::VectorStatus;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CHAT_SELECT, ChatResponse, ChatRow, owned_chat};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiJson, ApiPath, ApiResult, ErrorBody},
};

/// The caller's chats, newest first (deleted ones excluded).
#[utoipa::path(get, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    responses((status = 200, body = Vec<ChatResponse>)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id), err(Debug))]
pub(crate) async fn list_chats(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<Vec<ChatResponse>>> {
    let rows: Vec<ChatRow> = sqlx::query_as(&format!(
        "{CHAT_SELECT} WHERE c.user_id = $1 AND NOT c.is_deleted AND c.status = 'completed' ORDER BY c.created_at DESC, c.id"
    ))
    .bind(user.user_id.as_str())
    .fetch_all(&state.pool)
    .await?;
    let chats = rows
        .into_iter()
        .map(|r| r.into_response(&state.cipher))
        .collect::<ApiResult<_>>()?;
    Ok(ApiJson(chats))
}

/// One of the caller's chats.
#[utoipa::path(get, path = "/api/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = ChatResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn get_chat(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ChatResponse>> {
    Ok(ApiJson(
        owned_chat(&state, &user, chat_id)
            .await?
            .into_response(&state.cipher)?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VectorStatusResponse {
    chat_id: Uuid,
    vector_status: String,
    chunk_count: i32,
    indexed_at: Option<DateTime<Utc>>,
    is_searchable: bool,
}

/// Whether the chat is indexed for retrieval.
#[utoipa::path(get, path = "/api/chats/{chat_id}/vector-status", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = VectorStatusResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn vector_status(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<VectorStatusResponse>> {
    let chat = owned_chat(&state, &user, chat_id).await?;
    Ok(ApiJson(VectorStatusResponse {
        chat_id,
        is_searchable: chat.vector_status == VectorStatus::Completed,
        vector_status: chat.vector_status.to_string(),
        chunk_count: chat.chunk_count,
        indexed_at: chat.indexed_at,
    }))
}

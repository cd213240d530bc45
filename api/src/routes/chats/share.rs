//! Sharing: what the public page of a shared chat may show (statistics without message
//! text), computed when the owner shares and served to anyone as stored.

use axum::{extract::State, response::IntoResponse};
use relivchats_domain::crypto::Cipher;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::owned_chat;
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShareResponse {
    chat_id: Uuid,
    is_shared: bool,
    /// The frontend's public page.
    share_path: String,
    /// The public statistics endpoint that page reads.
    stats_url: String,
}

async fn set_shared(
    state: &AppState,
    user: &AuthUser,
    chat_id: Uuid,
    shared: bool,
) -> ApiResult<ShareResponse> {
    // What the public page will show, computed now rather than on every anonymous request.
    let public = if shared {
        let chat = owned_chat(state, user, chat_id).await?;
        let public = public_subset(
            &state.cipher,
            chat_id,
            chat.title,
            chat.participants,
            chat.chat_metadata,
        )?;
        Some(state.cipher.encrypt(&public))
    } else {
        None
    };
    let updated = sqlx::query(
        r#"UPDATE chats SET is_shared = $3, shared_at = CASE WHEN $3 THEN now() END,
                            public_stats = $4, updated_at = now()
           WHERE id = $1 AND user_id = $2 AND NOT is_deleted"#,
    )
    .bind(chat_id)
    .bind(user.user_id.as_str())
    .bind(shared)
    .bind(public)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(ApiError::not_found("Chat"));
    }
    Ok(ShareResponse {
        chat_id,
        is_shared: shared,
        share_path: format!("/share/{chat_id}"),
        stats_url: format!("/api/chats/{chat_id}/stats"),
    })
}

/// The public statistics response as JSON text: the title, the participants and the metadata
/// without `links` and each person's `longest_message` (message text).
fn public_subset(
    cipher: &Cipher,
    chat_id: Uuid,
    title: Option<String>,
    participants: Option<String>,
    metadata: Option<String>,
) -> ApiResult<String> {
    let internal = |e: relivchats_domain::crypto::CipherError| ApiError::Internal(e.into());
    let title = title
        .map(|t| cipher.decrypt(&t))
        .transpose()
        .map_err(internal)?;
    let participants: Vec<String> = participants
        .map(|p| cipher.decrypt_json(&p))
        .transpose()
        .map_err(internal)?
        .unwrap_or_default();
    let mut chat_metadata: Value = metadata
        .map(|m| cipher.decrypt_json(&m))
        .transpose()
        .map_err(internal)?
        .unwrap_or_default();
    if let Some(map) = chat_metadata.as_object_mut() {
        map.remove("links");
        if let Some(users) = map.get_mut("user_stats").and_then(Value::as_object_mut) {
            for stats in users.values_mut().filter_map(Value::as_object_mut) {
                stats.remove("longest_message");
            }
        }
    }
    let response = PublicStatsResponse {
        chat_id,
        filename: title.unwrap_or_else(|| "Unnamed Chat".to_owned()),
        participants,
        chat_metadata,
    };
    Ok(serde_json::to_string(&response).map_err(anyhow::Error::from)?)
}

/// Lets anyone with the link see this chat's statistics (not its messages).
#[utoipa::path(post, path = "/api/chats/{chat_id}/share", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), responses((status = 200, body = ShareResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn share_chat(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ShareResponse>> {
    Ok(ApiJson(set_shared(&state, &user, chat_id, true).await?))
}

/// Makes the statistics private again.
#[utoipa::path(delete, path = "/api/chats/{chat_id}/share", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), responses((status = 200, body = ShareResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn unshare_chat(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ShareResponse>> {
    Ok(ApiJson(set_shared(&state, &user, chat_id, false).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicStatsResponse {
    chat_id: Uuid,
    filename: String,
    participants: Vec<String>,
    /// The statistics without message text: `links` and each person's `longest_message` are
    /// left out of the public page.
    #[schema(value_type = Object)]
    chat_metadata: Value,
}

/// Public (no sign-in): the statistics of a chat its owner shared; 404 otherwise.
#[utoipa::path(get, path = "/api/chats/{chat_id}/stats", tag = "chats",
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = PublicStatsResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state), err(Debug))]
pub(crate) async fn public_stats(
    State(state): State<AppState>,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<axum::response::Response> {
    let stored: Option<Option<String>> = sqlx::query_scalar(
        "SELECT public_stats FROM chats WHERE id = $1 AND is_shared AND NOT is_deleted",
    )
    .bind(chat_id)
    .fetch_optional(&state.pool)
    .await?;
    let json = match stored.ok_or_else(|| ApiError::not_found("Shared chat"))? {
        Some(token) => state
            .cipher
            .decrypt(&token)
            .map_err(|e| ApiError::Internal(e.into()))?,
        // Shared before the subset was stored: compute it once and keep it.
        None => {
            let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT title, participants, chat_metadata FROM chats WHERE id = $1 AND is_shared AND NOT is_deleted",
            )
            .bind(chat_id)
            .fetch_optional(&state.pool)
            .await?;
            let (title, participants, metadata) =
                row.ok_or_else(|| ApiError::not_found("Shared chat"))?;
            let json = public_subset(&state.cipher, chat_id, title, participants, metadata)?;
            sqlx::query(
                "UPDATE chats SET public_stats = $2 WHERE id = $1 AND is_shared AND public_stats IS NULL",
            )
            .bind(chat_id)
            .bind(state.cipher.encrypt(&json))
            .execute(&state.pool)
            .await?;
            json
        }
    };
    // Served as stored: no parse, no re-serialization.
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json,
    )
        .into_response())
}

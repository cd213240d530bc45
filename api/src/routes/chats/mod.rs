//! Chats: upload (parse, statistics, encrypted storage), listing, messages, sharing, deletion.
//!
//! One file per thing a user does with a chat: [`upload`] (with the parse in [`prepare`] and
//! the binary COPY in [`copy`]), [`read`], [`messages`], [`share`] and [`delete`]. The chat
//! row and its response are here because every one of them reads the chat the same way.

mod copy;
mod delete;
mod messages;
mod prepare;
mod read;
mod share;
mod upload;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use relivchats_domain::{
    crypto::Cipher,
    status::{ChatStatus, GenerationStatus, VectorStatus},
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
};

pub(crate) use delete::__path_delete_chat;
pub(crate) use messages::__path_list_messages;
pub(crate) use read::{__path_get_chat, __path_list_chats, __path_vector_status};
pub(crate) use share::{__path_public_stats, __path_share_chat, __path_unshare_chat};
pub(crate) use upload::__path_upload_chat;

/// Multipart framing around the file (boundaries, headers, the category field).
const MULTIPART_OVERHEAD: usize = 64 * 1024;

pub(crate) fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/chats/upload",
            post(upload::upload_chat)
                .layer(DefaultBodyLimit::max(max_upload_bytes + MULTIPART_OVERHEAD)),
        )
        .route("/chats", get(read::list_chats))
        .route(
            "/chats/{chat_id}",
            get(read::get_chat).delete(delete::delete_chat),
        )
        .route("/chats/{chat_id}/messages", get(messages::list_messages))
        .route("/chats/{chat_id}/vector-status", get(read::vector_status))
        .route(
            "/chats/{chat_id}/share",
            post(share::share_chat).delete(share::unshare_chat),
        )
        .route("/chats/{chat_id}/stats", get(share::public_stats))
}

/// A chat as the frontend reads it (`GetChatResponse`; the upload response is the same).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatResponse {
    chat_id: Uuid,
    user_id: String,
    title: Option<String>,
    /// The title, or "Unnamed Chat".
    filename: String,
    participants: Vec<String>,
    user_display_name: Option<String>,
    /// The free statistics (the earlier service's keys, which the frontend reads, plus new ones; chats stored
    /// before a key existed do not have it).
    #[schema(value_type = relivchats_domain::whatsapp::ChatMetadata)]
    chat_metadata: Value,
    category_id: Option<Uuid>,
    category_slug: Option<String>,
    category_name: Option<String>,
    created_at: DateTime<Utc>,
    platform: String,
    status: String,
    vector_status: String,
    chunk_count: i32,
    indexed_at: Option<DateTime<Utc>>,
    error_log: Option<String>,
    /// True once the insights generation completed.
    insights_unlocked: bool,
    /// `not_started|queued|generating|completed|partial_failure|failed`.
    insights_generation_status: String,
    insights_unlocked_at: Option<DateTime<Utc>>,
    /// New: messages stored for this chat.
    message_count: i32,
    is_group_chat: bool,
    /// New: whether the public share page may show this chat's statistics.
    is_shared: bool,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ChatRow {
    pub(super) id: Uuid,
    pub(super) user_id: String,
    pub(super) title: Option<String>,
    pub(super) participants: Option<String>,
    pub(super) chat_metadata: Option<String>,
    pub(super) user_display_name: Option<String>,
    pub(super) category_id: Option<Uuid>,
    pub(super) category_slug: Option<String>,
    pub(super) category_name: Option<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) platform: String,
    pub(super) status: ChatStatus,
    pub(super) vector_status: VectorStatus,
    pub(super) chunk_count: i32,
    pub(super) indexed_at: Option<DateTime<Utc>>,
    pub(super) error_log: Option<String>,
    pub(super) insights_generation_status: GenerationStatus,
    pub(super) insights_unlocked_at: Option<DateTime<Utc>>,
    pub(super) message_count: i32,
    pub(super) is_group_chat: bool,
    pub(super) is_shared: bool,
    /// The list block senders index into, when it is not `participants` (enc JSON).
    pub(super) senders: Option<String>,
    /// Messages still in the per-message rows of before blocks (see the migration).
    pub(super) legacy_messages: bool,
}

pub(super) const CHAT_SELECT: &str = r#"
    SELECT c.id, c.user_id, c.title, c.participants, c.chat_metadata, c.user_display_name,
           c.category_id, cat.name AS category_slug, cat.display_name AS category_name,
           c.created_at, c.platform, c.status, c.vector_status, c.chunk_count, c.indexed_at,
           c.error_log, c.insights_generation_status, c.insights_unlocked_at, c.message_count,
           c.is_group_chat, c.is_shared, c.senders, c.legacy_messages
    FROM chats c LEFT JOIN analysis_categories cat ON cat.id = c.category_id"#;

impl ChatRow {
    pub(super) fn into_response(self, cipher: &Cipher) -> ApiResult<ChatResponse> {
        let decrypt = |v: Option<String>| -> ApiResult<Option<String>> {
            v.map(|v| cipher.decrypt(&v))
                .transpose()
                .map_err(|e| ApiError::Internal(e.into()))
        };
        let title = decrypt(self.title)?;
        let participants = match self.participants {
            Some(p) => cipher
                .decrypt_json(&p)
                .map_err(|e| ApiError::Internal(e.into()))?,
            None => Vec::new(),
        };
        let chat_metadata = match self.chat_metadata {
            Some(m) => cipher
                .decrypt_json(&m)
                .map_err(|e| ApiError::Internal(e.into()))?,
            None => Value::Object(Default::default()),
        };
        Ok(ChatResponse {
            chat_id: self.id,
            user_id: self.user_id,
            filename: title.clone().unwrap_or_else(|| "Unnamed Chat".to_owned()),
            title,
            participants,
            user_display_name: decrypt(self.user_display_name)?,
            chat_metadata,
            category_id: self.category_id,
            category_slug: self.category_slug,
            category_name: self.category_name,
            created_at: self.created_at,
            platform: self.platform,
            status: self.status.to_string(),
            vector_status: self.vector_status.to_string(),
            chunk_count: self.chunk_count,
            indexed_at: self.indexed_at,
            error_log: self.error_log,
            insights_unlocked: self.insights_generation_status == GenerationStatus::Completed,
            insights_generation_status: self.insights_generation_status.to_string(),
            insights_unlocked_at: self.insights_unlocked_at,
            message_count: self.message_count,
            is_group_chat: self.is_group_chat,
            is_shared: self.is_shared,
        })
    }
}

/// The caller's chat, or 404 (another user's chat is indistinguishable from a missing one).
pub(super) async fn owned_chat(
    state: &AppState,
    user: &AuthUser,
    chat_id: Uuid,
) -> ApiResult<ChatRow> {
    sqlx::query_as(&format!(
        "{CHAT_SELECT} WHERE c.id = $1 AND c.user_id = $2 AND NOT c.is_deleted"
    ))
    .bind(chat_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Chat"))
}

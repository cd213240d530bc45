//! Chats: upload (parse, statistics, encrypted storage), listing, messages, sharing, deletion.

use std::fmt::Write as _;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDateTime, Utc};
use relivchats_domain::{crypto::Cipher, whatsapp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult},
};

/// Multipart framing around the file (boundaries, headers, the category field).
const MULTIPART_OVERHEAD: usize = 64 * 1024;

pub(crate) fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/chats/upload",
            post(upload_chat).layer(DefaultBodyLimit::max(max_upload_bytes + MULTIPART_OVERHEAD)),
        )
        .route("/chats", get(list_chats))
        .route("/chats/{chat_id}", get(get_chat).delete(delete_chat))
        .route("/chats/{chat_id}/messages", get(list_messages))
        .route("/chats/{chat_id}/vector-status", get(vector_status))
        .route(
            "/chats/{chat_id}/share",
            post(share_chat).delete(unshare_chat),
        )
        .route("/chats/{chat_id}/stats", get(public_stats))
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
    /// The free statistics (`reference/seed-api.md` §4.3 keys, plus new ones).
    #[schema(value_type = Object)]
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
struct ChatRow {
    id: Uuid,
    user_id: String,
    title: Option<String>,
    participants: Option<String>,
    chat_metadata: Option<String>,
    user_display_name: Option<String>,
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
    insights_generation_status: String,
    insights_unlocked_at: Option<DateTime<Utc>>,
    message_count: i32,
    is_group_chat: bool,
    is_shared: bool,
}

const CHAT_SELECT: &str = r#"
    SELECT c.id, c.user_id, c.title, c.participants, c.chat_metadata, c.user_display_name,
           c.category_id, cat.name AS category_slug, cat.display_name AS category_name,
           c.created_at, c.platform, c.status, c.vector_status, c.chunk_count, c.indexed_at,
           c.error_log, c.insights_generation_status, c.insights_unlocked_at, c.message_count,
           c.is_group_chat, c.is_shared
    FROM chats c LEFT JOIN analysis_categories cat ON cat.id = c.category_id"#;

impl ChatRow {
    fn into_response(self, cipher: &Cipher) -> ApiResult<ChatResponse> {
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
            status: self.status,
            vector_status: self.vector_status,
            chunk_count: self.chunk_count,
            indexed_at: self.indexed_at,
            error_log: self.error_log,
            insights_unlocked: self.insights_generation_status == "completed",
            insights_generation_status: self.insights_generation_status,
            insights_unlocked_at: self.insights_unlocked_at,
            message_count: self.message_count,
            is_group_chat: self.is_group_chat,
            is_shared: self.is_shared,
        })
    }
}

/// The caller's chat, or 404 (another user's chat is indistinguishable from a missing one).
async fn owned_chat(state: &AppState, user: &AuthUser, chat_id: Uuid) -> ApiResult<ChatRow> {
    sqlx::query_as(&format!(
        "{CHAT_SELECT} WHERE c.id = $1 AND c.user_id = $2 AND NOT c.is_deleted"
    ))
    .bind(chat_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Chat"))
}

/// What a parsed upload turns into, computed on a blocking thread.
struct PreparedChat {
    title: String,
    participants: Vec<String>,
    metadata: Value,
    message_count: i32,
    /// The messages as `COPY … FROM STDIN` text rows, content already encrypted.
    copy_rows: Vec<u8>,
}

fn import_error(e: whatsapp::ImportError) -> ApiError {
    ApiError::BadRequest(e.to_string())
}

/// Decodes, parses, computes statistics and encrypts: CPU work for a blocking thread.
fn prepare_chat(bytes: &[u8], chat_id: Uuid, cipher: &Cipher) -> ApiResult<PreparedChat> {
    let text = whatsapp::decode(bytes).map_err(import_error)?;
    let chat = whatsapp::parse(&text);
    whatsapp::ensure_chat(&chat).map_err(import_error)?;
    if chat.participants.is_empty() {
        return Err(ApiError::BadRequest(
            "This chat has no messages written by a person, so there is nothing to analyse. Export a chat that has messages and upload it again."
                .to_owned(),
        ));
    }
    let metadata =
        serde_json::to_value(whatsapp::chat_metadata(&chat)).map_err(anyhow::Error::from)?;
    let message_count = i32::try_from(chat.messages.len())
        .map_err(|_| ApiError::BadRequest("This chat has too many messages.".to_owned()))?;
    let mut copy_rows = Vec::with_capacity(text.len() * 2);
    let mut line = String::with_capacity(512);
    for (seq, m) in chat.iter().enumerate() {
        line.clear();
        let sender = m.author.map(|a| cipher.encrypt(a));
        let _ = writeln!(
            line,
            "{}\t{chat_id}\t{seq}\t{}\t{}\t{}",
            Uuid::new_v4(),
            sender
                .as_deref()
                .map_or_else(|| "\\N".to_owned(), copy_escape),
            copy_escape(&cipher.encrypt(m.text)),
            m.timestamp.format("%Y-%m-%d %H:%M:%S"),
        );
        copy_rows.extend_from_slice(line.as_bytes());
    }
    Ok(PreparedChat {
        title: chat.title(),
        participants: chat.participants.clone(),
        metadata,
        message_count,
        copy_rows,
    })
}

/// Escapes a value for PostgreSQL's COPY text format.
fn copy_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// Reads the multipart body: the `file` (streamed, capped) and an optional `category_id`.
async fn read_upload(
    mut multipart: Multipart,
    limit: usize,
) -> ApiResult<(Vec<u8>, Option<String>)> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "The file is larger than {} MB, the most we accept. Export the chat without media and try again.",
            limit / (1024 * 1024)
        ))
    };
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::BadRequest(format!("The upload could not be read: {}", e.body_text()))
        }
    };
    let mut file = None;
    let mut category = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            Some("category_id") => {
                let text = field.text().await.map_err(multipart_error)?;
                category = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::invalid_field(
            "body.file",
            "field required",
            "The upload has no file: send the chat export in a multipart field named 'file'.",
        )
    })?;
    Ok((file, category))
}

/// Uploads a WhatsApp export (`.txt` or `.zip`, recognised by content, at most 25 MiB). The
/// chat is parsed, its statistics computed and its content stored encrypted, all or nothing.
#[utoipa::path(post, path = "/api/chats/upload", tag = "chats", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "`file`: the export; `category_id` (optional): a category UUID"),
    responses((status = 200, body = ChatResponse), (status = 400, body = Object, description = "Not a chat export"),
        (status = 401, body = Object), (status = 404, body = Object, description = "Unknown category"),
        (status = 413, body = Object), (status = 422, body = Object)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, chat_id), err(Debug))]
pub(crate) async fn upload_chat(
    State(state): State<AppState>,
    user: AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<ApiJson<ChatResponse>> {
    let multipart = multipart.map_err(|e| {
        ApiError::invalid_field(
            "body",
            e.body_text(),
            format!(
                "The upload must be multipart/form-data with a 'file' field: {}",
                e.body_text()
            ),
        )
    })?;
    let (bytes, category) = read_upload(multipart, state.settings.max_upload_bytes).await?;
    let category_id = match category {
        None => None,
        Some(raw) => {
            let id = Uuid::parse_str(&raw).map_err(|_| {
                ApiError::invalid_field(
                    "body.category_id",
                    "not a UUID",
                    "category_id must be a category UUID.",
                )
            })?;
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM analysis_categories WHERE id = $1 AND is_active)",
            )
            .bind(id)
            .fetch_one(&state.pool)
            .await?;
            if !exists {
                return Err(ApiError::not_found("Category"));
            }
            Some(id)
        }
    };
    let chat_id = Uuid::new_v4();
    tracing::Span::current().record("chat_id", tracing::field::display(chat_id));
    let cipher = state.cipher.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare_chat(&bytes, chat_id, &cipher))
        .await
        .map_err(anyhow::Error::from)??;

    // One transaction: a failure anywhere leaves no chat and no message behind.
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        r#"INSERT INTO chats (id, user_id, title, participants, chat_metadata, status, is_group_chat,
                              participant_count, message_count, category_id)
           VALUES ($1, $2, $3, $4, $5, 'completed', $6, $7, $8, $9)"#,
    )
    .bind(chat_id)
    .bind(user.user_id.as_str())
    .bind(state.cipher.encrypt(&prepared.title))
    .bind(state.cipher.encrypt_json(&prepared.participants))
    .bind(state.cipher.encrypt_json(&prepared.metadata))
    .bind(prepared.participants.len() > 2)
    .bind(i32::try_from(prepared.participants.len()).unwrap_or(i32::MAX))
    .bind(prepared.message_count)
    .bind(category_id)
    .execute(&mut *tx)
    .await?;
    let mut copy = tx
        .copy_in_raw("COPY messages (id, chat_id, seq, sender, content, timestamp) FROM STDIN")
        .await?;
    for chunk in prepared.copy_rows.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    tx.commit().await?;
    tracing::info!(messages = prepared.message_count, "chat uploaded");

    let chat = owned_chat(&state, &user, chat_id).await?;
    Ok(ApiJson(chat.into_response(&state.cipher)?))
}

/// The caller's chats, newest first (deleted ones excluded).
#[utoipa::path(get, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    responses((status = 200, body = Vec<ChatResponse>), (status = 401, body = Object)))]
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
    responses((status = 200, body = ChatResponse), (status = 404, body = Object), (status = 422, body = Object)))]
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

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MessagePage {
    /// 1–1000, default 200.
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageResponse {
    id: Uuid,
    chat_id: Uuid,
    /// `null` for lines WhatsApp wrote itself.
    sender: Option<String>,
    content: String,
    /// Wall-clock time as written in the export (no zone).
    timestamp: NaiveDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessagesResponse {
    messages: Vec<MessageResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// The chat's messages in file order, a page at a time (keyset pagination: stable while the
/// chat is read, whatever the page size).
#[utoipa::path(get, path = "/api/chats/{chat_id}/messages", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), MessagePage),
    responses((status = 200, body = MessagesResponse), (status = 404, body = Object), (status = 422, body = Object)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<MessagePage>,
) -> ApiResult<ApiJson<MessagesResponse>> {
    owned_chat(&state, &user, chat_id).await?;
    let limit = page.limit.unwrap_or(200);
    let invalid = |field: &str, rule: &str| {
        ApiError::invalid_field(
            format!("query.{field}"),
            rule,
            format!("The query parameter '{field}' {rule}."),
        )
    };
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit", "must be between 1 and 1000"));
    }
    let after: i64 = match page.cursor.as_deref() {
        None | Some("") => -1,
        Some(c) => c
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| invalid("cursor", "is not a cursor this API returned"))?,
    };
    let rows: Vec<(Uuid, i32, Option<String>, String, NaiveDateTime)> = sqlx::query_as(
        r#"SELECT id, seq, sender, content, timestamp FROM messages
           WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"#,
    )
    .bind(chat_id)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let mut messages = Vec::with_capacity(rows.len());
    let mut last_seq = None;
    for (id, seq, sender, content, timestamp) in rows.into_iter().take(limit as usize) {
        let sender = sender
            .map(|s| state.cipher.decrypt(&s))
            .transpose()
            .map_err(|e| ApiError::Internal(e.into()))?;
        let content = state
            .cipher
            .decrypt(&content)
            .map_err(|e| ApiError::Internal(e.into()))?;
        messages.push(MessageResponse {
            id,
            chat_id,
            sender,
            content,
            timestamp,
        });
        last_seq = Some(seq);
    }
    Ok(ApiJson(MessagesResponse {
        messages,
        next_cursor: if more {
            last_seq.map(|s| s.to_string())
        } else {
            None
        },
    }))
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
    responses((status = 200, body = VectorStatusResponse), (status = 404, body = Object)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn vector_status(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<VectorStatusResponse>> {
    let chat = owned_chat(&state, &user, chat_id).await?;
    Ok(ApiJson(VectorStatusResponse {
        chat_id,
        is_searchable: chat.vector_status == "completed",
        vector_status: chat.vector_status,
        chunk_count: chat.chunk_count,
        indexed_at: chat.indexed_at,
    }))
}

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
    responses((status = 200, body = DeleteChatResponse), (status = 404, body = Object)))]
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
    super::rag::remove_vectors(&state, &[chat_id]).await?;
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
    let updated = sqlx::query(
        r#"UPDATE chats SET is_shared = $3, shared_at = CASE WHEN $3 THEN now() END, updated_at = now()
           WHERE id = $1 AND user_id = $2 AND NOT is_deleted"#,
    )
    .bind(chat_id)
    .bind(user.user_id.as_str())
    .bind(shared)
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

/// Lets anyone with the link see this chat's statistics (not its messages).
#[utoipa::path(post, path = "/api/chats/{chat_id}/share", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), responses((status = 200, body = ShareResponse), (status = 404, body = Object)))]
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
    params(("chat_id" = Uuid, Path)), responses((status = 200, body = ShareResponse), (status = 404, body = Object)))]
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
    responses((status = 200, body = PublicStatsResponse), (status = 404, body = Object)))]
#[tracing::instrument(skip(state), err(Debug))]
pub(crate) async fn public_stats(
    State(state): State<AppState>,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<PublicStatsResponse>> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT title, participants, chat_metadata FROM chats WHERE id = $1 AND is_shared AND NOT is_deleted",
    )
    .bind(chat_id)
    .fetch_optional(&state.pool)
    .await?;
    let (title, participants, metadata) = row.ok_or_else(|| ApiError::not_found("Shared chat"))?;
    let internal = |e: relivchats_domain::crypto::CipherError| ApiError::Internal(e.into());
    let title = title
        .map(|t| state.cipher.decrypt(&t))
        .transpose()
        .map_err(internal)?;
    let participants: Vec<String> = participants
        .map(|p| state.cipher.decrypt_json(&p))
        .transpose()
        .map_err(internal)?
        .unwrap_or_default();
    let mut chat_metadata: Value = metadata
        .map(|m| state.cipher.decrypt_json(&m))
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
    Ok(ApiJson(PublicStatsResponse {
        chat_id,
        filename: title.unwrap_or_else(|| "Unnamed Chat".to_owned()),
        participants,
        chat_metadata,
    }))
}

#[cfg(test)]
mod tests {
    use super::copy_escape;

    #[test]
    fn copy_escaping() {
        assert_eq!(copy_escape("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
        assert_eq!(copy_escape("gAAAAB-_="), "gAAAAB-_=");
    }
}

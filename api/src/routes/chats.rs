//! Chats: upload (parse, statistics, encrypted storage), listing, messages, sharing, deletion.

use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    response::IntoResponse,
    routing::{get, post},
};
use chrono::{DateTime, NaiveDateTime, Utc};
use relivchats_domain::{
    blocks::{self, BlockHeader, BlockLimits, SealedBlock},
    crypto::Cipher,
    whatsapp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
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
    /// The free statistics (`reference/seed-api.md` §4.3 keys, plus new ones; chats stored
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
    /// The list block senders index into, when it is not `participants` (enc JSON).
    senders: Option<String>,
    /// Messages still in the per-message rows of before blocks (see the migration).
    legacy_messages: bool,
}

const CHAT_SELECT: &str = r#"
    SELECT c.id, c.user_id, c.title, c.participants, c.chat_metadata, c.user_display_name,
           c.category_id, cat.name AS category_slug, cat.display_name AS category_name,
           c.created_at, c.platform, c.status, c.vector_status, c.chunk_count, c.indexed_at,
           c.error_log, c.insights_generation_status, c.insights_unlocked_at, c.message_count,
           c.is_group_chat, c.is_shared, c.senders, c.legacy_messages
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

/// What a parsed upload turns into besides its blocks, computed on a blocking thread.
struct PreparedChat {
    /// `whatsapp`, `telegram`, `instagram` or `messenger`.
    platform: &'static str,
    title: String,
    participants: Vec<String>,
    metadata: Value,
    message_count: i32,
}

/// Blocks in flight from the encoder to the writer: enough to keep both busy, few enough that
/// a slow database holds only a few MB of them in memory.
const BLOCK_CHANNEL: usize = 8;
/// Bytes of COPY data sent to Postgres at once.
const COPY_CHUNK: usize = 1 << 20;

fn import_error(e: whatsapp::ImportError) -> ApiError {
    match e {
        whatsapp::ImportError::TooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
        e => ApiError::BadRequest(e.to_string()),
    }
}

/// What the upload's blocking work needs besides the bytes.
struct UploadSettings {
    caps: crate::UploadCaps,
    blocks: BlockLimits,
    cancel: Cancel,
}

/// Set when the request goes away (its future is dropped: the client disconnected or timed
/// out), so the blocking work stops at its next checkpoint instead of finishing for no one.
#[derive(Clone, Default)]
struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    fn check(&self) -> ApiResult<()> {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "the upload was abandoned by its client"
            )));
        }
        Ok(())
    }

    /// A guard that cancels on drop unless [`CancelOnDrop::disarm`]ed.
    fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Decodes and parses, then computes statistics on a second thread while this one cuts the
/// messages into sealed blocks and hands each to the writer as soon as it is full: CPU work
/// for a blocking thread. Stops early when the writer is gone (the request failed or ended).
fn prepare_chat(
    bytes: &[u8],
    chat_id: Uuid,
    cipher: &Cipher,
    settings: &UploadSettings,
    blocks: &tokio::sync::mpsc::Sender<SealedBlock>,
) -> ApiResult<PreparedChat> {
    let caps = &settings.caps;
    let limits = whatsapp::DecodeLimits {
        max_text_bytes: caps.max_unpacked_bytes as u64,
        ..whatsapp::DecodeLimits::default()
    };
    // WhatsApp text or zip, or a Telegram / Instagram / Messenger export: told apart by content.
    let options = relivchats_domain::import::Options {
        limits,
        ..Default::default()
    };
    let upload = relivchats_domain::import::read_with(bytes, &options).map_err(import_error)?;
    settings.cancel.check()?;
    let chat = upload.chat();
    settings.cancel.check()?;
    whatsapp::ensure_chat(&chat).map_err(import_error)?;
    if chat.participants.is_empty() {
        return Err(ApiError::BadRequest(
            "This chat has no messages written by a person, so there is nothing to analyse. Export a chat that has messages and upload it again."
                .to_owned(),
        ));
    }
    // Checked before the statistics, whose cost grows with both.
    if chat.messages.len() > caps.max_messages {
        return Err(ApiError::invalid_field(
            "body.file",
            "too many messages",
            format!(
                "This chat has {} messages; we analyse chats of up to {}. Export a shorter stretch of the chat and upload that.",
                chat.messages.len(),
                caps.max_messages
            ),
        ));
    }
    if chat.participants.len() > caps.max_participants {
        return Err(ApiError::invalid_field(
            "body.file",
            "too many participants",
            format!(
                "This chat has {} participants; we analyse chats with up to {}.",
                chat.participants.len(),
                caps.max_participants
            ),
        ));
    }
    let message_count = i32::try_from(chat.messages.len())
        .map_err(|_| ApiError::BadRequest("This chat has too many messages.".to_owned()))?;
    let limits = settings.blocks;
    std::thread::scope(|scope| {
        let stats = scope.spawn(|| serde_json::to_value(whatsapp::chat_metadata(&chat)));
        let mut writer = blocks::BlockWriter::new(cipher, chat_id, limits);
        let mut writer_alive = true;
        for m in &chat.messages {
            if let Some(block) = writer.push(m.author.map(|a| a.0), m.timestamp, &m.text) {
                writer_alive = blocks.blocking_send(block).is_ok();
                if !writer_alive {
                    break;
                }
            }
        }
        if writer_alive && let Some(block) = writer.finish() {
            writer_alive = blocks.blocking_send(block).is_ok();
        }
        let metadata = stats
            .join()
            .map_err(|_| anyhow::anyhow!("computing the statistics panicked"))?
            .map_err(anyhow::Error::from)?;
        if !writer_alive {
            // The writer's own error is what the request reports; this one is never seen.
            return Err(ApiError::Internal(anyhow::anyhow!(
                "the block writer stopped"
            )));
        }
        Ok(PreparedChat {
            platform: upload.platform(),
            title: chat.title(),
            participants: chat.participants.clone(),
            metadata,
            message_count,
        })
    })
}

/// PostgreSQL's binary COPY signature, flags and (empty) header extension.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// One `message_blocks` row in binary COPY format (no text escaping of the ciphertext).
fn copy_block_row(out: &mut Vec<u8>, chat_id: Uuid, block: &SealedBlock) {
    let h = &block.header;
    out.extend_from_slice(&7i16.to_be_bytes());
    out.extend_from_slice(&16i32.to_be_bytes());
    out.extend_from_slice(chat_id.as_bytes());
    for v in [h.block_no, h.first_seq, h.message_count] {
        out.extend_from_slice(&4i32.to_be_bytes());
        out.extend_from_slice(&v.to_be_bytes());
    }
    for ts in [h.first_ts, h.last_ts] {
        out.extend_from_slice(&8i32.to_be_bytes());
        let micros = ts.and_utc().timestamp_micros() - PG_EPOCH_OFFSET_MICROS;
        out.extend_from_slice(&micros.to_be_bytes());
    }
    // A block is far below 2 GiB (it holds at most a few MB of compressed text).
    out.extend_from_slice(&(block.ciphertext.len() as i32).to_be_bytes());
    out.extend_from_slice(&block.ciphertext);
}

/// Streams `first` and the blocks arriving on `rx` into `message_blocks` with one binary COPY,
/// inside `tx`. Returns the number of blocks written.
async fn copy_blocks(
    tx: &mut sqlx::PgConnection,
    chat_id: Uuid,
    first: SealedBlock,
    rx: &mut tokio::sync::mpsc::Receiver<SealedBlock>,
) -> ApiResult<usize> {
    let mut copy = tx
        .copy_in_raw(
            "COPY message_blocks (chat_id, block_no, first_seq, message_count, first_ts, last_ts, ciphertext) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let mut buf = Vec::with_capacity(COPY_CHUNK + 512 * 1024);
    buf.extend_from_slice(COPY_BINARY_HEADER);
    copy_block_row(&mut buf, chat_id, &first);
    let mut written = 1;
    while let Some(block) = rx.recv().await {
        copy_block_row(&mut buf, chat_id, &block);
        written += 1;
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice()).await?;
    copy.finish().await?;
    Ok(written)
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

/// The upload form; parts other than these two are ignored.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: `read_upload` streams the parts itself
pub(crate) struct UploadForm {
    /// The chat export (`.txt` or `.zip`, recognised by content), at most `MAX_UPLOAD_BYTES`
    /// (413 beyond). A file that is not a chat export is a 400.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// A category id; blank is the same as absent. An unknown category is a 404.
    #[schema(value_type = String, format = Uuid, required = false)]
    category_id: Option<String>,
}

/// Uploads a WhatsApp export (`.txt` or `.zip`, recognised by content, at most 25 MiB). The
/// chat is parsed, its statistics computed and its content stored encrypted, all or nothing.
#[utoipa::path(post, path = "/api/chats/upload", tag = "chats", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 200, body = ChatResponse),
        (status = 400, body = ErrorBody, description = "Not a chat export, or one that cannot be read"),
        (status = 404, body = ErrorBody, description = "Unknown category"),
        (status = 413, body = ErrorBody, description = "The file, or the chat text a zip unpacks to, is too large"),
        (status = 422, body = ErrorBody, description = "No `file` part, not multipart, `category_id` not a UUID, or too many messages or participants")))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, chat_id), err(Debug))]
pub(crate) async fn upload_chat(
    State(state): State<AppState>,
    user: AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<ApiJson<ChatResponse>> {
    let timer = relivchats_metrics::Timer::start();
    let result = store_upload(state.clone(), user, multipart).await;
    let outcome = match &result {
        Ok(_) => "stored",
        Err(ApiError::Internal(_) | ApiError::ServiceUnavailable(_)) => "failed",
        Err(_) => "refused",
    };
    state.metrics.upload(outcome, timer.elapsed());
    let (chat, bytes, messages) = result?;
    state.metrics.upload_stored(bytes, messages);
    Ok(ApiJson(chat))
}

/// The upload itself; returns the stored chat, the bytes received and the messages stored.
async fn store_upload(
    state: AppState,
    user: AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(ChatResponse, usize, u64)> {
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
    // Refused before the file is read or parsed; checked again under the user's lock below,
    // so concurrent uploads cannot all slip past the count.
    upload_budget(&mut *state.pool.acquire().await?, &state, &user).await?;
    let (bytes, category) = read_upload(multipart, state.settings.max_upload_bytes).await?;
    let received = bytes.len();
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
    // Parse → blocks (compress, encrypt) on blocking threads, COPY here, through a bounded
    // channel, so the database receives the first blocks while later ones are still being cut.
    let (blocks_tx, mut blocks_rx) = tokio::sync::mpsc::channel(BLOCK_CHANNEL);
    let cipher = state.cipher.clone();
    let settings = UploadSettings {
        caps: state.settings.upload_caps,
        blocks: state.settings.message_blocks,
        cancel: Cancel::default(),
    };
    let cancel_on_drop = settings.cancel.on_drop();
    let encoder = tokio::task::spawn_blocking(move || {
        prepare_chat(&bytes, chat_id, &cipher, &settings, &blocks_tx)
    });

    // One transaction: a failure anywhere (parse, encoding, COPY, the chat row) leaves no chat
    // and no block behind. The blocks' foreign key is checked at commit, so they can go first.
    // Nothing touches the database before the first block: a file that is not a chat ends here.
    let copied = match blocks_rx.recv().await {
        None => Err(None),
        Some(first) => {
            let mut tx = state.pool.begin().await?;
            match copy_blocks(&mut tx, chat_id, first, &mut blocks_rx).await {
                Ok(n) => Ok((tx, n)),
                Err(e) => Err(Some(e)),
            }
        }
    };
    // The encoder stops at its next block once the receiver is gone.
    drop(blocks_rx);
    let prepared = encoder.await.map_err(anyhow::Error::from)?;
    let (prepared, mut tx, block_count) = match (prepared, copied) {
        // What the person sent is wrong (not a chat, too large…): that is the answer, not
        // the COPY it cut short.
        (Err(e), _) if !matches!(e, ApiError::Internal(_)) => return Err(e),
        (_, Err(Some(e))) | (Err(e), _) => return Err(e),
        (Ok(_), Err(None)) => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "a chat with participants produced no message block"
            )));
        }
        (Ok(p), Ok((tx, n))) => (p, tx, n),
    };
    // The user's row is locked only for the moment before the commit, and before the chat row
    // is written: that insert takes a key-share lock on the same row through its foreign key,
    // and two uploads each holding one while waiting for the other's update lock deadlock.
    sqlx::query("SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE")
        .bind(user.user_id.as_str())
        .execute(&mut *tx)
        .await?;
    upload_budget(&mut tx, &state, &user).await?;
    sqlx::query(
        r#"WITH pruned AS (
               DELETE FROM upload_log WHERE user_id = $1 AND uploaded_at < now() - interval '1 hour'
           )
           INSERT INTO upload_log (user_id) VALUES ($1)"#,
    )
    .bind(user.user_id.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        r#"INSERT INTO chats (id, user_id, title, participants, chat_metadata, status, is_group_chat,
                              participant_count, message_count, category_id, platform)
           VALUES ($1, $2, $3, $4, $5, 'completed', $6, $7, $8, $9, $10)"#,
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
    .bind(prepared.platform)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    cancel_on_drop.disarm();
    tracing::info!(
        messages = prepared.message_count,
        blocks = block_count,
        "chat uploaded"
    );

    let chat = owned_chat(&state, &user, chat_id).await?;
    Ok((
        chat.into_response(&state.cipher)?,
        received,
        u64::try_from(prepared.message_count).unwrap_or_default(),
    ))
}

/// The per-user hourly upload bound, counted in the database so it holds across replicas:
/// a 429 with the seconds until the oldest upload of the hour leaves it.
async fn upload_budget(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    user: &AuthUser,
) -> ApiResult<()> {
    let max = state.settings.rate_limits.max_uploads_per_hour;
    let (count, wait_secs): (i64, f64) = sqlx::query_as(
        r#"SELECT COUNT(*),
                  COALESCE(EXTRACT(EPOCH FROM MIN(uploaded_at) + interval '1 hour' - now()), 0)::FLOAT8
           FROM upload_log WHERE user_id = $1 AND uploaded_at >= now() - interval '1 hour'"#,
    )
    .bind(user.user_id.as_str())
    .fetch_one(conn)
    .await?;
    if count >= max {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "You have uploaded {count} chats in the last hour (at most {max} an hour). Try again later."
            ),
            retry_after_secs: wait_secs.ceil().max(1.0) as u64,
        });
    }
    Ok(())
}

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

/// Out-of-range values are refused with a 422, not clamped.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MessagePage {
    /// 1–1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page (digits); absent or empty: the first page.
    #[param(pattern = r"^[0-9]{0,18}$")]
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageResponse {
    id: Uuid,
    chat_id: Uuid,
    /// `null` for lines WhatsApp wrote itself.
    sender: Option<String>,
    content: String,
    /// Wall-clock time as written in the export, without an offset (`2024-03-01T21:15:00`),
    /// so not an RFC 3339 `date-time`.
    #[schema(value_type = String, pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")]
    timestamp: NaiveDateTime,
    /// The cursor of this message (not part of the JSON: `next_cursor` carries it).
    #[serde(skip)]
    seq: i32,
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
    responses((status = 200, body = MessagesResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<MessagePage>,
) -> ApiResult<ApiJson<MessagesResponse>> {
    let chat = owned_chat(&state, &user, chat_id).await?;
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
        // Only what `next_cursor` can hold: up to 18 digits (so it fits an i64), no sign.
        Some(c) if c.len() <= 18 && c.bytes().all(|b| b.is_ascii_digit()) => {
            c.parse().map_err(anyhow::Error::from)?
        }
        Some(_) => return Err(invalid("cursor", "is not a cursor this API returned")),
    };
    let senders = chat_senders(&state.cipher, &chat)?;
    let limit = limit as usize;
    let mut messages = Vec::with_capacity(limit.min(256));
    let mut more = false;
    let mut after_block = -1;
    'blocks: loop {
        // The blocks holding messages after the cursor, two at a time (a page is at most
        // 1000 messages, a block up to 1024).
        let rows: Vec<BlockRow> = sqlx::query_as(
            r#"SELECT block_no, first_seq, message_count, first_ts, last_ts, ciphertext
               FROM message_blocks
               WHERE chat_id = $1 AND block_no > $2 AND first_seq + message_count > $3
               ORDER BY block_no LIMIT 2"#,
        )
        .bind(chat_id)
        .bind(after_block)
        .bind(after + 1)
        .fetch_all(&state.pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if messages.len() == limit {
                // A further block means further messages: no need to open it to know.
                more = true;
                break 'blocks;
            }
            after_block = row.block_no;
            let (header, ciphertext) = row.into_parts();
            let block =
                blocks::open_block(&state.cipher, chat_id, &header, &ciphertext, senders.len())
                    .map_err(|e| ApiError::Internal(e.into()))?;
            for m in block.into_iter().filter(|m| i64::from(m.seq) > after) {
                if messages.len() == limit {
                    more = true;
                    break 'blocks;
                }
                messages.push(MessageResponse {
                    id: blocks::message_id(chat_id, m.seq),
                    chat_id,
                    sender: m.sender.map(|s| senders[s as usize].clone()),
                    content: m.text,
                    timestamp: m.timestamp,
                    seq: m.seq,
                });
            }
        }
    }
    Ok(ApiJson(MessagesResponse {
        next_cursor: more
            .then(|| messages.last().map(|m| m.seq.to_string()))
            .flatten(),
        messages,
    }))
}

/// A `message_blocks` row as read back.
#[derive(sqlx::FromRow)]
struct BlockRow {
    block_no: i32,
    first_seq: i32,
    message_count: i32,
    first_ts: NaiveDateTime,
    last_ts: NaiveDateTime,
    ciphertext: Vec<u8>,
}

impl BlockRow {
    fn into_parts(self) -> (BlockHeader, Vec<u8>) {
        (
            BlockHeader {
                block_no: self.block_no,
                first_seq: self.first_seq,
                message_count: self.message_count,
                first_ts: self.first_ts,
                last_ts: self.last_ts,
            },
            self.ciphertext,
        )
    }
}

/// The names block senders index into; refuses a chat whose messages are not blocks yet.
fn chat_senders(cipher: &Cipher, chat: &ChatRow) -> ApiResult<Vec<String>> {
    if chat.legacy_messages {
        return Err(ApiError::ServiceUnavailable(
            "This chat's messages are being moved to a new storage format. Try again in a few minutes."
                .to_owned(),
        ));
    }
    match chat.senders.as_deref().or(chat.participants.as_deref()) {
        Some(list) => cipher
            .decrypt_json(list)
            .map_err(|e| ApiError::Internal(e.into())),
        None => Ok(Vec::new()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes PostgreSQL's binary COPY expects for one row (checked against the format's
    /// documentation; the integration tests check it against a real server).
    #[test]
    fn binary_copy_row_layout() {
        let chat = Uuid::from_u128(1);
        let ts = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 1)
            .unwrap();
        let block = SealedBlock {
            header: BlockHeader {
                block_no: 2,
                first_seq: 3,
                message_count: 4,
                first_ts: ts,
                last_ts: ts,
            },
            ciphertext: vec![0xAB; 5],
        };
        let mut out = Vec::new();
        copy_block_row(&mut out, chat, &block);
        assert_eq!(&out[..2], &7i16.to_be_bytes());
        assert_eq!(&out[2..6], &16i32.to_be_bytes());
        assert_eq!(&out[6..22], chat.as_bytes());
        assert_eq!(&out[22..30], &[0, 0, 0, 4, 0, 0, 0, 2]);
        assert_eq!(&out[46..50], &8i32.to_be_bytes());
        assert_eq!(
            &out[50..58],
            &1_000_000i64.to_be_bytes(),
            "one second after 2000"
        );
        assert_eq!(&out[70..74], &5i32.to_be_bytes());
        assert_eq!(out.len(), 79);
        assert_eq!(COPY_BINARY_HEADER.len(), 19);
    }

    fn settings(cancel: Cancel) -> UploadSettings {
        UploadSettings {
            caps: crate::UploadCaps {
                max_unpacked_bytes: 1 << 20,
                max_messages: 1000,
                max_participants: 10,
            },
            blocks: BlockLimits {
                max_messages: 1,
                max_bytes: 1 << 20,
            },
            cancel,
        }
    }

    /// An upload whose request went away stops before the statistics and the blocks: the
    /// guard dropped with the request future sets the flag the blocking work checks.
    #[test]
    fn an_abandoned_upload_stops_its_blocking_work() {
        let cipher = Cipher::new(&Cipher::generate_key()).unwrap();
        let text = b"12/08/2016, 16:20 - Asha: Hi\n12/08/2016, 16:21 - Ben: Hello\n";
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);

        let cancel = Cancel::default();
        cancel.on_drop().disarm();
        assert!(cancel.check().is_ok(), "a finished request cancels nothing");
        let prepared = prepare_chat(text, Uuid::new_v4(), &cipher, &settings(cancel), &tx);
        assert_eq!(prepared.unwrap().message_count, 2);
        assert!(rx.try_recv().is_ok() && rx.try_recv().is_ok());

        let cancel = Cancel::default();
        drop(cancel.on_drop()); // the request future dropped mid-upload
        let abandoned = prepare_chat(text, Uuid::new_v4(), &cipher, &settings(cancel), &tx);
        assert!(matches!(abandoned, Err(ApiError::Internal(_))));
        assert!(rx.try_recv().is_err(), "no block was cut for no one");
    }
}

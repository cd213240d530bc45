//! `POST /api/chats/upload`: the request side of an upload (the multipart stream, the
//! category, the hourly budget) and its one transaction, all or nothing.

use axum::extract::{Multipart, State, multipart::MultipartRejection};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    ChatResponse,
    copy::copy_blocks,
    owned_chat,
    prepare::{BLOCK_CHANNEL, Cancel, UploadSettings, prepare_chat},
};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};

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
    relivchats_store::lock_user(&mut tx, user.user_id.as_str()).await?;
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

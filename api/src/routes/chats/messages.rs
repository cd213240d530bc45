//! `GET /api/chats/{chat_id}/messages`: a chat's messages a page at a time, opened from the
//! stored blocks (keyset pagination over the messages' sequence numbers).

use axum::extract::State;
use chrono::NaiveDateTime;
use relivchats_domain::{
    blocks::{self, BlockHeader},
    crypto::Cipher,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ChatRow, owned_chat};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody},
};

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

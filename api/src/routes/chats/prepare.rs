//! The CPU side of an upload, on blocking threads: decode and parse the export, check it
//! against the caps, compute the statistics and cut the messages into sealed blocks; and the
//! flag that stops that work when the request that wanted it has gone.

use relivchats_domain::{
    blocks::{self, BlockLimits, SealedBlock},
    crypto::Cipher,
    whatsapp,
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// What a parsed upload turns into besides its blocks, computed on a blocking thread.
pub(super) struct PreparedChat {
    /// `whatsapp`, `telegram`, `instagram` or `messenger`.
    pub(super) platform: &'static str,
    pub(super) title: String,
    pub(super) participants: Vec<String>,
    pub(super) metadata: Value,
    pub(super) message_count: i32,
}

/// Blocks in flight from the encoder to the writer: enough to keep both busy, few enough that
/// a slow database holds only a few MB of them in memory.
pub(super) const BLOCK_CHANNEL: usize = 8;

fn import_error(e: whatsapp::ImportError) -> ApiError {
    match e {
        whatsapp::ImportError::TooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
        e => ApiError::BadRequest(e.to_string()),
    }
}

/// What the upload's blocking work needs besides the bytes.
pub(super) struct UploadSettings {
    pub(super) caps: crate::UploadCaps,
    pub(super) blocks: BlockLimits,
    pub(super) cancel: Cancel,
}

/// Set when the request goes away (its future is dropped: the client disconnected or timed
/// out), so the blocking work stops at its next checkpoint instead of finishing for no one.
#[derive(Clone, Default)]
pub(super) struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

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
    pub(super) fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }
}

pub(super) struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    pub(super) fn disarm(mut self) {
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
pub(super) fn prepare_chat(
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! Message blocks: a chat's messages stored as runs of consecutive messages, each serialized
//! compactly, compressed (zstd) and then encrypted (Fernet), one `message_blocks` row a block.
//!
//! Why blocks rather than a row per message: a row and two Fernet tokens per message cost
//! ~530 bytes of storage a message (5.4× the export) and two AES/HMAC runs each way; a block
//! of a thousand messages compresses chat text ~3× and pays the cipher once.
//!
//! Layout of a block's plaintext (before zstd), all integers little-endian:
//!
//! ```text
//! u8  version (1)
//! [16] chat id      ┐ the row's own columns, repeated inside the authenticated plaintext:
//! i32 block_no      │ a block copied to another chat or position, or a row whose columns
//! i32 first_seq     │ were edited, fails to open instead of showing another chat's text
//! i32 message_count │
//! i64 first_ts      ┘ (seconds since 1970, wall clock as written in the export)
//! u32 ×3            byte lengths of the sender, timestamp and length sections
//! senders           one varint a message: 0 for system lines, else 1 + participant index
//! timestamps        one zigzag varint a message: seconds since the previous message
//! lengths           one varint a message: the text's length in bytes
//! texts             the texts, concatenated (UTF-8)
//! ```
//!
//! Columns rather than records because each section is uniform, which zstd rewards. Senders
//! are indices into the chat's participant list, encrypted once on the chat row. Timestamps
//! are whole seconds: exports carry nothing finer.
//!
//! Fernet, not a new AEAD with a derived key: the same `ENCRYPTION_KEY` reads every value
//! the product ever stored (the earlier service's too), any Fernet implementation can open a
//! block in an emergency (it is a standard token, stored as raw bytes rather than base64 to
//! save a third), and the binding to chat and position that an AEAD's associated data would
//! give comes from the header above, which the token's HMAC covers.

use std::io::Write as _;

use chrono::{DateTime, NaiveDateTime};
use uuid::Uuid;

use crate::crypto::Cipher;

const VERSION: u8 = 1;
/// version + chat id + block_no + first_seq + message_count + first_ts + three lengths.
const HEADER_LEN: usize = 1 + 16 + 4 + 4 + 4 + 8 + 4 * 3;
/// zstd level 3 (zstd's default): measured against 1 and 6 on generated chats, see
/// `docs/BENCHMARKS.md` (upload).
const ZSTD_LEVEL: i32 = 3;

/// When a block is sealed: after `max_messages` messages or once its texts reach `max_bytes`,
/// whichever comes first. A message is never split: a long one ends its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    pub max_messages: usize,
    pub max_bytes: usize,
}

impl Default for BlockLimits {
    /// 1024 messages or 256 KiB of text: measured (`docs/BENCHMARKS.md`, upload), smaller
    /// blocks compress worse and add rows, larger ones make a page of 200 messages decrypt
    /// more than it shows.
    fn default() -> Self {
        Self {
            max_messages: 1024,
            max_bytes: 256 * 1024,
        }
    }
}

/// A block's row columns besides the ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub block_no: i32,
    pub first_seq: i32,
    pub message_count: i32,
    pub first_ts: NaiveDateTime,
    pub last_ts: NaiveDateTime,
}

impl BlockHeader {
    /// The `seq` after this block's last message.
    pub fn end_seq(&self) -> i64 {
        i64::from(self.first_seq) + i64::from(self.message_count)
    }
}

/// A finished block: its row, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlock {
    pub header: BlockHeader,
    pub ciphertext: Vec<u8>,
}

/// One message read back from a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMessage {
    /// Position in the chat (0-based, file order).
    pub seq: i32,
    /// Index into the chat's sender list; `None` for lines WhatsApp wrote itself.
    pub sender: Option<u32>,
    pub timestamp: NaiveDateTime,
    pub text: String,
}

/// Why a block could not be read. Never "wrong text": every failure is one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error(
        "message block {block_no} of chat {chat_id} failed its integrity check (wrong ENCRYPTION_KEY, or the stored bytes were altered)"
    )]
    Undecryptable { chat_id: Uuid, block_no: i32 },
    #[error("message block {block_no} of chat {chat_id} is corrupted: {reason}")]
    Corrupt {
        chat_id: Uuid,
        block_no: i32,
        reason: &'static str,
    },
}

/// The id a message is known by in the API: derived from its chat and position, so it is
/// stable across reads without being stored (16 incompressible bytes a message otherwise).
pub fn message_id(chat_id: Uuid, seq: i32) -> Uuid {
    Uuid::new_v5(&chat_id, &seq.to_be_bytes())
}

fn to_secs(ts: NaiveDateTime) -> i64 {
    ts.and_utc().timestamp()
}

fn from_secs(secs: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Cuts messages into blocks as they are pushed, sealing (compress + encrypt) each full one.
pub struct BlockWriter<'c> {
    cipher: &'c Cipher,
    chat_id: Uuid,
    limits: BlockLimits,
    compressor: zstd::bulk::Compressor<'static>,
    block_no: i32,
    next_seq: i32,
    count: usize,
    first_ts: i64,
    prev_ts: i64,
    senders: Vec<u8>,
    deltas: Vec<u8>,
    lengths: Vec<u8>,
    texts: Vec<u8>,
    plain: Vec<u8>,
}

impl<'c> BlockWriter<'c> {
    pub fn new(cipher: &'c Cipher, chat_id: Uuid, limits: BlockLimits) -> Self {
        Self::with_level(cipher, chat_id, limits, ZSTD_LEVEL)
    }

    /// With another zstd level (1–19), for measuring; out-of-range levels are clamped.
    pub fn with_level(cipher: &'c Cipher, chat_id: Uuid, limits: BlockLimits, level: i32) -> Self {
        Self {
            cipher,
            chat_id,
            limits: BlockLimits {
                max_messages: limits.max_messages.clamp(1, i32::MAX as usize),
                max_bytes: limits.max_bytes.max(1),
            },
            // Levels 1–19 are valid for every zstd build: creating the context cannot fail.
            compressor: zstd::bulk::Compressor::new(level.clamp(1, 19))
                .expect("zstd levels 1-19 are always valid"),
            block_no: 0,
            next_seq: 0,
            count: 0,
            first_ts: 0,
            prev_ts: 0,
            senders: Vec::new(),
            deltas: Vec::new(),
            lengths: Vec::new(),
            texts: Vec::new(),
            plain: Vec::new(),
        }
    }

    /// Messages pushed so far.
    pub fn messages(&self) -> i32 {
        self.next_seq
    }

    /// Adds the next message; returns the block it completed, if any. `None` for a chat's
    /// 2^31st message onwards is not possible: callers refuse such chats first (a 25 MiB
    /// export holds at most ~1 M messages), and `seq` is the database's `INTEGER`.
    pub fn push(
        &mut self,
        sender: Option<u32>,
        timestamp: NaiveDateTime,
        text: &str,
    ) -> Option<SealedBlock> {
        let ts = to_secs(timestamp);
        if self.count == 0 {
            self.first_ts = ts;
            self.prev_ts = ts;
        }
        put_varint(&mut self.senders, sender.map_or(0, |s| u64::from(s) + 1));
        put_varint(&mut self.deltas, zigzag(ts.wrapping_sub(self.prev_ts)));
        put_varint(&mut self.lengths, text.len() as u64);
        self.texts.extend_from_slice(text.as_bytes());
        self.prev_ts = ts;
        self.count += 1;
        self.next_seq = self.next_seq.saturating_add(1);
        (self.count >= self.limits.max_messages || self.texts.len() >= self.limits.max_bytes)
            .then(|| self.seal())
    }

    /// Seals the last, partly filled block (if any message is left).
    pub fn finish(mut self) -> Option<SealedBlock> {
        (self.count > 0).then(|| self.seal())
    }

    fn seal(&mut self) -> SealedBlock {
        let count = self.count as i32;
        let header = BlockHeader {
            block_no: self.block_no,
            first_seq: self.next_seq - count,
            message_count: count,
            first_ts: from_secs(self.first_ts).unwrap_or_default(),
            last_ts: from_secs(self.prev_ts).unwrap_or_default(),
        };
        let plain = &mut self.plain;
        plain.clear();
        plain.reserve(
            HEADER_LEN
                + self.senders.len()
                + self.deltas.len()
                + self.lengths.len()
                + self.texts.len(),
        );
        plain.push(VERSION);
        plain.extend_from_slice(self.chat_id.as_bytes());
        plain.extend_from_slice(&header.block_no.to_le_bytes());
        plain.extend_from_slice(&header.first_seq.to_le_bytes());
        plain.extend_from_slice(&header.message_count.to_le_bytes());
        plain.extend_from_slice(&self.first_ts.to_le_bytes());
        for section in [&self.senders, &self.deltas, &self.lengths] {
            plain.extend_from_slice(&(section.len() as u32).to_le_bytes());
        }
        for section in [&self.senders, &self.deltas, &self.lengths, &self.texts] {
            let _ = plain.write_all(section);
        }
        // Compressing an in-memory buffer with a valid context only fails on allocation.
        let compressed = self
            .compressor
            .compress(plain)
            .expect("zstd compresses any input in memory");
        let ciphertext = self.cipher.encrypt_bytes(&compressed);
        self.block_no += 1;
        self.count = 0;
        self.senders.clear();
        self.deltas.clear();
        self.lengths.clear();
        self.texts.clear();
        SealedBlock { header, ciphertext }
    }
}

/// A cursor over a decompressed block's sections.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

/// Decrypts, decompresses and checks one block against its row: the chat it belongs to, its
/// columns, and `sender_count` (the length of the chat's sender list, so every sender index
/// resolves). Returns its messages in order.
pub fn open_block(
    cipher: &Cipher,
    chat_id: Uuid,
    header: &BlockHeader,
    ciphertext: &[u8],
    sender_count: usize,
) -> Result<Vec<BlockMessage>, BlockError> {
    let block_no = header.block_no;
    let corrupt = |reason| BlockError::Corrupt {
        chat_id,
        block_no,
        reason,
    };
    let compressed = cipher
        .decrypt_bytes(ciphertext)
        .map_err(|_| BlockError::Undecryptable { chat_id, block_no })?;
    let plain = zstd::stream::decode_all(compressed.as_slice())
        .map_err(|_| corrupt("its content is not zstd data"))?;
    let mut r = Reader { bytes: &plain };
    let short = || corrupt("it ends early");
    if r.array::<1>().ok_or_else(short)? != [VERSION] {
        return Err(corrupt("unknown block version"));
    }
    let stored_chat = Uuid::from_bytes(r.array::<16>().ok_or_else(short)?);
    let stored_no = i32::from_le_bytes(r.array().ok_or_else(short)?);
    let first_seq = i32::from_le_bytes(r.array().ok_or_else(short)?);
    let count = i32::from_le_bytes(r.array().ok_or_else(short)?);
    let first_ts = i64::from_le_bytes(r.array().ok_or_else(short)?);
    if stored_chat != chat_id {
        return Err(corrupt("it belongs to another chat"));
    }
    if stored_no != block_no || first_seq != header.first_seq || count != header.message_count {
        return Err(corrupt("its position does not match its row"));
    }
    if from_secs(first_ts) != Some(header.first_ts) {
        return Err(corrupt("its first timestamp does not match its row"));
    }
    let mut lens = [0usize; 3];
    for len in &mut lens {
        *len = u32::from_le_bytes(r.array().ok_or_else(short)?) as usize;
    }
    let mut senders = Reader {
        bytes: r.take(lens[0]).ok_or_else(short)?,
    };
    let mut deltas = Reader {
        bytes: r.take(lens[1]).ok_or_else(short)?,
    };
    let mut lengths = Reader {
        bytes: r.take(lens[2]).ok_or_else(short)?,
    };
    let texts = std::str::from_utf8(r.bytes).map_err(|_| corrupt("its text is not UTF-8"))?;
    let count = usize::try_from(count).map_err(|_| corrupt("negative message count"))?;
    let mut messages = Vec::with_capacity(count);
    let (mut ts, mut offset) = (first_ts, 0usize);
    for i in 0..count {
        let sender = match senders.varint().ok_or_else(short)? {
            0 => None,
            s if s <= sender_count as u64 => Some((s - 1) as u32),
            _ => return Err(corrupt("a sender is not in the chat's participant list")),
        };
        ts = ts
            .checked_add(unzigzag(deltas.varint().ok_or_else(short)?))
            .ok_or_else(|| corrupt("a timestamp is out of range"))?;
        let timestamp = from_secs(ts).ok_or_else(|| corrupt("a timestamp is out of range"))?;
        let len = usize::try_from(lengths.varint().ok_or_else(short)?)
            .map_err(|_| corrupt("a text length is out of range"))?;
        let text = offset
            .checked_add(len)
            .and_then(|end| texts.get(offset..end))
            .ok_or_else(|| corrupt("a text length does not match the texts"))?;
        offset += len;
        messages.push(BlockMessage {
            seq: first_seq + i as i32,
            sender,
            timestamp,
            text: text.to_owned(),
        });
    }
    if offset != texts.len()
        || !senders.bytes.is_empty()
        || !deltas.bytes.is_empty()
        || !lengths.bytes.is_empty()
    {
        return Err(corrupt("it holds more than its messages"));
    }
    if messages.last().map(|m| m.timestamp) != Some(header.last_ts) {
        return Err(corrupt("its last timestamp does not match its row"));
    }
    Ok(messages)
}

#[cfg(test)]
mod tests;

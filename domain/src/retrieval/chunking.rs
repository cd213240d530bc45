//! Conversation-aware chunking: messages in file order become chunks of at most
//! `max_tokens`, cut at a quiet gap (a new conversation) once the chunk holds enough, or when
//! the budget is full.
//!
//! Every message belongs to exactly one chunk (its *owned* range, `first_seq..=last_seq`); a
//! chunk cut in the middle of a conversation starts with a few of the previous chunk's last
//! lines as context (the overlap), which is never counted as owned. A single message larger
//! than the budget gets chunks of its own, one per piece, so nothing is ever dropped.
//!
//! The chunker is streaming — [`Chunker::push`] one message at a time, [`Chunker::finish`] at the
//! end — so a 100k-message chat is indexed page by page in bounded memory.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Tunables; the defaults suit both the hashed offline embedder and Gemini's 2,048-token input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkingOptions {
    /// Largest chunk, overlap included (estimated tokens).
    pub max_tokens: usize,
    /// A quiet gap only ends a chunk that already holds this much: tiny conversations
    /// ("ok 👍") merge into the next one instead of becoming chunks of their own.
    pub min_tokens: usize,
    /// Silence after which the next message starts a new conversation.
    pub quiet_gap_minutes: i64,
    /// Lines of the previous chunk repeated as context when a conversation is cut for size.
    pub overlap_messages: usize,
    /// Cap on the overlap, so it never crowds out the chunk's own messages.
    pub overlap_max_tokens: usize,
}

impl Default for ChunkingOptions {
    fn default() -> Self {
        Self {
            max_tokens: 400,
            min_tokens: 120,
            quiet_gap_minutes: 60,
            overlap_messages: 2,
            overlap_max_tokens: 80,
        }
    }
}

/// Facts about the whole chat copied into every chunk's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatFacts {
    pub participant_count: usize,
    pub is_group_chat: bool,
    pub platform: String,
}

/// One decrypted message, as read from the `messages` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMessage {
    pub id: Uuid,
    /// Position in the export: the order chunks follow.
    pub seq: i64,
    /// `None` for lines WhatsApp wrote itself.
    pub sender: Option<String>,
    pub content: String,
    pub timestamp: NaiveDateTime,
}

/// Chunk metadata: the earlier service's fields plus the owned
/// range's first and last message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkMetadata {
    pub start_timestamp: NaiveDateTime,
    pub end_timestamp: NaiveDateTime,
    /// Distinct senders of the owned messages, in order of appearance.
    pub speakers: Vec<String>,
    pub is_group_chat: bool,
    pub participant_count: usize,
    /// Owned messages (overlap excluded).
    pub message_count: usize,
    pub message_ids: Vec<Uuid>,
    pub time_span_minutes: i64,
    pub platform: String,
    pub first_message_id: Uuid,
    pub last_message_id: Uuid,
    pub first_seq: i64,
    pub last_seq: i64,
    /// Context lines from the previous chunk at the head of `text`.
    pub overlap_messages: usize,
    /// For a message split over several chunks: which piece this is (1-based) and of how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<(usize, usize)>,
}

/// A chunk ready to embed and store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub index: u32,
    /// The rendered lines (overlap first), as embedded and as shown to the model.
    pub text: String,
    pub token_count: usize,
    pub metadata: ChunkMetadata,
}

/// The token estimate used everywhere (prompt budget too): about four characters a token.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// How a message appears in a chunk and in a prompt: `[2024-03-05 21:14] Asha: text`.
pub fn render_line(sender: Option<&str>, timestamp: NaiveDateTime, content: &str) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let who = sender.unwrap_or("WhatsApp");
    // Continuation lines are indented so a multi-line message cannot pass for a new one.
    let body = content.trim_end().replace('\n', "\n    ");
    // Written field by field: `format("%Y-%m-%d %H:%M")` re-parses its pattern for every line,
    // which showed in the unlock benchmark's profile (10k lines a chat).
    let mut line = String::with_capacity(20 + who.len() + body.len());
    let _ = write!(
        line,
        "[{:04}-{:02}-{:02} {:02}:{:02}] {who}: {body}",
        timestamp.year(),
        timestamp.month(),
        timestamp.day(),
        timestamp.hour(),
        timestamp.minute()
    );
    line
}

/// A chunk's text for keyword (BM25) scoring: its lines without the `[2024-03-05 21:14] `
/// that [`render_line`] puts first. Those tokens are in nearly every chunk, so they weigh
/// nothing in BM25 but make its longest posting lists, which are what an insert into an
/// in-memory sparse index costs.
pub fn keyword_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let body = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
            .filter(|(stamp, _)| stamp.len() <= 20 && !stamp.contains(char::is_alphabetic))
            .map_or(line, |(_, body)| body);
        out.push_str(body);
        out.push('\n');
    }
    out
}

#[derive(Debug, Clone)]
struct Line {
    id: Uuid,
    seq: i64,
    sender: Option<String>,
    timestamp: NaiveDateTime,
    text: String,
    tokens: usize,
}

/// Streams messages into chunks; see the module docs.
#[derive(Debug)]
pub struct Chunker {
    options: ChunkingOptions,
    facts: ChatFacts,
    next_index: u32,
    overlap: Vec<Line>,
    owned: Vec<Line>,
    tokens: usize,
    last_timestamp: Option<NaiveDateTime>,
}

impl Chunker {
    pub fn new(options: ChunkingOptions, facts: ChatFacts) -> Self {
        Self {
            options,
            facts,
            next_index: 0,
            overlap: Vec::new(),
            owned: Vec::new(),
            tokens: 0,
            last_timestamp: None,
        }
    }

    /// Adds the next message (in `seq` order); returns the chunks it completed.
    pub fn push(&mut self, message: SourceMessage) -> Vec<Chunk> {
        let text = render_line(
            message.sender.as_deref(),
            message.timestamp,
            &message.content,
        );
        let tokens = estimate_tokens(&text) + 1;
        let gap = self
            .last_timestamp
            .map(|t| (message.timestamp - t).num_minutes())
            .unwrap_or(0);
        self.last_timestamp = Some(message.timestamp);
        let line = Line {
            id: message.id,
            seq: message.seq,
            sender: message.sender,
            timestamp: message.timestamp,
            text,
            tokens,
        };
        let mut done = Vec::new();
        if tokens > self.options.max_tokens {
            done.extend(self.emit(false));
            done.extend(self.split_oversized(line));
            return done;
        }
        let new_conversation = gap >= self.options.quiet_gap_minutes;
        if !self.owned.is_empty() {
            if self.tokens + tokens > self.options.max_tokens {
                // Cut for size inside a conversation: carry context into the next chunk.
                done.extend(self.emit(!new_conversation));
            } else if new_conversation && self.owned_tokens() >= self.options.min_tokens {
                done.extend(self.emit(false));
            }
        }
        // The carried context gives way when it and this message would not fit together.
        while !self.overlap.is_empty() && self.tokens + tokens > self.options.max_tokens {
            let dropped = self.overlap.remove(0);
            self.tokens -= dropped.tokens;
        }
        self.tokens += tokens;
        self.owned.push(line);
        done
    }

    /// Emits whatever is left.
    pub fn finish(mut self) -> Option<Chunk> {
        self.emit(false)
    }

    fn owned_tokens(&self) -> usize {
        self.owned.iter().map(|l| l.tokens).sum()
    }

    /// Closes the current chunk; with `carry`, its tail becomes the next chunk's overlap.
    fn emit(&mut self, carry: bool) -> Option<Chunk> {
        if self.owned.is_empty() {
            self.overlap.clear();
            self.tokens = 0;
            return None;
        }
        let overlap = std::mem::take(&mut self.overlap);
        let owned = std::mem::take(&mut self.owned);
        let chunk = self.build(&overlap, &owned, None);
        if carry {
            self.overlap = self.tail_for_overlap(&owned);
        }
        self.tokens = self.overlap.iter().map(|l| l.tokens).sum();
        Some(chunk)
    }

    fn tail_for_overlap(&self, owned: &[Line]) -> Vec<Line> {
        let mut tail = Vec::new();
        let mut budget = self.options.overlap_max_tokens;
        for line in owned.iter().rev().take(self.options.overlap_messages) {
            if line.tokens > budget {
                break;
            }
            budget -= line.tokens;
            tail.push(line.clone());
        }
        tail.reverse();
        tail
    }

    /// A message larger than a chunk: one chunk per piece, cut on character boundaries.
    fn split_oversized(&mut self, line: Line) -> Vec<Chunk> {
        let piece_chars = self.options.max_tokens.saturating_sub(1).max(1) * 4;
        let chars: Vec<char> = line.text.chars().collect();
        let pieces: Vec<String> = chars
            .chunks(piece_chars)
            .map(|p| p.iter().collect())
            .collect();
        let total = pieces.len();
        let chunks = pieces
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let piece = Line {
                    tokens: estimate_tokens(&text) + 1,
                    text,
                    ..line.clone()
                };
                self.build(&[], std::slice::from_ref(&piece), Some((i + 1, total)))
            })
            .collect();
        self.overlap.clear();
        self.tokens = 0;
        chunks
    }

    fn build(&mut self, overlap: &[Line], owned: &[Line], part: Option<(usize, usize)>) -> Chunk {
        let index = self.next_index;
        self.next_index += 1;
        let mut text = String::new();
        for line in overlap.iter().chain(owned) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&line.text);
        }
        // `owned` is never empty here: `emit` and `split_oversized` check.
        let (first, last) = (&owned[0], &owned[owned.len() - 1]);
        let mut speakers: Vec<String> = Vec::new();
        for s in owned.iter().filter_map(|l| l.sender.as_ref()) {
            if !speakers.contains(s) {
                speakers.push(s.clone());
            }
        }
        let metadata = ChunkMetadata {
            start_timestamp: first.timestamp,
            end_timestamp: last.timestamp,
            speakers,
            is_group_chat: self.facts.is_group_chat,
            participant_count: self.facts.participant_count,
            message_count: owned.len(),
            message_ids: owned.iter().map(|l| l.id).collect(),
            time_span_minutes: (last.timestamp - first.timestamp).num_minutes(),
            platform: self.facts.platform.clone(),
            first_message_id: first.id,
            last_message_id: last.id,
            first_seq: first.seq,
            last_seq: last.seq,
            overlap_messages: overlap.len(),
            part,
        };
        Chunk {
            index,
            token_count: estimate_tokens(&text),
            text,
            metadata,
        }
    }
}

/// Chunks a whole chat held in memory (tests, small chats).
pub fn chunk_all(
    options: ChunkingOptions,
    facts: ChatFacts,
    messages: impl IntoIterator<Item = SourceMessage>,
) -> Vec<Chunk> {
    let mut chunker = Chunker::new(options, facts);
    let mut chunks = Vec::new();
    for m in messages {
        chunks.extend(chunker.push(m));
    }
    chunks.extend(chunker.finish());
    chunks
}

#[cfg(test)]
mod tests;

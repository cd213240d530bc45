//! The streaming accumulator behind [`super::chat_metadata`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::counter::{EmojiCounter, PerUser, Vocab};
use super::emoji::strip_skin_tones;
use super::extended::ExtendedAcc;
use super::words::{Sink, scan, simple_word_count};
use super::{
    ChatMetadata, DailyDistribution, DateRange, EmojiCount, Link, LongestMessage, UserStats,
    UserStatsMap, WEEKDAYS, WordCount, round2,
};
use crate::whatsapp::cli::iso_string;
use crate::whatsapp::kind::MessageKind;
use crate::whatsapp::parse::AuthorId;

/// A gap this long (or longer) before a message makes it a conversation start.
pub const INITIATION_GAP_SECONDS: i64 = 6 * 3600;
/// Replies slower than this are not responses (`0 < gap < 4 h`).
pub const RESPONSE_WINDOW_SECONDS: i64 = 4 * 3600;
/// Links kept in `links`.
pub const MAX_LINKS: usize = 1_000;
/// Entries of each `top_words`.
pub const TOP_WORDS: usize = 50;
/// Entries of each `top_emojis`.
pub const TOP_EMOJIS: usize = 40;
/// Characters of `longest_message.message` before it is cut and `...` appended.
pub const LONGEST_MESSAGE_CHARS: usize = 500;

#[derive(Debug, Default)]
struct UserAcc<'a> {
    messages: u64,
    words: u64,
    chars: u64,
    char_messages: u64,
    deleted: u64,
    media: u64,
    links: u64,
    initiations: u64,
    runs: u64,
    double_runs: u64,
    questions: u64,
    response_sum: i64,
    responses: u64,
    hourly: [u64; 24],
    longest: Option<(u64, &'a str, NaiveDateTime)>,
    extra_words: PerUser,
    emojis: PerUser,
}

/// Accumulates `chat_metadata` one message at a time, in time order.
///
/// Word rules (the earlier service's): deleted, media and call messages have no words;
/// URLs and emoji are removed; `[a-zA-Z]+` tokens longer than two letters, lowercased;
/// NLTK English, 30 romanised-Hindi and WhatsApp noise stopwords dropped.
#[derive(Debug)]
pub struct StatsBuilder<'a> {
    names: Vec<String>,
    users: Vec<UserAcc<'a>>,
    vocab: Vocab,
    emojis: EmojiCounter,
    total_messages: u64,
    total_words: u64,
    deleted: u64,
    media: u64,
    system: u64,
    edited: u64,
    links: Vec<Link>,
    hourly: [u64; 24],
    daily: [u64; 7],
    by_date: BTreeMap<NaiveDate, u64>,
    /// The day being counted (messages come in time order, so one day at a time).
    day: Option<(NaiveDate, u64)>,
    range: Option<(NaiveDateTime, NaiveDateTime)>,
    /// The previous participant message: its time and author, and the length of the
    /// author's current run.
    prev: Option<(NaiveDateTime, usize)>,
    run: u64,
    token_buf: Vec<u8>,
    emoji_buf: String,
    ext: ExtendedAcc,
}

impl<'a> StatsBuilder<'a> {
    /// A builder for a chat with these participants ([`AuthorId`]s index into them).
    pub fn new(participants: &[String]) -> Self {
        Self {
            names: participants.to_vec(),
            users: participants.iter().map(|_| UserAcc::default()).collect(),
            vocab: Vocab::new(),
            emojis: EmojiCounter::default(),
            total_messages: 0,
            total_words: 0,
            deleted: 0,
            media: 0,
            system: 0,
            edited: 0,
            links: Vec::new(),
            hourly: [0; 24],
            daily: [0; 7],
            by_date: BTreeMap::new(),
            day: None,
            range: None,
            prev: None,
            run: 0,
            token_buf: Vec::with_capacity(64),
            emoji_buf: String::new(),
            ext: ExtendedAcc::new(participants.len()),
        }
    }

    /// Adds the next message (in time order). System lines only count as such.
    pub fn push(
        &mut self,
        timestamp: NaiveDateTime,
        author: Option<AuthorId>,
        text: &'a str,
        kind: MessageKind,
    ) {
        let Some(uid) = author
            .map(AuthorId::index)
            .filter(|&u| u < self.users.len())
        else {
            self.system += 1;
            return;
        };
        self.count_time(timestamp, uid);
        self.count_turns(timestamp, uid);
        self.count_content(timestamp, uid, text, kind);
        self.ext.push(timestamp, uid, text, kind);
    }

    fn count_time(&mut self, t: NaiveDateTime, uid: usize) {
        self.total_messages += 1;
        let hour = t.hour() as usize;
        self.hourly[hour] += 1;
        self.daily[t.weekday().num_days_from_monday() as usize] += 1;
        let date = t.date();
        match &mut self.day {
            Some((d, n)) if *d == date => *n += 1,
            day => {
                if let Some((d, n)) = day.take() {
                    *self.by_date.entry(d).or_insert(0) += n;
                }
                *day = Some((date, 1));
            }
        }
        self.range = Some(match self.range {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
        let u = &mut self.users[uid];
        u.messages += 1;
        u.hourly[hour] += 1;
    }

    /// Initiations, response times and double-texting runs: all about the previous message.
    fn count_turns(&mut self, t: NaiveDateTime, uid: usize) {
        let gap = self.prev.map(|(pt, _)| (t - pt).num_seconds());
        if gap.is_none_or(|g| g >= INITIATION_GAP_SECONDS) {
            self.users[uid].initiations += 1;
        }
        match self.prev {
            Some((_, prev_uid)) if prev_uid == uid => self.run += 1,
            prev => {
                if let Some((_, prev_uid)) = prev {
                    self.close_run(prev_uid);
                    if let Some(g) = gap.filter(|&g| g > 0 && g < RESPONSE_WINDOW_SECONDS) {
                        self.users[uid].response_sum += g;
                        self.users[uid].responses += 1;
                    }
                }
                self.run = 1;
            }
        }
        self.prev = Some((t, uid));
    }

    fn close_run(&mut self, uid: usize) {
        let u = &mut self.users[uid];
        u.runs += 1;
        u.double_runs += u64::from(self.run >= 2);
    }

    fn count_content(&mut self, t: NaiveDateTime, uid: usize, text: &'a str, kind: MessageKind) {
        match kind {
            MessageKind::Deleted => {
                self.deleted += 1;
                self.users[uid].deleted += 1;
            }
            MessageKind::Media => {
                self.media += 1;
                self.users[uid].media += 1;
            }
            MessageKind::Edited => self.edited += 1,
            _ => {}
        }
        let u = &mut self.users[uid];
        u.questions += u64::from(memchr::memchr(b'?', text.as_bytes()).is_some());
        if !matches!(kind, MessageKind::Deleted | MessageKind::Media) {
            let chars = text.chars().count() as u64;
            u.chars += chars;
            u.char_messages += 1;
            if u.longest.is_none_or(|(c, _, _)| chars > c) {
                u.longest = Some((chars, text, t));
            }
        }
        // Words come from the text without the edit marker WhatsApp appended.
        let scanned = match kind {
            MessageKind::Edited => crate::whatsapp::kind::strip_edited_marker(text).unwrap_or(text),
            _ => text,
        };
        let mut buf = std::mem::take(&mut self.token_buf);
        let mut sink = MessageSink {
            b: self,
            uid,
            t,
            words: 0,
        };
        scan(scanned, kind.has_words(), &mut buf, &mut sink);
        let words = sink.words;
        self.token_buf = buf;
        self.total_words += words;
        self.users[uid].words += words;
    }

    /// The finished metadata. `parser` and `unreadable_lines_count` are left for the caller.
    pub fn finish(mut self) -> ChatMetadata {
        if let Some((_, uid)) = self.prev {
            self.close_run(uid);
        }
        if let Some((d, n)) = self.day.take() {
            *self.by_date.entry(d).or_insert(0) += n;
        }
        let total_days = self.range.map_or(0, |(a, b)| (b - a).num_days() + 1);
        let user_stats = self.user_stats();
        let ext = std::mem::take(&mut self.ext);
        let extended = {
            let vocab = &self.vocab;
            let users = &self.users;
            ext.finish(
                &self.names,
                &|u| vocab.user_words(u, &users[u].extra_words),
                &|id| vocab.total(id),
                &|id| vocab.name(id),
            )
        };
        let per_day = if total_days > 0 {
            self.total_messages as f64 / total_days as f64
        } else {
            0.0
        };
        ChatMetadata {
            total_messages: self.total_messages,
            total_words: self.total_words,
            date_range: DateRange {
                start: self.range.map(|(a, _)| iso_string(a)),
                end: self.range.map(|(_, b)| iso_string(b)),
            },
            total_days,
            messages_per_day_avg: round2(per_day),
            messages_by_date: self
                .by_date
                .iter()
                .map(|(d, n)| (d.format("%Y-%m-%d").to_string(), *n))
                .collect(),
            deleted_messages_count: self.deleted,
            media_shared_count: self.media,
            links_shared_count: self.links.len() as u64,
            links: std::mem::take(&mut self.links),
            busiest_hour: argmax(&self.hourly) as u32,
            busiest_day: WEEKDAYS[argmax(&self.daily)],
            hourly_distribution: self.hourly,
            daily_distribution: DailyDistribution(self.daily),
            top_words: words(self.vocab.top(TOP_WORDS)),
            top_emojis: emojis(self.emojis.top(TOP_EMOJIS)),
            user_stats,
            system_messages_count: self.system,
            edited_messages_count: self.edited,
            unreadable_lines_count: 0,
            parser: None,
            extended,
        }
    }

    fn user_stats(&self) -> UserStatsMap {
        let stats = self.users.iter().enumerate().map(|(uid, u)| {
            let s = UserStats {
                message_count: u.messages,
                word_count: u.words,
                avg_words_per_message: ratio(u.words as f64, u.messages),
                avg_message_length_chars: ratio(u.chars as f64, u.char_messages),
                deleted_messages: u.deleted,
                media_shared: u.media,
                links_shared: u.links,
                conversation_initiations: u.initiations,
                double_texting_rate: round2(if u.runs > 0 {
                    u.double_runs as f64 * 100.0 / u.runs as f64
                } else {
                    0.0
                }),
                questions_asked: u.questions,
                avg_response_time_seconds: ratio(u.response_sum as f64, u.responses),
                top_words: words(self.vocab.top_for(uid, &u.extra_words, TOP_WORDS)),
                top_emojis: emojis(self.emojis.top_for(&u.emojis, TOP_EMOJIS)),
                busiest_hour: argmax(&u.hourly) as u32,
                hourly_distribution: u.hourly,
                longest_message: longest(u.longest),
            };
            (self.names[uid].clone(), s)
        });
        UserStatsMap(stats.collect())
    }
}

/// Routes what the scanner finds in one message to the counters.
struct MessageSink<'s, 'a> {
    b: &'s mut StatsBuilder<'a>,
    uid: usize,
    t: NaiveDateTime,
    words: u64,
}

impl Sink for MessageSink<'_, '_> {
    #[inline]
    fn word(&mut self, word: &[u8]) {
        let extra = &mut self.b.users[self.uid].extra_words;
        self.words += u64::from(self.b.vocab.add(word, self.uid, extra));
    }

    fn emoji(&mut self, emoji: &str) {
        let key = strip_skin_tones(emoji, &mut self.b.emoji_buf);
        self.b.emojis.add(key, &mut self.b.users[self.uid].emojis);
    }

    fn link(&mut self, url: &str) {
        self.b.ext.link(url);
        self.b.users[self.uid].links += 1;
        if self.b.links.len() < MAX_LINKS {
            let user = self.b.names[self.uid].clone();
            self.b.links.push(Link {
                url: url.to_owned(),
                user,
                timestamp: iso_string(self.t),
            });
        }
    }
}

fn ratio(sum: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { round2(sum / n as f64) }
}

/// Index of the largest value; the first one on a tie.
fn argmax(v: &[u64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn words(v: Vec<(String, u64)>) -> Vec<WordCount> {
    v.into_iter()
        .map(|(word, count)| WordCount { word, count })
        .collect()
}

fn emojis(v: Vec<(String, u64)>) -> Vec<EmojiCount> {
    v.into_iter()
        .map(|(emoji, count)| EmojiCount { emoji, count })
        .collect()
}

fn longest(l: Option<(u64, &str, NaiveDateTime)>) -> LongestMessage {
    match l {
        None => LongestMessage {
            word_count: 0,
            char_count: 0,
            timestamp: None,
            message: None,
        },
        Some((chars, text, t)) => {
            let message = match text.char_indices().nth(LONGEST_MESSAGE_CHARS) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None => text.to_owned(),
            };
            LongestMessage {
                word_count: simple_word_count(text) as u64,
                char_count: chars,
                timestamp: Some(iso_string(t)),
                message: Some(message),
            }
        }
    }
}

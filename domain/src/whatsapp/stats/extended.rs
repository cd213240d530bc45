//! The statistics people ask for beyond the earlier service's: `chat_metadata.extended`.
//!
//! Fed by [`super::StatsBuilder`] in the same single pass, message by message in time
//! order. Memory stays proportional to participants, months and vocabulary, except the
//! reply gaps kept for exact medians: two bytes per reply (a reply is under four hours,
//! so its gap fits a `u16`). Per-person tables are reported for the
//! [`MAX_PEOPLE_REPORTED`] most active participants only, so a 1,000-person group does
//! not produce a megabyte of JSON.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::builder::{INITIATION_GAP_SECONDS, RESPONSE_WINDOW_SECONDS};
use crate::whatsapp::cli::iso_string;
use crate::whatsapp::kind::MessageKind;

/// Participants whose per-person tables are reported (the most active ones).
pub const MAX_PEOPLE_REPORTED: usize = 50;
/// Participants of the group reply matrix (the most active ones).
pub const REPLY_MATRIX_PEOPLE: usize = 20;
/// A message counts as a reply to the previous (other) author within this window.
pub const REPLY_WINDOW_SECONDS: i64 = 30 * 60;
/// Distinct link domains tracked; later new domains are counted under `"other"`.
pub const MAX_DOMAINS: usize = 10_000;
/// Entries of `links_by_domain` and of each `distinctive_words` list.
pub(crate) const TOP_DOMAINS: usize = 50;
/// Entries of each person's `distinctive_words`.
pub(crate) const TOP_DISTINCTIVE: usize = 15;

/// `chat_metadata.extended`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Extended {
    /// Which export this came from: `whatsapp`, `telegram`, `instagram` or `messenger`.
    pub platform: &'static str,
    /// The chat's own name when the export tells it (group name, file name), else `null`.
    pub chat_name: Option<String>,
    /// Per person: reply times (a message after someone else's, `0 < gap < 4 h`).
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, ResponseTimes>))]
    pub response_times: Named<ResponseTimes>,
    /// Messages per weekday (Monday first) and hour of day: `[7][24]`.
    pub weekday_hour: [[u64; 24]; 7],
    /// Runs of consecutive calendar days with messages.
    pub streaks: Streaks,
    /// The longest gap between two messages.
    pub longest_silence: Option<Span>,
    /// The conversation (messages less than 6 h apart) with the most messages.
    pub longest_conversation: Option<Conversation>,
    /// Per person: messages per month (`YYYY-MM`).
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, HashMap<String, u64>>))]
    pub monthly_messages: Named<BTreeMap<String, u64>>,
    /// Per person: conversations (see `longest_conversation`) whose last message they sent.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, u64>))]
    pub conversation_endings: Named<u64>,
    /// Per person: messages with `?` that nobody else answered within 4 h.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, u64>))]
    pub unanswered_questions: Named<u64>,
    /// Media placeholders by type.
    pub media_by_type: MediaByType,
    /// Call notices.
    pub calls: Calls,
    /// Links by domain (`www.` dropped), most frequent first.
    pub links_by_domain: Vec<DomainCount>,
    /// Polls, total and per person.
    pub polls: Counted,
    /// Shared locations (pins and live locations), total and per person.
    pub locations: Counted,
    /// Groups only (3+ participants): `from → to → n`, how often `from` wrote within 30
    /// minutes after a message of `to`. Empty for two-person chats.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, HashMap<String, u64>>))]
    pub reply_matrix: Named<Named<u64>>,
    /// Per person: distinct words used (the `top_words` rules).
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, u64>))]
    pub unique_words: Named<u64>,
    /// Per person: the words they use far more than the others (see [`Distinctive`]).
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, Vec<Distinctive>>))]
    pub distinctive_words: Named<Vec<Distinctive>>,
}

/// An ordered `name → value` map (order: most active participant first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Named<T> {
    /// The value for one name.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Reply-time figures, seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResponseTimes {
    /// Replies counted.
    pub count: u64,
    /// Median reply time (the lower middle value for an even count).
    pub median_seconds: Option<u32>,
    /// 90th percentile (nearest rank).
    pub p90_seconds: Option<u32>,
    /// The same per month of the reply (`YYYY-MM`).
    pub by_month: BTreeMap<String, MonthResponse>,
}

/// One month of [`ResponseTimes`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthResponse {
    /// Replies counted.
    pub count: u64,
    /// Median, seconds.
    pub median_seconds: u32,
    /// 90th percentile, seconds.
    pub p90_seconds: u32,
}

/// Day streaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Streaks {
    /// Calendar days with at least one message.
    pub active_days: u64,
    /// The longest run of consecutive active days.
    pub longest_days: u64,
    /// Its first day, `YYYY-MM-DD`.
    pub longest_start: Option<String>,
    /// Its last day.
    pub longest_end: Option<String>,
    /// The run that ends on the chat's last day.
    pub last_days: u64,
}

/// A stretch of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    /// Length, seconds.
    pub seconds: i64,
    /// Start, `YYYY-MM-DDTHH:MM:SS`.
    pub start: String,
    /// End.
    pub end: String,
}

/// The longest conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// Messages in it.
    pub messages: u64,
    /// Its first and last message times.
    #[serde(flatten)]
    pub span: Span,
}

/// Media placeholders by type. `other` is media whose type the export does not say
/// (Android's `<Media omitted>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaByType {
    /// Photos.
    pub image: u64,
    /// Videos.
    pub video: u64,
    /// Voice messages and audio files.
    pub audio: u64,
    /// Stickers.
    pub sticker: u64,
    /// GIFs.
    pub gif: u64,
    /// Documents (PDF, …).
    pub document: u64,
    /// Contact cards.
    pub contact: u64,
    /// View-once photos, videos and voice messages.
    pub view_once: u64,
    /// Type not written in the export.
    pub other: u64,
}

/// Call notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Calls {
    /// All call notices.
    pub total: u64,
    /// Voice calls (missed ones included).
    pub voice: u64,
    /// Video calls (missed ones included).
    pub video: u64,
    /// Missed calls.
    pub missed: u64,
}

/// `{domain, count}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainCount {
    /// Host, lowercased, without `www.`.
    pub domain: String,
    /// Links to it.
    pub count: u64,
}

/// A total and its split per person.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counted {
    /// All of them.
    pub total: u64,
    /// Per person.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, u64>))]
    pub by_person: Named<u64>,
}

/// One distinctive word: `score = count × ln((count + 1) / (expected + 1))`, where
/// `expected` is the count the word would have if this person used it at the rate of
/// the chat as a whole. A TF-IDF-style keyness: high for words one person says often and
/// the others rarely; words said fewer than 3 times are left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Distinctive {
    /// The word.
    pub word: String,
    /// How often this person used it.
    pub count: u64,
    /// The keyness score, 2 decimals.
    pub score: f64,
}

#[derive(Debug, Default)]
struct Person {
    messages: u64,
    /// Reply gaps in time order, and where each month starts in them.
    gaps: Vec<u16>,
    gap_months: Vec<(u32, u32)>,
    months: Vec<(u32, u64)>,
    endings: u64,
    unanswered: u64,
    polls: u64,
    locations: u64,
}

/// The accumulator.
#[derive(Debug, Default)]
pub(crate) struct ExtendedAcc {
    people: Vec<Person>,
    weekday_hour: [[u64; 24]; 7],
    active_days: u64,
    last_day: Option<NaiveDate>,
    run: (u64, Option<NaiveDate>),
    best_run: (u64, Option<NaiveDate>, Option<NaiveDate>),
    silence: Option<(i64, NaiveDateTime, NaiveDateTime)>,
    conv: (u64, Option<NaiveDateTime>),
    best_conv: Option<(u64, NaiveDateTime, NaiveDateTime)>,
    prev: Option<(NaiveDateTime, usize)>,
    /// Questions of one author not yet answered: (time of the last one, author, count).
    open_questions: Option<(NaiveDateTime, usize, u64)>,
    media: MediaByType,
    calls: Calls,
    domains: FxHashMap<Box<str>, (u64, u32)>,
    other_domains: u64,
    polls: u64,
    locations: u64,
    replies: FxHashMap<(u32, u32), u32>,
    group: bool,
}

/// `YYYY * 12 + month - 1`.
fn month_id(t: NaiveDateTime) -> u32 {
    (t.year().max(0) as u32) * 12 + t.month0()
}

fn month_name(id: u32) -> String {
    format!("{:04}-{:02}", id / 12, id % 12 + 1)
}

impl ExtendedAcc {
    pub(crate) fn new(participants: usize) -> Self {
        Self {
            people: (0..participants).map(|_| Person::default()).collect(),
            group: participants > 2,
            ..Self::default()
        }
    }

    /// One participant message, in time order.
    pub(crate) fn push(&mut self, t: NaiveDateTime, uid: usize, text: &str, kind: MessageKind) {
        self.weekday_hour[t.weekday().num_days_from_monday() as usize][t.hour() as usize] += 1;
        self.day(t.date());
        let month = month_id(t);
        let p = &mut self.people[uid];
        p.messages += 1;
        match p.months.last_mut() {
            Some((m, n)) if *m == month => *n += 1,
            _ => p.months.push((month, 1)),
        }
        self.turn(t, uid, month);
        self.content(uid, text, kind);
        if memchr::memchr(b'?', text.as_bytes()).is_some() {
            self.open_questions = match self.open_questions {
                Some((_, q, n)) if q == uid => Some((t, uid, n + 1)),
                _ => Some((t, uid, 1)),
            };
        }
        self.prev = Some((t, uid));
    }

    fn day(&mut self, d: NaiveDate) {
        if self.last_day == Some(d) {
            return;
        }
        self.active_days += 1;
        let consecutive = self.last_day.and_then(|l| l.succ_opt()) == Some(d);
        self.run = if consecutive {
            (self.run.0 + 1, self.run.1)
        } else {
            (1, Some(d))
        };
        if self.run.0 > self.best_run.0 {
            self.best_run = (self.run.0, self.run.1, Some(d));
        }
        self.last_day = Some(d);
    }

    fn turn(&mut self, t: NaiveDateTime, uid: usize, month: u32) {
        let Some((pt, puid)) = self.prev else {
            self.conv = (1, Some(t));
            return;
        };
        let gap = (t - pt).num_seconds();
        if self.silence.is_none_or(|(s, _, _)| gap > s) {
            self.silence = Some((gap, pt, t));
        }
        if gap >= INITIATION_GAP_SECONDS {
            self.people[puid].endings += 1;
            self.close_conversation(pt);
            self.conv = (1, Some(t));
        } else {
            self.conv.0 += 1;
        }
        // Open questions: answered by someone else within the window, or left open.
        if let Some((qt, quid, n)) = self.open_questions
            && (quid != uid || (t - qt).num_seconds() >= RESPONSE_WINDOW_SECONDS)
        {
            if (t - qt).num_seconds() >= RESPONSE_WINDOW_SECONDS {
                self.people[quid].unanswered += n;
            }
            self.open_questions = None;
        }
        if puid != uid && gap > 0 && gap < RESPONSE_WINDOW_SECONDS {
            let p = &mut self.people[uid];
            if p.gap_months.last().is_none_or(|(m, _)| *m != month) {
                p.gap_months.push((month, p.gaps.len() as u32));
            }
            p.gaps.push(gap as u16);
        }
        if self.group && puid != uid && (0..REPLY_WINDOW_SECONDS).contains(&gap) {
            *self.replies.entry((uid as u32, puid as u32)).or_insert(0) += 1;
        }
    }

    fn close_conversation(&mut self, last: NaiveDateTime) {
        if let (n, Some(start)) = self.conv
            && self.best_conv.is_none_or(|(b, _, _)| n > b)
        {
            self.best_conv = Some((n, start, last));
        }
    }

    fn content(&mut self, uid: usize, text: &str, kind: MessageKind) {
        match kind {
            MessageKind::Media => media_type(text, &mut self.media),
            // `null` / `none` are view-once stubs the old rule files as calls.
            MessageKind::Call
                if !(text.eq_ignore_ascii_case("null") || text.eq_ignore_ascii_case("none")) =>
            {
                count_call(text, &mut self.calls);
            }
            MessageKind::Poll => {
                self.polls += 1;
                self.people[uid].polls += 1;
            }
            _ => {}
        }
        if is_location(text) {
            self.locations += 1;
            self.people[uid].locations += 1;
        }
    }

    /// A link's domain (called by the word scanner's sink).
    pub(crate) fn link(&mut self, url: &str) {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let host = rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or(rest)
            .rsplit('@')
            .next()
            .unwrap_or(rest);
        let host = host.split(':').next().unwrap_or(host);
        let host = host.strip_prefix("www.").unwrap_or(host);
        if host.is_empty() {
            return;
        }
        let lower;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = host.to_ascii_lowercase();
            lower.as_str()
        } else {
            host
        };
        let seq = self.domains.len() as u32;
        if let Some(e) = self.domains.get_mut(host) {
            e.0 += 1;
        } else if self.domains.len() < MAX_DOMAINS {
            self.domains.insert(host.into(), (1, seq));
        } else {
            self.other_domains += 1;
        }
    }

    /// The finished object. `words` gives, per participant, the (word, count) pairs and
    /// the chat-wide counts for the distinctive-word scores.
    pub(crate) fn finish(
        mut self,
        names: &[String],
        words: &dyn Fn(usize) -> Vec<(u32, u32)>,
        word_total: &dyn Fn(u32) -> u32,
        word_name: &dyn Fn(u32) -> String,
    ) -> Extended {
        if let Some((t, uid)) = self.prev {
            self.people[uid].endings += 1;
            self.close_conversation(t);
            if let Some((_, quid, n)) = self.open_questions {
                self.people[quid].unanswered += n;
            }
        }
        // Most active first, ties in order of first appearance.
        let mut order: Vec<usize> = (0..self.people.len()).collect();
        order.sort_by_key(|&u| std::cmp::Reverse(self.people[u].messages));
        order.retain(|&u| self.people[u].messages > 0);
        let reported: Vec<usize> = order.iter().copied().take(MAX_PEOPLE_REPORTED).collect();
        let named = |f: &dyn Fn(usize) -> u64| {
            Named(
                reported
                    .iter()
                    .map(|&u| (names[u].clone(), f(u)))
                    .collect::<Vec<_>>(),
            )
        };
        let people = &self.people;
        let response_times = Named(
            reported
                .iter()
                .map(|&u| (names[u].clone(), response_times(&people[u])))
                .collect(),
        );
        let monthly_messages = Named(
            reported
                .iter()
                .map(|&u| {
                    let months = people[u]
                        .months
                        .iter()
                        .fold(BTreeMap::new(), |mut m, (id, n)| {
                            *m.entry(month_name(*id)).or_insert(0) += n;
                            m
                        });
                    (names[u].clone(), months)
                })
                .collect(),
        );
        let matrix_people: Vec<usize> = order.iter().copied().take(REPLY_MATRIX_PEOPLE).collect();
        let reply_matrix = if self.group {
            Named(
                matrix_people
                    .iter()
                    .map(|&from| {
                        let row = matrix_people
                            .iter()
                            .filter(|&&to| to != from)
                            .map(|&to| {
                                let n = self.replies.get(&(from as u32, to as u32)).copied();
                                (names[to].clone(), u64::from(n.unwrap_or(0)))
                            })
                            .collect();
                        (names[from].clone(), Named(row))
                    })
                    .collect(),
            )
        } else {
            Named::default()
        };
        let per_person_words: Vec<(usize, Vec<(u32, u32)>)> =
            reported.iter().map(|&u| (u, words(u))).collect();
        let chat_words: u64 = per_person_words
            .iter()
            .flat_map(|(_, w)| w.iter().map(|&(_, c)| u64::from(c)))
            .sum();
        let unique_words = Named(
            per_person_words
                .iter()
                .map(|(u, w)| (names[*u].clone(), w.len() as u64))
                .collect(),
        );
        let distinctive_words = Named(
            per_person_words
                .iter()
                .map(|(u, w)| {
                    let list = distinctive(w, chat_words, word_total, word_name);
                    (names[*u].clone(), list)
                })
                .collect(),
        );
        let mut domains: Vec<(Box<str>, (u64, u32))> = self.domains.into_iter().collect();
        domains.sort_unstable_by_key(|(_, (c, seq))| (std::cmp::Reverse(*c), *seq));
        let mut links_by_domain: Vec<DomainCount> = domains
            .into_iter()
            .take(TOP_DOMAINS)
            .map(|(d, (count, _))| DomainCount {
                domain: d.into(),
                count,
            })
            .collect();
        if self.other_domains > 0 {
            links_by_domain.push(DomainCount {
                domain: "other".to_owned(),
                count: self.other_domains,
            });
        }
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        Extended {
            platform: "whatsapp",
            chat_name: None,
            response_times,
            weekday_hour: self.weekday_hour,
            streaks: Streaks {
                active_days: self.active_days,
                longest_days: self.best_run.0,
                longest_start: day(self.best_run.1),
                longest_end: day(self.best_run.2),
                last_days: self.run.0,
            },
            longest_silence: self.silence.filter(|s| s.0 > 0).map(|(s, a, b)| Span {
                seconds: s,
                start: iso_string(a),
                end: iso_string(b),
            }),
            longest_conversation: self.best_conv.map(|(n, a, b)| Conversation {
                messages: n,
                span: Span {
                    seconds: (b - a).num_seconds(),
                    start: iso_string(a),
                    end: iso_string(b),
                },
            }),
            monthly_messages,
            conversation_endings: named(&|u| people[u].endings),
            unanswered_questions: named(&|u| people[u].unanswered),
            media_by_type: self.media,
            calls: self.calls,
            links_by_domain,
            polls: Counted {
                total: self.polls,
                by_person: named(&|u| people[u].polls),
            },
            locations: Counted {
                total: self.locations,
                by_person: named(&|u| people[u].locations),
            },
            reply_matrix,
            unique_words,
            distinctive_words,
        }
    }
}

fn count_call(text: &str, c: &mut Calls) {
    c.total += 1;
    let head = text.get(..text.len().min(40)).unwrap_or(text);
    let has = |w: &str| {
        head.as_bytes()
            .windows(w.len())
            .any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
    };
    if has("video") {
        c.video += 1;
    } else {
        c.voice += 1;
    }
    c.missed += u64::from(has("missed"));
}

/// Median (lower middle) and 90th percentile (nearest rank) of sorted values.
fn median_p90(sorted: &[u16]) -> Option<(u32, u32)> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let median = sorted[(n - 1) / 2];
    let p90 = sorted[(n * 9).div_ceil(10).saturating_sub(1)];
    Some((u32::from(median), u32::from(p90)))
}

fn response_times(p: &Person) -> ResponseTimes {
    let mut by_month = BTreeMap::new();
    for (i, &(month, start)) in p.gap_months.iter().enumerate() {
        let end = p
            .gap_months
            .get(i + 1)
            .map_or(p.gaps.len(), |(_, e)| *e as usize);
        let mut seg = p.gaps[start as usize..end].to_vec();
        seg.sort_unstable();
        if let Some((median, p90)) = median_p90(&seg) {
            by_month.insert(
                month_name(month),
                MonthResponse {
                    count: seg.len() as u64,
                    median_seconds: median,
                    p90_seconds: p90,
                },
            );
        }
    }
    let mut all = p.gaps.clone();
    all.sort_unstable();
    let mp = median_p90(&all);
    ResponseTimes {
        count: all.len() as u64,
        median_seconds: mp.map(|m| m.0),
        p90_seconds: mp.map(|m| m.1),
        by_month,
    }
}

fn distinctive(
    words: &[(u32, u32)],
    chat_words: u64,
    word_total: &dyn Fn(u32) -> u32,
    word_name: &dyn Fn(u32) -> String,
) -> Vec<Distinctive> {
    let mine: u64 = words.iter().map(|&(_, c)| u64::from(c)).sum();
    if mine == 0 || chat_words == 0 {
        return Vec::new();
    }
    let share = mine as f64 / chat_words as f64;
    let mut scored: Vec<(f64, u32, u32)> = words
        .iter()
        .filter(|&&(_, c)| c >= 3)
        .map(|&(id, c)| {
            let expected = f64::from(word_total(id)) * share;
            let c_f = f64::from(c);
            (c_f * ((c_f + 1.0) / (expected + 1.0)).ln(), id, c)
        })
        .filter(|(s, _, _)| *s > 0.0)
        .collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(TOP_DISTINCTIVE)
        .map(|(score, id, count)| Distinctive {
            word: word_name(id),
            count: u64::from(count),
            score: super::round2(score),
        })
        .collect()
}

/// The media type a placeholder names (English and the languages of [`super::super::kind`]).
fn media_type(text: &str, m: &mut MediaByType) {
    let t = text.get(..text.len().min(160)).unwrap_or(text);
    let has = |words: &[&str]| {
        words.iter().any(|w| {
            t.as_bytes()
                .windows(w.len())
                .any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
        })
    };
    let slot = if has(&["view once"]) {
        &mut m.view_once
    } else if has(&[
        "-STICKER-",
        "sticker",
        ".webp",
        "Çıkartma",
        "стикер",
        "ملصق",
        "استیکر",
    ]) {
        &mut m.sticker
    } else if has(&["-GIF-", "GIF "]) || t.ends_with("GIF omitted") {
        &mut m.gif
    } else if has(&[
        "-PHOTO-",
        "image",
        "photo",
        "bild",
        "imagen",
        "foto",
        "görüntü",
        "obrázek",
        "изображение",
        "صورة",
        "الصورة",
        "تصویر",
        ".jpg",
        ".jpeg",
        ".png",
        ".heic",
    ]) {
        &mut m.image
    } else if has(&[
        "-VIDEO-",
        "video",
        "vídeo",
        "ویدیو",
        "فيديو",
        "видео",
        ".mp4",
        ".mov",
    ]) {
        &mut m.video
    } else if has(&[
        "-AUDIO-",
        "audio",
        "PTT-",
        "voice",
        "ses dahil",
        "zvuk",
        "аудио",
        "صوت",
        "صدا",
        ".opus",
        ".m4a",
        ".mp3",
        ".aac",
    ]) {
        &mut m.audio
    } else if has(&["contact card", "kontakt", "contacto", "kişi kartı", ".vcf"]) {
        &mut m.contact
    } else if has(&[
        "document",
        "dokument",
        "documento",
        "belge",
        ".pdf",
        ".docx",
        ".xlsx",
    ]) || (text.starts_with('<') && has(&[":", "："]) && !text.contains("omitted"))
    {
        &mut m.document
    } else {
        &mut m.other
    };
    *slot += 1;
}

/// Location pins (`location: https://maps.google.com/?q=…`) and live locations.
fn is_location(text: &str) -> bool {
    const HEADS: &[&str] = &[
        "location: ",
        "Location: ",
        "Standort: ",
        "Ubicación: ",
        "Localização: ",
        "Position : ",
        "Posizione: ",
        "Konum: ",
        "الموقع: ",
        "موقعیت: ",
        "Poloha: ",
    ];
    let t = crate::whatsapp::marks::strip_leading_direction_mark(text);
    if t.len() > 400 {
        return false;
    }
    (HEADS.iter().any(|h| t.starts_with(h)) && t.contains("://"))
        || t.eq_ignore_ascii_case("live location shared")
        || t.starts_with("maps.google.com/?q=")
        || t.starts_with("https://maps.google.com/?q=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(median_p90(&[]), None);
        assert_eq!(median_p90(&[5]), Some((5, 5)));
        let v: Vec<u16> = (1..=10).collect();
        assert_eq!(median_p90(&v), Some((5, 9)));
        let v: Vec<u16> = (1..=11).collect();
        assert_eq!(median_p90(&v), Some((6, 10)));
    }

    #[test]
    fn media_types_and_locations() {
        let mut m = MediaByType::default();
        for t in [
            "image omitted",
            "<attached: 00000012-PHOTO-2020-06-05-13-44-04.jpg>",
            "görüntü dahil edilmedi",
            "VID-20200101-WA0001.mp4 (file attached)",
            "PTT-20200101-WA0001.opus (file attached)",
            "sticker omitted",
            "GIF omitted",
            "report.pdf • 3 pages document omitted",
            "Contact card omitted",
            "View once photo omitted",
            "<Media omitted>",
        ] {
            media_type(t, &mut m);
        }
        assert_eq!(
            m,
            MediaByType {
                image: 3,
                video: 1,
                audio: 1,
                sticker: 1,
                gif: 1,
                document: 1,
                contact: 1,
                view_once: 1,
                other: 1,
            }
        );
        assert!(is_location("location: https://maps.google.com/?q=1,2"));
        assert!(is_location(
            "\u{200E}Location: https://maps.google.com/?q=1,2"
        ));
        assert!(!is_location("my location: home"));
    }
}

//! The statistics people ask for beyond the earlier service's: `chat_metadata.extended`.
//!
//! Fed by [`super::StatsBuilder`] in the same single pass, message by message in time
//! order. Memory stays proportional to participants, months and vocabulary, except the
//! reply gaps kept for exact medians: two bytes per reply (a reply is under four hours,
//! so its gap fits a `u16`). Per-person tables are reported for the
//! [`MAX_PEOPLE_REPORTED`] most active participants only, so a 1,000-person group does
//! not produce a megabyte of JSON.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rustc_hash::FxHashMap;

use super::builder::{INITIATION_GAP_SECONDS, RESPONSE_WINDOW_SECONDS};
use crate::whatsapp::kind::MessageKind;

mod finish;
mod report;

pub use report::{
    Calls, Conversation, Counted, Distinctive, DomainCount, Extended, MediaByType, MonthResponse,
    Named, ResponseTimes, Span, Streaks,
};

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

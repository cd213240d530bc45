//! The shapes of `chat_metadata.extended` as serialized: the report the accumulator
//! produces, with no logic beyond `Named`'s map serialization.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

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

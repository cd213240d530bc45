//! The insight evaluation behind `relivchats eval insights`: labelled chats in, the requests a
//! provider answers, and a report of how the answers compare with a careful reader's labels
//! (label accuracy, evidence fidelity and placement, distinct sentences, time per insight).
//!
//! Pure: the caller reads the files and calls the provider. Retrieval here ranks a chat's
//! chunks by how many of the type's cue words they mention (the keyword side of the hybrid
//! search) and keeps the top `top_k`; the labelled chats are small enough that every chunk
//! usually makes it in, so the ranking barely matters.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use crate::{
    catalogue::InsightTypeSpec,
    retrieval::{
        Grounding, LlmRequest,
        chunking::{ChatFacts, ChunkingOptions, SourceMessage, chunk_all},
        prompt::{self, Excerpt, ExcerptMessage, PromptParts},
        split_keywords,
    },
    whatsapp,
};

mod checks;
mod report;
mod score;
mod sentences;

pub use report::Report;
pub use score::score;
pub(crate) use sentences::split_sentences;

/// What a careful reader says about one chat (see `tests/fixtures/insight-eval/README.md`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChatLabels {
    pub category: String,
    #[serde(default = "yes")]
    pub judgeable: bool,
    #[serde(default)]
    pub about: String,
    pub labels: Labels,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Labels {
    pub conflict: Option<bool>,
    pub repaired: Option<bool>,
    pub initiator: Option<String>,
    pub appreciation: Option<BTreeMap<String, Option<String>>>,
    pub plans_made: Option<bool>,
    pub plans_kept: Option<bool>,
    pub tone: Option<String>,
}

/// One labelled chat: its export text and labels.
#[derive(Debug, Clone)]
pub struct EvalChat {
    pub name: String,
    pub text: String,
    pub labels: ChatLabels,
}

/// One provider answer for one (chat, insight type), already validated against the schema.
#[derive(Debug, Clone)]
pub struct Answer {
    pub chat: String,
    pub insight_type: String,
    /// `Err` holds why there is no valid content (provider error, schema violation).
    pub content: Result<Value, String>,
    /// Wall time of the provider call.
    pub micros: u128,
}

/// The requests for one chat: one per insight type of its category, built as production
/// builds them (statistics, chunking, retrieval, prompt under the budget).
pub fn requests(
    chat: &EvalChat,
    types: &[InsightTypeSpec],
    top_k: usize,
    token_budget: usize,
) -> Result<Vec<LlmRequest>, String> {
    let parsed = whatsapp::parse(&chat.text);
    whatsapp::ensure_chat(&parsed).map_err(|e| format!("{}: {e}", chat.name))?;
    let statistics = serde_json::to_value(whatsapp::chat_metadata(&parsed))
        .map_err(|e| format!("{}: {e}", chat.name))?;
    let participants = parsed.participants.clone();
    let messages: Vec<SourceMessage> = parsed
        .iter()
        .enumerate()
        .map(|(i, m)| SourceMessage {
            id: uuid::Uuid::from_u128(i as u128 + 1),
            seq: i as i64,
            sender: m.author.map(str::to_owned),
            content: m.text.to_owned(),
            timestamp: m.timestamp,
        })
        .collect();
    let by_seq: HashMap<i64, &SourceMessage> = messages.iter().map(|m| (m.seq, m)).collect();
    let chunks = chunk_all(
        ChunkingOptions::default(),
        ChatFacts {
            participant_count: participants.len(),
            is_group_chat: participants.len() > 2,
            platform: "whatsapp".to_owned(),
        },
        messages.iter().cloned(),
    );
    let mut out = Vec::new();
    for spec in types {
        if !spec.allows_participants(participants.len() as i32) {
            continue;
        }
        let keywords = split_keywords(&spec.rag_query_keywords);
        let cues: Vec<String> = keywords.iter().map(|k| k.to_lowercase()).collect();
        let mut ranked: Vec<(usize, usize)> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let text = c.text.to_lowercase();
                (cues.iter().filter(|k| text.contains(k.as_str())).count(), i)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let excerpts: Vec<Excerpt> = ranked
            .iter()
            .take(top_k)
            .map(|&(hits, i)| {
                let c = &chunks[i];
                let from = c.metadata.first_seq - c.metadata.overlap_messages as i64;
                Excerpt {
                    chunk_index: c.index,
                    score: hits as f32,
                    speakers: c.metadata.speakers.clone(),
                    time_span_minutes: c.metadata.time_span_minutes,
                    messages: (from..=c.metadata.last_seq)
                        .filter_map(|s| by_seq.get(&s))
                        .map(|m| ExcerptMessage {
                            speaker: m.sender.clone().unwrap_or_else(|| "WhatsApp".to_owned()),
                            timestamp: m.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                            text: m.content.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        let assembled = prompt::assemble(PromptParts {
            template: &spec.prompt_template,
            participants: &participants,
            statistics: &statistics,
            required_fields: &spec.required_metadata_fields,
            excerpts: &excerpts,
            token_budget,
        });
        let used: Vec<Excerpt> = assembled
            .used
            .iter()
            .map(|&i| excerpts[i].clone())
            .collect();
        out.push(LlmRequest {
            schema_name: spec.name.clone(),
            response_schema: spec.response_schema.clone(),
            prompt: assembled.text,
            grounding: Grounding {
                insight_type: spec.name.clone(),
                participants: participants.clone(),
                statistics: statistics.clone(),
                excerpts: used,
                keywords,
            },
            repair: None,
        });
    }
    Ok(out)
}

//! The offline analyst: a deterministic engine that writes an insight's JSON from the chat
//! itself, so the product works end to end with no model and no key.
//!
//! It works in two stages. [`reading`] reads the retrieved messages once and finds episodes:
//! disagreements and how they were repaired, support when someone is low, affection and
//! appreciation by kind, humour and running jokes, plans and whether they were kept, bids
//! for attention, initiations after quiet spells, work blockers and decisions. The writer then
//! walks the type's response schema (so the output is always valid against it) and fills each
//! section only from the episodes that bear on it: sentences name people, dates and what
//! happened; evidence is the episode's own messages, under a participant only that
//! participant's; a section with no episode says so plainly; and no sentence is written
//! twice. A chat too short, or not in English (the only language the cues read well), gets
//! "not enough to say" rather than confident claims. Results are marked with [`MODEL_ID`] in
//! `generation_metadata.model_used`.

mod cues;
pub mod eval;
mod facts;
mod lexicon;
mod reading;
mod text;
mod topics;
mod writer;

use serde_json::Value;

use crate::retrieval::Grounding;

/// Recorded as `model_used` for insights the analyst wrote.
pub const MODEL_ID: &str = "offline-analyst-v2";

/// Writes the JSON for `schema` from the grounding (see the module docs).
pub fn write_insight(schema: &Value, grounding: &Grounding) -> Value {
    let reading = reading::Reading::new(grounding);
    writer::Writer::new(&reading).document(schema)
}

#[cfg(test)]
mod tests;

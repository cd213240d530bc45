//! The offline analyst: a deterministic engine that writes an insight's JSON from the chat
//! itself — statistics for the numbers, retrieved excerpts as quoted evidence, lexicon cues
//! for themes — so the product works end to end with no model and no key.
//!
//! It is schema-driven rather than written per insight type: [`write_insight`] walks the
//! type's response schema and fills each property from a generator chosen by the property's
//! name and shape (names → participants, quote arrays → real messages, scores → computed
//! from the statistics, strings → templated sentences). Every one of the catalogue's types is
//! covered, and the output is valid against its schema (tested below for all of them). Its
//! results are marked with [`MODEL_ID`] in `generation_metadata.model_used`.

mod facts;
mod lexicon;
mod text;
mod writer;

use serde_json::Value;

use crate::retrieval::Grounding;

/// Recorded as `model_used` for insights the analyst wrote.
pub const MODEL_ID: &str = "offline-analyst-v1";

/// Writes the JSON for `schema` from the grounding (see the module docs).
pub fn write_insight(schema: &Value, grounding: &Grounding) -> Value {
    let facts = facts::Facts::new(grounding);
    writer::Writer::new(&facts).document(schema)
}

#[cfg(test)]
mod tests;

//! The closing summary: the headlines of the insight's own topics, then what the reading
//! rests on.

use super::{absent, episode_facts, rhythm_facts, these, topic_facts};
use crate::analyst::{
    reading::{Kind, Reading},
    topics::Topic,
};

/// A closing summary: the headlines of the insight's own topics (`focus`, most central
/// first) and their episodes, then (second) closing lines on what the reading rests on.
pub(crate) fn summary_facts(r: &Reading, focus: &[Topic]) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    for &t in focus.iter().take(4) {
        let kinds = t.kinds();
        let any = r.episodes.iter().any(|e| kinds.contains(&e.kind));
        if !any && t != Topic::Rhythm {
            out.push(absent(r, t));
            continue;
        }
        out.extend(topic_facts(r, t));
        if t == Topic::Rhythm {
            out.extend(rhythm_facts(r));
        }
        for e in r
            .episodes
            .iter()
            .filter(|e| kinds.contains(&e.kind) && e.kind != Kind::Bid)
            .take(6)
        {
            out.extend(episode_facts(r, e));
        }
    }
    let names = r.facts.names();
    let closing = vec![
        format!(
            "This reads only the messages retrieved for this insight, so it describes habits visible here, not the whole of what {names} share."
        ),
        format!(
            "It rests on {} retrieved here; a longer stretch of the chat could tell a fuller story about {names}.",
            these(r)
        ),
        format!(
            "All of it comes from {}, so it shows patterns between {names} rather than a verdict.",
            these(r)
        ),
        format!(
            "Read it as a snapshot of {}, not a judgement of {names}.",
            these(r)
        ),
        format!(
            "What shows here is what {} hold; the rest of what {names} share is not in view.",
            these(r)
        ),
        format!(
            "These are patterns in {}, offered as a mirror for {names}, not a score.",
            these(r)
        ),
    ];
    let mut closing = closing;
    closing.rotate_left(r.variant % 6);
    (out, closing)
}

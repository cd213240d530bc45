//! Saying things once: the candidate sentences for a prose field (from the scope's episode,
//! person or topic), the rule that no sentence is written twice in an insight, and the
//! per-voice order that keeps a category's insight types from all choosing the same one.

use super::{CANDIDATE_EPISODES, Scope, Writer, is_concern};
use crate::analyst::{
    reading::{Kind, Outcome},
    text,
    topics::Topic,
};

impl Writer<'_> {
    /// Whether none of the sentences of `text` has been written; if so, they are now.
    pub(super) fn fresh(&mut self, text: &str) -> bool {
        let parts = crate::analyst::eval::split_sentences(text);
        if parts.iter().any(|p| self.said.contains(p)) {
            return false;
        }
        self.said.extend(parts);
        true
    }

    /// The first candidate not yet written (after the first, in this insight type's own
    /// order, see [`prefer_own`]); if all are, the section's plain fallback.
    pub(super) fn say_one(&mut self, mut candidates: Vec<String>, scope: Scope<'_>) -> String {
        prefer_own(&mut candidates, self.r.variant);
        for c in &candidates {
            if self.fresh(c) {
                return c.clone();
            }
        }
        let fallback = format!(
            "{}: nothing further stands out in {}.",
            text::capital(&scope.section.replace('_', " ")),
            text::these(self.r)
        );
        let mut s = fallback.clone();
        let mut n = 2;
        while !self.fresh(&s) {
            s = format!("{} ({n}).", fallback.trim_end_matches('.'));
            n += 1;
        }
        s
    }

    /// Up to `n` unsaid sentences from `candidates`, joined; at least one.
    ///
    /// After the first (most telling) candidate, each insight type takes the rest in its own
    /// order: the six insights of a category share one reading, and without this they would
    /// all reach for the same second sentence.
    pub(super) fn say(
        &mut self,
        mut candidates: Vec<String>,
        n: usize,
        scope: Scope<'_>,
    ) -> String {
        // An episode's own opening, or the plain "none of this here", stays first; a count or
        // a fact about the whole chat is one of several equally good openings.
        let keep_first = scope.episode.is_some()
            || candidates.first() == Some(&text::absent(self.r, scope.topic))
            || candidates
                .first()
                .is_some_and(|c| c.starts_with("Nothing in "))
            || self.r.abstains();
        if keep_first {
            prefer_own(&mut candidates, self.r.variant);
        } else {
            candidates.insert(0, String::new());
            prefer_own(&mut candidates, self.r.variant);
            candidates.remove(0);
        }
        let mut out: Vec<String> = Vec::new();
        for c in candidates {
            if out.len() >= n {
                break;
            }
            if self.fresh(&c) {
                out.push(c);
            }
        }
        if out.is_empty() {
            out.push(self.say_one(Vec::new(), scope));
        }
        out.join(" ")
    }

    /// Sentences for prose about the scope: its episode, else its person, else its topic.
    pub(super) fn candidates(&self, scope: Scope<'_>) -> Vec<String> {
        let r = self.r;
        if r.abstains() {
            let what = match scope.person {
                Some(p) => format!("{} and {}", r.name(p), scope.topic.phrase()),
                None => format!(
                    "{} ({})",
                    scope.topic.phrase(),
                    scope.section.replace('_', " ")
                ),
            };
            return vec![text::abstain(r, &what)];
        }
        let mut out = Vec::new();
        if scope.episode.is_none() && is_concern(scope.section) {
            let kinds = scope.topic.kinds();
            let bad = r.episodes.iter().any(|e| {
                kinds.contains(&e.kind)
                    && (matches!(
                        e.outcome,
                        Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                    ) || matches!(e.kind, Kind::Blocker | Kind::Pressure))
            });
            if !bad {
                out.push(format!(
                    "Nothing in {} points to {}.",
                    text::these(r),
                    scope.section.replace('_', " ")
                ));
            }
        }
        if let Some(e) = scope.episode {
            out.extend(text::episode_facts(r, &r.episodes[e]));
        }
        if let Some(p) = scope.person {
            out.extend(text::person_facts(r, scope.topic, p));
        }
        let topic = match scope.topic {
            Topic::Strengths | Topic::Advice | Topic::Overall | Topic::Moments => None,
            t => Some(t),
        };
        if let Some(t) = topic {
            out.extend(text::topic_facts(r, t));
            let kinds = t.kinds();
            let has_any = r.episodes.iter().any(|e| kinds.contains(&e.kind));
            if !has_any && t != Topic::Rhythm {
                out.insert(0, text::absent(r, t));
            }
            // A prose field takes two sentences: a few episodes (those not yet shown first)
            // give enough to choose from without writing out every one of a long chat's.
            let mut picked: Vec<usize> = (0..r.episodes.len())
                .filter(|&i| {
                    let e = &r.episodes[i];
                    kinds.contains(&e.kind) && e.kind != Kind::Bid && e.kind != Kind::Initiation
                })
                .collect();
            picked.sort_by_key(|i| self.shown.contains(i));
            for &i in picked.iter().take(CANDIDATE_EPISODES) {
                out.extend(text::episode_facts(r, &r.episodes[i]));
            }
        }
        if matches!(scope.topic, Topic::Strengths | Topic::Moments) {
            for e in r
                .episodes
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        Kind::Affection | Kind::Humour | Kind::RunningJoke | Kind::Support
                    ) || matches!(e.outcome, Outcome::Repaired { .. } | Outcome::Kept { .. })
                })
                .take(CANDIDATE_EPISODES)
            {
                out.extend(text::episode_facts(r, e));
            }
        }
        if scope.topic == Topic::Advice {
            out.extend(self.needs().into_iter().map(|n| n.1));
        }
        if scope.topic == Topic::Rhythm || out.is_empty() {
            out.extend(text::rhythm_facts(r));
            for (_, e) in r.of(Kind::Initiation).take(3) {
                out.extend(text::episode_facts(r, e));
            }
        }
        out
    }

    pub(super) fn prose(&mut self, scope: Scope<'_>, n: usize) -> String {
        let c = self.candidates(scope);
        self.say(c, n, scope)
    }
}

/// Keeps the first candidate first and orders the others in this voice's own way: a
/// different order for each of a category's six insight types (stable within a rank).
fn prefer_own(candidates: &mut [String], variant: usize) {
    if candidates.len() > 2 {
        let voice = variant % 6;
        let rank = |c: &String| {
            let h = c.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            (h % 6 + 6 - voice) % 6
        };
        candidates[1..].sort_by_key(rank);
    }
}

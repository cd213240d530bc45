//! How well a topic is doing in this chat, as a 0..=1 level and as the rating word a
//! schema's level field asks for.

use super::{Scope, Writer};
use crate::analyst::{
    reading::{Episode, Kind, Outcome},
    topics::Topic,
};

impl Writer<'_> {
    /// Episodes of the topic's first kind, and how many ended well.
    pub(super) fn tally(&self, kind: Kind) -> (usize, usize) {
        let all: Vec<&Episode> = self.r.of(kind).map(|(_, e)| e).collect();
        let good = all
            .iter()
            .filter(|e| {
                matches!(
                    e.outcome,
                    Outcome::Repaired { .. } | Outcome::Answered { .. } | Outcome::Kept { .. }
                )
            })
            .count();
        (all.len(), good)
    }

    /// 0..=1: how well the scope's topic is doing in this chat.
    pub(super) fn level(&self, scope: Scope<'_>) -> f64 {
        let r = self.r;
        let n = r.msgs.len().max(1) as f64;
        let f = &r.facts;
        match scope.topic {
            Topic::Conflict => {
                let (d, repaired) = self.tally(Kind::Disagreement);
                if d == 0 {
                    0.85
                } else {
                    (0.45 + 0.4 * repaired as f64 / d as f64 - 0.05 * (d - repaired) as f64)
                        .clamp(0.1, 0.9)
                }
            }
            Topic::Support => {
                let (s, answered) = self.tally(Kind::Support);
                if s == 0 {
                    0.6
                } else {
                    0.35 + 0.6 * answered as f64 / s as f64
                }
            }
            Topic::Affection | Topic::Moments => {
                (0.3 + r.count(Kind::Affection) as f64 / n * 4.0).min(1.0)
            }
            Topic::Appreciation => {
                let thanks = r.of(Kind::Affection).filter(|(_, e)| e.thanks).count();
                (0.3 + thanks as f64 / n * 6.0).min(1.0)
            }
            Topic::Humour | Topic::Jokes => (0.25
                + r.count(Kind::Humour) as f64 / n * 5.0
                + 0.1 * r.count(Kind::RunningJoke) as f64)
                .min(1.0),
            Topic::Plans | Topic::Decisions => {
                let (p, kept) = self.tally(Kind::Plan);
                let broken = r
                    .of(Kind::Plan)
                    .filter(|(_, e)| matches!(e.outcome, Outcome::Broken { .. }))
                    .count();
                if p == 0 {
                    0.4
                } else {
                    (0.55 + 0.35 * kept as f64 / p as f64 - 0.15 * broken as f64 / p as f64)
                        .clamp(0.1, 1.0)
                }
            }
            Topic::Pressure => {
                let k = r.count(Kind::Blocker) + r.count(Kind::Pressure);
                (0.85 - k as f64 / n * 3.0).clamp(0.2, 0.9)
            }
            Topic::Rhythm => {
                let section = scope.section;
                if section.contains("initiation") {
                    f.balance(|p| p.initiations)
                } else if ["balance", "contribution", "airtime"]
                    .iter()
                    .any(|k| section.contains(k))
                {
                    f.balance(|p| p.messages)
                } else {
                    let (b, toward) = self.tally(Kind::Bid);
                    let answered = if b == 0 {
                        0.6
                    } else {
                        toward as f64 / b as f64
                    };
                    (0.5 * f.balance(|p| p.messages) + 0.5 * answered).clamp(0.0, 1.0)
                }
            }
            Topic::Strengths | Topic::Advice | Topic::Overall => {
                // Warmth (care, laughter, support answered) against friction (disagreements,
                // worst when left open, and plans dropped), relative to the chat's length.
                let answered = r
                    .of(Kind::Support)
                    .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { .. }))
                    .count();
                let warm = (r.count(Kind::Affection) + r.count(Kind::Humour) + answered) as f64;
                let warmth = (warm / (n * 0.25)).min(1.0);
                let (d, repaired) = self.tally(Kind::Disagreement);
                let broken = r
                    .of(Kind::Plan)
                    .filter(|(_, e)| matches!(e.outcome, Outcome::Broken { .. }))
                    .count();
                let friction =
                    ((2 * (d - repaired)) as f64 + 0.5 * repaired as f64 + broken as f64) / 3.0;
                (0.5 + 0.25 * warmth - 0.3 * friction.min(1.0)).clamp(0.0, 1.0)
            }
        }
    }

    pub(super) fn level_text(&self, key: &str, scope: Scope<'_>) -> String {
        let r = self.r;
        if r.abstains() {
            return "not enough to say".to_owned();
        }
        let n = r.msgs.len().max(1);
        match (scope.topic, key) {
            (_, "confidence") => {
                let p = scope.person.unwrap_or(0);
                let k = r.love_counts(p).values().sum::<usize>();
                return match k {
                    0..=1 => "low",
                    2..=4 => "moderate",
                    _ => "high",
                }
                .to_owned();
            }
            (Topic::Conflict, _)
                if key.contains("frequency")
                    || key == "level"
                    || key == "rating"
                    || key.contains("presence") =>
            {
                let d = r.count(Kind::Disagreement);
                return match d {
                    0 => "none",
                    _ if d * 100 / n < 3 => "rare",
                    _ if d * 100 / n < 8 => "occasional",
                    _ => "frequent",
                }
                .to_owned();
            }
            (Topic::Conflict, "effectiveness") => {
                let (d, repaired) = self.tally(Kind::Disagreement);
                return match (d, repaired) {
                    (0, _) => "not tested: no disagreement to repair",
                    (d, r) if r == d => "effective: repaired",
                    (_, 0) => "not yet effective: unrepaired",
                    _ => "partly effective: some repaired",
                }
                .to_owned();
            }
            (Topic::Plans, "concrete_vs_vague" | "follow_through_assessment" | "rating") => {
                let (p, kept) = self.tally(Kind::Plan);
                return match (p, kept) {
                    (0, _) => "no plans to judge",
                    (_, 0) => "mostly open plans",
                    _ => "concrete, with plans carried out",
                }
                .to_owned();
            }
            _ => {}
        }
        let level = self.level(scope);
        let ladder: &[&str] = match key {
            "frequency" => &["very frequent", "frequent", "occasional", "rare"],
            "severity" => &["mild", "mild", "moderate", "significant"],
            "intensity" => &["strong", "moderate", "gentle", "gentle"],
            k if k.contains("balance") => &["balanced", "slightly uneven", "uneven", "uneven"],
            "stage" => &["established", "established", "growing", "early"],
            "direction" => &["mutual", "mostly mutual", "mostly one-way", "one-way"],
            _ => &["strong", "healthy", "developing", "needs attention"],
        };
        let level = if key.contains("balance") {
            r.facts.balance(|p| p.messages)
        } else {
            level
        };
        let index = ((1.0 - level) * (ladder.len() - 1) as f64).round() as usize;
        ladder[index.min(ladder.len() - 1)].to_owned()
    }
}

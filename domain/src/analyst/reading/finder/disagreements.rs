//! Disagreements: friction between two people, and whether (and how) it was repaired.

use super::Finder;
use crate::analyst::{
    cues,
    reading::{Episode, Kind, Outcome, RepairKind},
};

impl Finder<'_> {
    pub(super) fn disagreements(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        let mut i = 0;
        while i < m.len() {
            if !self.is_friction(i) {
                i += 1;
                continue;
            }
            let start = self.answered(i, 180).unwrap_or(i);
            // The window a repair may come in: two days, or 14 messages.
            let window: Vec<usize> = (i + 1..m.len())
                .take_while(|&j| m[j].at - m[i].at <= 48 * 60)
                .take(14)
                .collect();
            let repair = window.iter().copied().find_map(|j| {
                let l = &m[j].lower;
                if self.is_tense(l) && !cues::any(l, cues::APOLOGY) {
                    return None;
                }
                if cues::any(l, cues::APOLOGY) {
                    Some((j, RepairKind::Apology))
                } else if cues::any(l, cues::REASSURE) {
                    Some((j, RepairKind::Reassurance))
                } else {
                    None
                }
            });
            let reply_after = self.reply(i, 24 * 60).map(|j| m[j].at - m[i].at);
            let mut idx: Vec<usize> = (start..=i).collect();
            if let Some(j) = self.reply(i, 24 * 60) {
                idx.push(j);
            }
            let end = match repair {
                Some((j, _)) => {
                    if !idx.contains(&j) {
                        idx.push(j);
                    }
                    if let Some(k) = self.reply(j, 12 * 60)
                        && idx.len() < 5
                    {
                        idx.push(k);
                    }
                    j
                }
                None => *window.last().unwrap_or(&i),
            };
            idx.sort_unstable();
            idx.dedup();
            let mut e = self.episode(Kind::Disagreement, idx.clone(), i);
            let around: Vec<usize> = (start..=(i + 2).min(m.len() - 1)).collect();
            e.topic = self.topic(&around);
            e.reply_after = reply_after;
            e.outcome = match repair {
                Some((j, how)) => Outcome::Repaired {
                    by: m[j].person,
                    how,
                    after: m[j].at - m[i].at,
                    msg: j,
                },
                None => Outcome::Unrepaired,
            };
            out.push(e);
            // Friction inside the same stretch is the same disagreement.
            i = end.max(i) + 1;
        }
        out
    }
}

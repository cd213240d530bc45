//! Plans: something proposed for later, and whether it was kept or called off.

use super::Finder;
use crate::analyst::{
    cues,
    reading::{Episode, Kind, Outcome},
};

impl Finder<'_> {
    pub(super) fn plans(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out: Vec<Episode> = Vec::new();
        for i in 0..m.len() {
            let l = &m[i].lower;
            // A plan proposes or takes something on; a date alone ("the deadline moved up
            // again") is not one, and neither is a low or a tense moment.
            if !cues::any(l, cues::PLAN)
                || !cues::any(l, cues::PROPOSE)
                || self.is_tense(l)
                || cues::any(l, cues::LOW)
            {
                continue;
            }
            // Planning talk within two hours of a plan is the same plan.
            if out
                .last()
                .is_some_and(|e| m[i].at - m[*e.msgs.last().unwrap_or(&e.key)].at <= 120)
            {
                continue;
            }
            // Named only by a word the chat comes back to: "the dinner plan", not "the
            // matter plan".
            let topic = self.topic(&[i]).filter(|t| self.recurs(t) >= 2);
            // What became of it, within two weeks: a later message that reports it done or
            // off, about the same thing or within three days.
            let later = (i + 1..m.len()).take_while(|&j| m[j].at - m[i].at <= 14 * 24 * 60);
            let mut outcome = Outcome::Open;
            for j in later {
                if !self.broken[j] && !self.kept[j] {
                    continue;
                }
                let related = topic.as_deref().is_some_and(|t| m[j].lower.contains(t))
                    || m[j].at - m[i].at <= 72 * 60;
                if !related || m[j].at - m[i].at < 1 {
                    continue;
                }
                if self.broken[j] {
                    outcome = Outcome::Broken { msg: j };
                    break;
                }
                if self.kept[j] {
                    outcome = Outcome::Kept { msg: j };
                    break;
                }
            }
            let mut idx = vec![i];
            idx.extend(self.reply(i, 180));
            match outcome {
                Outcome::Kept { msg } | Outcome::Broken { msg } => idx.push(msg),
                _ => {}
            }
            idx.sort_unstable();
            idx.dedup();
            let mut e = self.episode(Kind::Plan, idx, i);
            e.topic = topic;
            e.outcome = outcome;
            out.push(e);
        }
        out
    }
}

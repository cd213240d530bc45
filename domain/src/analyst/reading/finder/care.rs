//! Care: support when someone is low (and whether it came), and affection and appreciation
//! by kind (the five love languages).

use super::Finder;
use crate::analyst::{
    cues,
    reading::{Episode, Kind, Love, Outcome},
};

impl Finder<'_> {
    pub(super) fn support(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        let mut last_day = String::new();
        for i in 0..m.len() {
            let l = &m[i].lower;
            if !cues::any(l, cues::LOW) || self.is_tense(l) || cues::any(l, cues::SUPPORT) {
                continue;
            }
            // One low moment per person per day.
            let day_key = format!("{}{}", m[i].day(), m[i].person);
            if day_key == last_day {
                continue;
            }
            last_day = day_key;
            let answer = (i + 1..m.len())
                .take_while(|&j| m[j].at - m[i].at <= 12 * 60)
                .filter(|&j| m[j].person != m[i].person)
                .find(|&j| {
                    cues::any(&m[j].lower, cues::SUPPORT) || cues::any(&m[j].lower, cues::APOLOGY)
                })
                .or_else(|| {
                    self.reply(i, 120)
                        .filter(|&j| cues::words(&m[j].lower).count() >= 3)
                });
            let mut idx = vec![i];
            if let Some(j) = answer {
                idx.push(j);
                if let Some(k) = self.reply(j, 6 * 60)
                    && m[k].person == m[i].person
                {
                    idx.push(k);
                }
            }
            idx.sort_unstable();
            idx.dedup();
            let mut e = self.episode(Kind::Support, idx, i);
            e.topic = cues::first(l, cues::LOW).map(str::to_owned);
            e.outcome = match answer {
                Some(j) => Outcome::Answered {
                    by: m[j].person,
                    after: m[j].at - m[i].at,
                    msg: j,
                },
                None => Outcome::Unanswered,
            };
            out.push(e);
        }
        out
    }

    pub(super) fn affection(&self) -> Vec<Episode> {
        let m = self.msgs();
        let mut out = Vec::new();
        for (i, msg) in m.iter().enumerate() {
            let l = &msg.lower;
            let love = [
                (Love::Gifts, cues::GIFTS),
                (Love::Touch, cues::TOUCH),
                (Love::Acts, cues::ACTS),
                (Love::Time, cues::TIME),
                (Love::Words, cues::WORDS),
            ]
            .into_iter()
            .find(|(_, list)| cues::any(l, list))
            .map(|(k, _)| k);
            let Some(love) = love else { continue };
            if self.is_tense(l) {
                continue;
            }
            let mut idx = Vec::new();
            idx.extend(self.answered(i, 120));
            idx.push(i);
            idx.extend(self.reply(i, 120));
            let mut e = self.episode(Kind::Affection, idx, i);
            e.love = Some(love);
            e.thanks = cues::any(l, cues::THANKS);
            out.push(e);
        }
        out
    }
}

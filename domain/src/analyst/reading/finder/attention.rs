//! Attention: who starts the conversation after a quiet spell, and bids (questions and
//! shares) and whether the other person turned toward them.

use super::Finder;
use crate::analyst::{
    cues,
    reading::{Episode, Kind, Outcome},
};

impl Finder<'_> {
    /// First messages after four quiet hours — unless they answer the message before them
    /// (a question, or a few words in reply to someone else): a late answer is not a restart.
    pub(super) fn initiations(&self) -> Vec<Episode> {
        let m = self.msgs();
        let answers = |i: usize| {
            let prev = &m[i - 1];
            prev.person != m[i].person
                && (prev.text.trim_end().ends_with('?')
                    || cues::words(&m[i].lower).count() <= 3
                    || m[i].at - prev.at < 10 * 60)
        };
        (1..m.len())
            .filter(|&i| m[i - 1].at > 0 && m[i].at - m[i - 1].at >= 4 * 60 && !answers(i))
            .map(|i| {
                let mut idx = vec![i];
                idx.extend(self.reply(i, 180));
                let mut e = self.episode(Kind::Initiation, idx, i);
                e.outcome = match self.reply(i, 180) {
                    Some(j) => Outcome::Answered {
                        by: m[j].person,
                        after: m[j].at - m[i].at,
                        msg: j,
                    },
                    None => Outcome::Unanswered,
                };
                e
            })
            .collect()
    }

    /// Questions and shares, and whether the other person turned toward them.
    pub(super) fn bids(&self) -> Vec<Episode> {
        let m = self.msgs();
        let shares = [
            "guess what",
            "look at",
            "check this",
            "did you see",
            "you won't believe",
            "how was",
            "how are you",
            "what do you think",
        ];
        (0..m.len())
            .filter(|&i| m[i].text.contains('?') || cues::any(&m[i].lower, &shares))
            .filter(|&i| !self.is_tense(&m[i].lower))
            .map(|i| {
                let reply = self.reply(i, 180);
                let mut idx = vec![i];
                idx.extend(reply);
                let mut e = self.episode(Kind::Bid, idx, i);
                e.outcome = match reply {
                    Some(j)
                        if !cues::any(
                            &m[j].lower,
                            &["whatever", "not now", "so what", "stop", "leave it"],
                        ) =>
                    {
                        Outcome::Answered {
                            by: m[j].person,
                            after: m[j].at - m[i].at,
                            msg: j,
                        }
                    }
                    _ => Outcome::Unanswered,
                };
                e
            })
            .collect()
    }
}

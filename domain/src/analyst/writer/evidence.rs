//! Which episodes and messages a section shows: the scope's topic and person pick the
//! episodes (those not shown yet first), and evidence lists, exchanges and turns are built
//! from their messages, widened or filled only to meet a schema's minimum.

use serde_json::{Map, Value};

use super::{Scope, Writer, is_concern, property_names};
use crate::analyst::{
    reading::{Episode, Kind, Outcome},
    text,
    topics::Topic,
};

impl Writer<'_> {
    /// Up to `want` episodes for the scope: of its topic's kinds, involving its person, not yet
    /// shown first, in time order.
    pub(super) fn episodes(&mut self, scope: Scope<'_>, want: usize) -> Vec<usize> {
        if want == 0 {
            return Vec::new();
        }
        let r = self.r;
        let kinds = scope.topic.kinds();
        let fits = |e: &Episode| {
            kinds.contains(&e.kind)
                && scope.person.is_none_or(|p| r.involves(e, p))
                && match scope.topic {
                    Topic::Appreciation => e.thanks,
                    Topic::Moments | Topic::Strengths => matches!(
                        e.outcome,
                        Outcome::None | Outcome::Repaired { .. } | Outcome::Answered { .. }
                    ),
                    Topic::Advice => matches!(
                        e.outcome,
                        Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                    ),
                    _ => true,
                }
                // A section about a problem (destructive patterns, trust gaps …) shows only
                // episodes that went badly.
                && (!is_concern(scope.section)
                    || matches!(
                        e.outcome,
                        Outcome::Unrepaired | Outcome::Unanswered | Outcome::Broken { .. }
                    )
                    || matches!(e.kind, Kind::Blocker | Kind::Pressure))
        };
        let mut ranked: Vec<(usize, usize, usize)> = r
            .episodes
            .iter()
            .enumerate()
            .filter(|(_, e)| fits(e))
            .map(|(i, e)| {
                let kind_rank = kinds.iter().position(|k| *k == e.kind).unwrap_or(9);
                (usize::from(self.shown.contains(&i)), kind_rank, i)
            })
            .collect();
        ranked.sort_unstable();
        let chosen: Vec<usize> = ranked.into_iter().take(want).map(|(_, _, i)| i).collect();
        self.shown.extend(chosen.iter().copied());
        chosen
    }

    /// Episodes of any kind (for a minimum the topic alone cannot meet).
    pub(super) fn any_episodes(
        &mut self,
        scope: Scope<'_>,
        want: usize,
        except: &[usize],
    ) -> Vec<usize> {
        let r = self.r;
        let chosen: Vec<usize> = (0..r.episodes.len())
            .filter(|i| !except.contains(i))
            .filter(|&i| scope.person.is_none_or(|p| r.involves(&r.episodes[i], p)))
            .filter(|&i| r.episodes[i].kind != Kind::Bid)
            .take(want)
            .collect();
        self.shown.extend(chosen.iter().copied());
        chosen
    }

    /// The messages of an exchange: the scope's episode (or a fresh one), at most `max`, the
    /// person's own message kept in.
    pub(super) fn exchange_msgs(&mut self, scope: Scope<'_>, max: usize) -> Vec<usize> {
        let r = self.r;
        let e = scope
            .episode
            .or_else(|| self.episodes(scope, 1).first().copied())
            .or_else(|| self.any_episodes(scope, 1, &[]).first().copied());
        match e {
            Some(e) => {
                let ep = &r.episodes[e];
                let mut msgs = ep.msgs.clone();
                if msgs.len() > max {
                    // Keep the key message and what follows it.
                    let at = msgs.iter().position(|&m| m == ep.key).unwrap_or(0);
                    let start = at.saturating_sub(1).min(msgs.len() - max);
                    msgs = msgs[start..start + max].to_vec();
                }
                msgs
            }
            None => self.fallback_msgs(scope.person, 1),
        }
    }

    /// Messages for a list of single-message evidence: the key messages of the topic's
    /// episodes (the person's own, under a person), at least `min`.
    pub(super) fn evidence_msgs(
        &mut self,
        scope: Scope<'_>,
        want: usize,
        min: usize,
    ) -> Vec<usize> {
        let r = self.r;
        let mut out: Vec<usize> = Vec::new();
        let own = |m: usize| scope.person.is_none_or(|p| r.msgs[m].person == p);
        let episodes: Vec<usize> = match scope.episode {
            Some(e) => vec![e],
            None if r.abstains() => Vec::new(),
            None => self.episodes(scope, want.max(1) * 2),
        };
        for e in episodes {
            let ep = &r.episodes[e];
            let pick = if own(ep.key) {
                Some(ep.key)
            } else {
                ep.msgs.iter().copied().find(|&m| own(m))
            };
            if let Some(m) = pick
                && !out.contains(&m)
                && out.len() < want
            {
                out.push(m);
            }
        }
        if out.len() < min {
            for m in self.fallback_msgs(scope.person, min) {
                if out.len() < min && !out.contains(&m) {
                    out.push(m);
                }
            }
            // Fewer messages than the minimum: the same ones again.
            let have = out.len();
            for i in 0..min.saturating_sub(have) {
                if have > 0 {
                    out.push(out[i % have]);
                }
            }
        }
        out
    }

    /// Any real messages (the person's own, if there is a person): only to meet a schema's
    /// minimum.
    pub(super) fn fallback_msgs(&self, person: Option<usize>, n: usize) -> Vec<usize> {
        let r = self.r;
        let mut picks: Vec<usize> = (0..r.msgs.len())
            .filter(|&m| person.is_none_or(|p| r.msgs[m].person == p))
            .collect();
        // Longer messages say more about their writer.
        picks.sort_by_key(|&m| std::cmp::Reverse(r.msgs[m].text.chars().count().min(200)));
        picks.truncate(n);
        picks.sort_unstable();
        // A person with fewer messages than the schema's minimum: the same ones again.
        let have = picks.len();
        for i in 0..n.saturating_sub(have) {
            if have > 0 {
                picks.push(picks[i % have]);
            }
        }
        picks
    }

    /// `msgs` widened with the messages around them until it has `min` (for an exchange
    /// the schema wants longer than the episode).
    pub(super) fn widen(&self, mut msgs: Vec<usize>, min: usize) -> Vec<usize> {
        let total = self.r.msgs.len();
        let mut step = 1;
        while msgs.len() < min && step <= total {
            let (first, last) = (msgs.first().copied(), msgs.last().copied());
            if let Some(l) = last
                && l + step < total
                && !msgs.contains(&(l + step))
            {
                msgs.push(l + step);
            } else if let Some(f) = first
                && f >= step
                && !msgs.contains(&(f - step))
            {
                msgs.insert(0, f - step);
            }
            step += 1;
        }
        msgs.sort_unstable();
        msgs.dedup();
        while msgs.len() < min && !msgs.is_empty() {
            msgs.push(msgs[msgs.len() - 1]);
        }
        msgs
    }

    pub(super) fn turn(&mut self, items: &Value, m: usize, scope: Scope<'_>) -> Value {
        let msg = &self.r.msgs[m];
        let mut out = Map::new();
        for name in property_names(items) {
            let value = match name.as_str() {
                "message" => Value::String(msg.text.clone()),
                "speaker" => Value::String(msg.speaker.clone()),
                "timestamp" => Value::String(msg.timestamp.clone()),
                "context" => Value::String(self.message_context(m, scope)),
                other => match items.pointer(&format!("/properties/{other}")) {
                    Some(sub) => {
                        let e = scope.episode.or_else(|| self.episode_of(m));
                        self.fill(
                            sub,
                            other,
                            Scope {
                                episode: e,
                                ..scope
                            },
                        )
                    }
                    None => Value::Null,
                },
            };
            out.insert(name, value);
        }
        Value::Object(out)
    }

    pub(super) fn episode_of(&self, m: usize) -> Option<usize> {
        self.r
            .episodes
            .iter()
            .position(|e| e.key == m && e.kind != Kind::Bid)
            .or_else(|| {
                self.r
                    .episodes
                    .iter()
                    .position(|e| e.msgs.contains(&m) && e.kind != Kind::Bid)
            })
    }

    /// Why one message was chosen.
    pub(super) fn message_context(&mut self, m: usize, scope: Scope<'_>) -> String {
        let r = self.r;
        let msg = &r.msgs[m];
        let when = text::date(&msg.timestamp);
        let candidates = match scope.episode.or_else(|| self.episode_of(m)) {
            Some(e) => {
                let ep = &r.episodes[e];
                let name = text::name_of(r, ep);
                let who = &msg.speaker;
                let mut c = vec![
                    format!("{who} writes this during {name}."),
                    format!("From {name}, in {who}'s words ({when})."),
                    format!("{who}'s words at {name}."),
                    format!("{who}, at {name}."),
                    format!("Part of {name}, written by {who}."),
                    format!("{who} on {when}, during {name}."),
                ];
                c.rotate_left(r.variant % 6);
                c
            }
            None => vec![format!(
                "An everyday message from {} on {when}; nothing here bears on {} directly.",
                msg.speaker,
                scope.topic.phrase()
            )],
        };
        self.say_one(candidates, scope)
    }
}

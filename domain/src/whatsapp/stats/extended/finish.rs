//! Turning the accumulator into the report once the pass is over: medians and
//! percentiles of reply gaps, streaks and silences, the top tables, and distinctive words.
//! Runs once per chat, not per message.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    Conversation, Counted, Distinctive, DomainCount, Extended, ExtendedAcc, MAX_PEOPLE_REPORTED,
    MonthResponse, Named, Person, REPLY_MATRIX_PEOPLE, ResponseTimes, Span, Streaks,
    TOP_DISTINCTIVE, TOP_DOMAINS, month_name,
};
use crate::whatsapp::cli::iso_string;

impl ExtendedAcc {
    /// The finished object. `words` gives, per participant, the (word, count) pairs and
    /// the chat-wide counts for the distinctive-word scores.
    pub(crate) fn finish(
        mut self,
        names: &[String],
        words: &dyn Fn(usize) -> Vec<(u32, u32)>,
        word_total: &dyn Fn(u32) -> u32,
        word_name: &dyn Fn(u32) -> String,
    ) -> Extended {
        if let Some((t, uid)) = self.prev {
            self.people[uid].endings += 1;
            self.close_conversation(t);
            if let Some((_, quid, n)) = self.open_questions {
                self.people[quid].unanswered += n;
            }
        }
        // Most active first, ties in order of first appearance.
        let mut order: Vec<usize> = (0..self.people.len()).collect();
        order.sort_by_key(|&u| std::cmp::Reverse(self.people[u].messages));
        order.retain(|&u| self.people[u].messages > 0);
        let reported: Vec<usize> = order.iter().copied().take(MAX_PEOPLE_REPORTED).collect();
        let named = |f: &dyn Fn(usize) -> u64| {
            Named(
                reported
                    .iter()
                    .map(|&u| (names[u].clone(), f(u)))
                    .collect::<Vec<_>>(),
            )
        };
        let people = &self.people;
        let response_times = Named(
            reported
                .iter()
                .map(|&u| (names[u].clone(), response_times(&people[u])))
                .collect(),
        );
        let monthly_messages = Named(
            reported
                .iter()
                .map(|&u| {
                    let months = people[u]
                        .months
                        .iter()
                        .fold(BTreeMap::new(), |mut m, (id, n)| {
                            *m.entry(month_name(*id)).or_insert(0) += n;
                            m
                        });
                    (names[u].clone(), months)
                })
                .collect(),
        );
        let matrix_people: Vec<usize> = order.iter().copied().take(REPLY_MATRIX_PEOPLE).collect();
        let reply_matrix = if self.group {
            Named(
                matrix_people
                    .iter()
                    .map(|&from| {
                        let row = matrix_people
                            .iter()
                            .filter(|&&to| to != from)
                            .map(|&to| {
                                let n = self.replies.get(&(from as u32, to as u32)).copied();
                                (names[to].clone(), u64::from(n.unwrap_or(0)))
                            })
                            .collect();
                        (names[from].clone(), Named(row))
                    })
                    .collect(),
            )
        } else {
            Named::default()
        };
        let per_person_words: Vec<(usize, Vec<(u32, u32)>)> =
            reported.iter().map(|&u| (u, words(u))).collect();
        let chat_words: u64 = per_person_words
            .iter()
            .flat_map(|(_, w)| w.iter().map(|&(_, c)| u64::from(c)))
            .sum();
        let unique_words = Named(
            per_person_words
                .iter()
                .map(|(u, w)| (names[*u].clone(), w.len() as u64))
                .collect(),
        );
        let distinctive_words = Named(
            per_person_words
                .iter()
                .map(|(u, w)| {
                    let list = distinctive(w, chat_words, word_total, word_name);
                    (names[*u].clone(), list)
                })
                .collect(),
        );
        let mut domains: Vec<(Box<str>, (u64, u32))> = self.domains.into_iter().collect();
        domains.sort_unstable_by_key(|(_, (c, seq))| (std::cmp::Reverse(*c), *seq));
        let mut links_by_domain: Vec<DomainCount> = domains
            .into_iter()
            .take(TOP_DOMAINS)
            .map(|(d, (count, _))| DomainCount {
                domain: d.into(),
                count,
            })
            .collect();
        if self.other_domains > 0 {
            links_by_domain.push(DomainCount {
                domain: "other".to_owned(),
                count: self.other_domains,
            });
        }
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        Extended {
            platform: "whatsapp",
            chat_name: None,
            response_times,
            weekday_hour: self.weekday_hour,
            streaks: Streaks {
                active_days: self.active_days,
                longest_days: self.best_run.0,
                longest_start: day(self.best_run.1),
                longest_end: day(self.best_run.2),
                last_days: self.run.0,
            },
            longest_silence: self.silence.filter(|s| s.0 > 0).map(|(s, a, b)| Span {
                seconds: s,
                start: iso_string(a),
                end: iso_string(b),
            }),
            longest_conversation: self.best_conv.map(|(n, a, b)| Conversation {
                messages: n,
                span: Span {
                    seconds: (b - a).num_seconds(),
                    start: iso_string(a),
                    end: iso_string(b),
                },
            }),
            monthly_messages,
            conversation_endings: named(&|u| people[u].endings),
            unanswered_questions: named(&|u| people[u].unanswered),
            media_by_type: self.media,
            calls: self.calls,
            links_by_domain,
            polls: Counted {
                total: self.polls,
                by_person: named(&|u| people[u].polls),
            },
            locations: Counted {
                total: self.locations,
                by_person: named(&|u| people[u].locations),
            },
            reply_matrix,
            unique_words,
            distinctive_words,
        }
    }
}

/// Median (lower middle) and 90th percentile (nearest rank) of sorted values.
fn median_p90(sorted: &[u16]) -> Option<(u32, u32)> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let median = sorted[(n - 1) / 2];
    let p90 = sorted[(n * 9).div_ceil(10).saturating_sub(1)];
    Some((u32::from(median), u32::from(p90)))
}

fn response_times(p: &Person) -> ResponseTimes {
    let mut by_month = BTreeMap::new();
    for (i, &(month, start)) in p.gap_months.iter().enumerate() {
        let end = p
            .gap_months
            .get(i + 1)
            .map_or(p.gaps.len(), |(_, e)| *e as usize);
        let mut seg = p.gaps[start as usize..end].to_vec();
        seg.sort_unstable();
        if let Some((median, p90)) = median_p90(&seg) {
            by_month.insert(
                month_name(month),
                MonthResponse {
                    count: seg.len() as u64,
                    median_seconds: median,
                    p90_seconds: p90,
                },
            );
        }
    }
    let mut all = p.gaps.clone();
    all.sort_unstable();
    let mp = median_p90(&all);
    ResponseTimes {
        count: all.len() as u64,
        median_seconds: mp.map(|m| m.0),
        p90_seconds: mp.map(|m| m.1),
        by_month,
    }
}

fn distinctive(
    words: &[(u32, u32)],
    chat_words: u64,
    word_total: &dyn Fn(u32) -> u32,
    word_name: &dyn Fn(u32) -> String,
) -> Vec<Distinctive> {
    let mine: u64 = words.iter().map(|&(_, c)| u64::from(c)).sum();
    if mine == 0 || chat_words == 0 {
        return Vec::new();
    }
    let share = mine as f64 / chat_words as f64;
    let mut scored: Vec<(f64, u32, u32)> = words
        .iter()
        .filter(|&&(_, c)| c >= 3)
        .map(|&(id, c)| {
            let expected = f64::from(word_total(id)) * share;
            let c_f = f64::from(c);
            (c_f * ((c_f + 1.0) / (expected + 1.0)).ln(), id, c)
        })
        .filter(|(s, _, _)| *s > 0.0)
        .collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(TOP_DISTINCTIVE)
        .map(|(score, id, count)| Distinctive {
            word: word_name(id),
            count: u64::from(count),
            score: super::super::round2(score),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(median_p90(&[]), None);
        assert_eq!(median_p90(&[5]), Some((5, 5)));
        let v: Vec<u16> = (1..=10).collect();
        assert_eq!(median_p90(&v), Some((5, 9)));
        let v: Vec<u16> = (1..=11).collect();
        assert_eq!(median_p90(&v), Some((6, 10)));
    }
}

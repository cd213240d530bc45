//! Sentences about a topic across the chat: how many episodes of its kinds, how they
//! ended, and the shares behind them.

use super::{capital, plural, share, these, vary};
use crate::analyst::{
    reading::{Episode, Kind, Outcome, Reading},
    topics::Topic,
};

/// Counting sentences for a topic over the whole chat.
pub(crate) fn topic_facts(r: &Reading, topic: Topic) -> Vec<String> {
    let n = these(r);
    let people = r.facts.people.len();
    let mut out = Vec::new();
    match topic {
        Topic::Conflict => {
            let all: Vec<&Episode> = r.of(Kind::Disagreement).map(|(_, e)| e).collect();
            if !all.is_empty() {
                let repaired = all
                    .iter()
                    .filter(|e| matches!(e.outcome, Outcome::Repaired { .. }))
                    .count();
                out.push(format!(
                    "{} in {n}, and {} repaired within a day or two.",
                    capital(&plural(
                        all.len(),
                        "disagreement shows up",
                        "disagreements show up"
                    )),
                    if repaired == all.len() {
                        "every one".to_owned()
                    } else {
                        share(repaired, all.len())
                    }
                ));
                for p in 0..people {
                    let made = all
                        .iter()
                        .filter(|e| matches!(e.outcome, Outcome::Repaired { by, .. } if by == p))
                        .count();
                    if made > 0 {
                        out.push(format!(
                            "{} makes the first repair move {} time{}.",
                            r.name(p),
                            made,
                            if made == 1 { "" } else { "s" }
                        ));
                    }
                }
            }
        }
        Topic::Support => {
            let all: Vec<&Episode> = r.of(Kind::Support).map(|(_, e)| e).collect();
            if !all.is_empty() {
                let answered = all
                    .iter()
                    .filter(|e| matches!(e.outcome, Outcome::Answered { .. }))
                    .count();
                let k = plural(all.len(), "moment", "moments");
                out.push(vary(r, 30, vec![
                    format!("{answered} of the {k} when someone said they were low got a caring reply."),
                    format!("Low moments here: {}, {answered} answered with care.", all.len()),
                    format!("When someone said they were struggling ({k}), a caring reply came {answered} times."),
                ]));
            }
        }
        Topic::Affection | Topic::Appreciation => {
            let thanks_only = topic == Topic::Appreciation;
            for p in 0..people {
                let mine: Vec<&Episode> = r
                    .of(Kind::Affection)
                    .map(|(_, e)| e)
                    .filter(|e| e.lead == p && (!thanks_only || e.thanks))
                    .collect();
                if mine.is_empty() {
                    let what = if thanks_only { "thanks" } else { "affection" };
                    let name = r.name(p);
                    out.push(vary(
                        r,
                        8 + p,
                        vec![
                            format!("{name} puts {what} into words less often in {n}."),
                            format!("Little {what} from {name} is written out in {n}."),
                        ],
                    ));
                    continue;
                }
                let who = r.name(p);
                if thanks_only {
                    let t = plural(mine.len(), "time", "times");
                    out.push(vary(
                        r,
                        34 + p,
                        vec![
                            format!("{who} thanks or praises the others {t}."),
                            format!("Thanks or praise from {who}: {t}."),
                        ],
                    ));
                } else if let Some((love, k)) = r.main_love(p) {
                    let (how, all) = (love.short(), mine.len());
                    out.push(vary(r, 36 + p, vec![
                        format!("{who} shows care mostly through {how} ({k} of {all} affectionate messages)."),
                        format!("Most of {who}'s care comes as {how}: {k} of {all} warm messages."),
                        format!("{how} is {who}'s way, in {k} of {all} affectionate messages.", how = capital(how)),
                    ]));
                }
            }
        }
        Topic::Humour | Topic::Jokes => {
            let all: Vec<&Episode> = r.of(Kind::Humour).map(|(_, e)| e).collect();
            if !all.is_empty() {
                for p in 0..people {
                    let k = all.iter().filter(|e| e.lead == p).count();
                    if k > 0 {
                        out.push(format!(
                            "{} sparks {} of the {} playful moments.",
                            r.name(p),
                            k,
                            all.len()
                        ));
                    }
                }
            }
            let jokes = r.count(Kind::RunningJoke);
            if jokes > 0 {
                out.push(format!(
                    "{} recur across days, the stuff inside jokes are made of.",
                    capital(&plural(jokes, "phrase", "phrases"))
                ));
            }
        }
        Topic::Plans | Topic::Decisions => {
            let all: Vec<&Episode> = r.of(Kind::Plan).map(|(_, e)| e).collect();
            if !all.is_empty() {
                let kept = all
                    .iter()
                    .filter(|e| matches!(e.outcome, Outcome::Kept { .. }))
                    .count();
                let broken = all
                    .iter()
                    .filter(|e| matches!(e.outcome, Outcome::Broken { .. }))
                    .count();
                let k = all.len();
                out.push(vary(r, 31, vec![
                    format!("{} in {n}: {kept} seen through, {broken} dropped, the rest still open.", capital(&plural(k, "plan or commitment is made", "plans or commitments are made"))),
                    format!("Of {} here, {kept} happened and {broken} fell through.", plural(k, "plan", "plans")),
                    format!("Follow-through in numbers: {} made, {kept} kept, {broken} dropped.", plural(k, "plan", "plans")),
                ]));
                for p in 0..people {
                    let k = all.iter().filter(|e| e.lead == p).count();
                    if k > 0 {
                        let who = r.name(p);
                        out.push(vary(
                            r,
                            32 + p,
                            vec![
                                format!("{who} proposes {k} of them."),
                                format!("{k} of those plans come from {who}."),
                            ],
                        ));
                    }
                }
            }
            if topic == Topic::Decisions {
                let d = r.count(Kind::Decision);
                if d > 0 {
                    out.push(format!(
                        "{} a decision out loud.",
                        capital(&plural(d, "message settles", "messages settle"))
                    ));
                }
            }
        }
        Topic::Pressure => {
            let b = r.count(Kind::Blocker);
            let p = r.count(Kind::Pressure);
            if b + p > 0 {
                out.push(format!(
                    "{} and {} of urgency or late work show up in {n}.",
                    capital(&plural(b, "blocker", "blockers")),
                    plural(p, "sign", "signs")
                ));
            }
        }
        Topic::Rhythm | Topic::Moments | Topic::Strengths | Topic::Advice | Topic::Overall => {}
    }
    out
}

//! Recommendations: every suggestion the reading supports (concerns first, then ways to
//! build on what works), ranked with this insight's topics first and computed once.

use super::{Need, Scope, Writer};
use crate::analyst::{
    reading::{Episode, Kind, Outcome},
    text,
    topics::Topic,
};

impl Writer<'_> {
    /// What this chat could use, most pressing first and those on this insight's topics
    /// before the rest: (title, suggestion, who).
    pub(super) fn needs(&self) -> Vec<Need> {
        self.needs.get_or_init(|| self.rank_needs()).clone()
    }

    pub(super) fn rank_needs(&self) -> Vec<Need> {
        let mut tagged = self.all_needs();
        let rank = |t: Topic| {
            self.focus
                .iter()
                .position(|f| *f == t)
                .unwrap_or(usize::MAX)
        };
        tagged.sort_by_key(|(t, ..)| rank(*t));
        // The needs off this insight's topics come in an order of its own, so the insights of a
        // category do not all close on the same advice.
        let on = tagged
            .iter()
            .filter(|(t, ..)| rank(*t) != usize::MAX)
            .count();
        if tagged.len() > on + 1 {
            let turn = self.r.variant % (tagged.len() - on);
            tagged[on..].rotate_left(turn);
        }
        tagged.into_iter().map(|(_, a, b, c)| (a, b, c)).collect()
    }

    /// Every suggestion this reading supports, tagged with its topic. Concerns first (an
    /// open disagreement, a low moment left alone, a dropped plan), then ways to build on
    /// what already works, each about something specific in the chat.
    pub(super) fn all_needs(&self) -> Vec<(Topic, String, String, Vec<usize>)> {
        let r = self.r;
        let names = r.facts.names();
        let people = r.facts.people.len();
        let everyone: Vec<usize> = (0..people).collect();
        let mut out = Vec::new();
        if r.abstains() {
            out.push((
                Topic::Rhythm,
                "Come back with more to read".to_owned(),
                format!("A longer stretch of the chat between {names} would give this reading something fair to work with."),
                everyone.clone(),
            ));
            return out;
        }
        for (_, e) in r
            .of(Kind::Disagreement)
            .filter(|(_, e)| e.outcome == Outcome::Unrepaired)
        {
            out.push((
                Topic::Conflict,
                format!("Return to {}", text::name_of(r, e)),
                format!(
                    "{} could come back to {} when both are calm and ask what would have felt fair, since it is left open in these messages.",
                    r.name(e.lead),
                    text::name_of(r, e)
                ),
                vec![e.lead],
            ));
        }
        for (_, e) in r
            .of(Kind::Support)
            .filter(|(_, e)| e.outcome == Outcome::Unanswered)
        {
            let other = (e.lead + 1) % people.max(1);
            out.push((
                Topic::Support,
                format!("Answering {}'s low moments", r.name(e.lead)),
                format!(
                    "When {} writes about a hard day, {} could answer the feeling first, before any plan or fix.",
                    r.name(e.lead),
                    r.name(other)
                ),
                vec![other],
            ));
        }
        for (_, e) in r
            .of(Kind::Plan)
            .filter(|(_, e)| matches!(e.outcome, Outcome::Broken { .. }))
        {
            out.push((
                Topic::Plans,
                format!("Rescheduling {}", text::name_of(r, e)),
                {
                    let n = text::name_of(r, e);
                    text::vary(r, 11, vec![
                        format!("{names} could put a new date on {n} instead of letting it lapse."),
                        format!("Rather than let {n} lapse, {names} could pick a new date for it now."),
                    ])
                },
                everyone.clone(),
            ));
        }
        let f = &r.facts;
        if people >= 2 {
            let counts = r.initiation_counts();
            let quiet = (0..people).min_by_key(|&p| counts[p]).unwrap_or(0);
            let busy = (0..people).max_by_key(|&p| counts[p]).unwrap_or(0);
            if counts[busy] >= 2 * counts[quiet].max(1) && quiet != busy {
                out.push((
                    Topic::Rhythm,
                    format!("{} starting the next conversation", r.name(quiet)),
                    format!(
                        "{} could be the one to reach out first a couple of times this week; {} opens {} of the conversations here.",
                        r.name(quiet),
                        r.name(busy),
                        counts[busy]
                    ),
                    vec![quiet],
                ));
            }
        }
        for p in 0..people {
            let thanks = r
                .of(Kind::Affection)
                .filter(|(_, e)| e.lead == p && e.thanks)
                .count();
            if thanks == 0 {
                out.push((
                    Topic::Appreciation,
                    format!("{} saying thanks out loud", r.name(p)),
                    {
                        let who = r.name(p);
                        text::vary(r, 12 + p, vec![
                            format!("{who} could name one specific thing the others did this week and thank them for it."),
                            format!("Once this week, {who} could thank the others for one particular thing they did, by name."),
                            format!("{who} could say thank you for something specific the next time it happens, not just \u{201c}thanks\u{201d}."),
                        ])
                    },
                    vec![p],
                ));
            }
        }
        // Building on what works.
        if let Some((_, e)) = r
            .of(Kind::Disagreement)
            .find(|(_, e)| matches!(e.outcome, Outcome::Repaired { .. }))
        {
            out.push((
                Topic::Conflict,
                "Keep repairing early".to_owned(),
                {
                    let n = text::name_of(r, e);
                    text::vary(r, 13, vec![
                        format!("{names} could keep doing what worked after {n}: name the hurt, own your part and come back within a day."),
                        format!("What ended {n} is worth repeating: say what hurt, own your share, and come back soon."),
                        format!("The next friction can go the way {n} did, with one of them reaching out within a day."),
                    ])
                },
                everyone.clone(),
            ));
        } else if r.count(Kind::Disagreement) == 0 {
            out.push((
                Topic::Conflict,
                "Agree how to disagree".to_owned(),
                text::vary(r, 14, vec![
                    format!("With no disagreement in these messages, {names} could agree now on a simple signal for \u{201c}I need a pause\u{201d} for when one does come."),
                    format!("While things are calm, {names} could agree how they want to handle a disagreement when one comes."),
                    format!("No friction shows here, which makes now a good time for {names} to say how each likes to be approached when upset."),
                ]),
                everyone.clone(),
            ));
        }
        if let Some((_, e)) = r
            .of(Kind::Support)
            .find(|(_, e)| matches!(e.outcome, Outcome::Answered { .. }))
        {
            out.push((
                Topic::Support,
                "Check in before the hard day".to_owned(),
                {
                    let n = text::name_of(r, e);
                    text::vary(r, 15, vec![
                        format!("After {n}, a short message the morning of the next big day would show the same care before it is asked for."),
                        format!("The care shown at {n} could come earlier next time: a note before the hard day, not only after."),
                        format!("Remembering what {n} was about and asking how it went later keeps that support going."),
                    ])
                },
                everyone.clone(),
            ));
        } else {
            out.push((
                Topic::Support,
                "Ask how the other is really doing".to_owned(),
                text::vary(r, 16, vec![
                    format!("{names} could ask one \u{201c}how are you really?\u{201d} this week and leave room for a long answer."),
                    format!("One unhurried check-in this week, with time for a real answer, would help {names}."),
                ]),
                everyone.clone(),
            ));
        }
        match r.of(Kind::RunningJoke).next() {
            Some((_, e)) => out.push((
                Topic::Jokes,
                format!("Keep {} alive", text::name_of(r, e)),
                {
                    let ph = e.phrase.as_deref().unwrap_or("");
                    text::vary(r, 17, vec![
                        format!("{names} could bring back \u{201c}{ph}\u{201d} the next time one of them needs cheering up."),
                        format!("\u{201c}{ph}\u{201d} is theirs alone; {names} could use it on a hard day, not only a good one."),
                        format!("Keeping \u{201c}{ph}\u{201d} going is an easy way for {names} to stay close."),
                    ])
                },
                everyone.clone(),
            )),
            None if r.count(Kind::Humour) == 0 => out.push((
                Topic::Humour,
                "Making room for play".to_owned(),
                text::vary(r, 26, vec![
                    format!("{names} could share one thing that made them laugh today; no joking shows up in these messages."),
                    format!("No laughter shows up here, so {names} could send each other one funny thing this week."),
                    format!("A little play would suit {names}: a silly photo or an old joke, once this week."),
                ]),
                everyone.clone(),
            )),
            None => out.push((
                Topic::Humour,
                "Turn a laugh into a tradition".to_owned(),
                format!("{names} could pick one of their jokes from these messages and make it theirs, so it comes back."),
                everyone.clone(),
            )),
        }
        let open: Vec<&Episode> = r
            .of(Kind::Plan)
            .map(|(_, e)| e)
            .filter(|e| e.outcome == Outcome::Open)
            .collect();
        match (open.first(), r.count(Kind::Plan)) {
            (Some(e), _) => out.push((
                Topic::Plans,
                format!("Closing the loop on {}", text::name_of(r, e)),
                {
                    let who = r.name(e.lead);
                    let n = text::name_of(r, e);
                    text::vary(r, 18, vec![
                        format!("{who} could follow up on {n} with a day and a time, so it does not drift."),
                        format!("{n} has no outcome in these messages; {who} could give it a date."),
                        format!("A quick \u{201c}are we still on?\u{201d} from {who} would keep {n} from fading."),
                    ])
                },
                vec![e.lead],
            )),
            (None, 0) => out.push((
                Topic::Plans,
                "Putting a plan on the calendar".to_owned(),
                format!("{names} could pick one small thing to do together and fix a day for it."),
                everyone.clone(),
            )),
            (None, _) => out.push((
                Topic::Plans,
                "Plan the next one".to_owned(),
                text::vary(r, 19, vec![
                    format!("The plans in these messages happened; {names} could set the next one before this week ends."),
                    format!("Since their plans get carried out, {names} could afford a slightly bigger one next."),
                ]),
                everyone.clone(),
            )),
        }
        for p in 0..people {
            if let Some((love, _)) = r.main_love(p) {
                let other = (p + 1) % people.max(1);
                if other != p {
                    out.push((
                        Topic::Affection,
                        format!("Speaking {}'s language", r.name(p)),
                        {
                            let (who, how, to) = (r.name(p), love.short(), r.name(other));
                            text::vary(r, 25 + p, vec![
                                format!("{who} shows care through {how}; {to} could answer in kind once this week, and say out loud that it was noticed."),
                                format!("{to} could meet {who} in {who}'s own language, {how}, at least once this week."),
                                format!("When {who} offers {how}, {to} could name it: it tells {who} the effort landed."),
                            ])
                        },
                        vec![other],
                    ));
                }
            }
        }
        if r.count(Kind::Decision) > 0 || r.count(Kind::Blocker) > 0 {
            out.push((
                Topic::Decisions,
                "Write decisions down".to_owned(),
                text::vary(r, 20, vec![
                    format!("{names} could end each decision with one line saying who does what by when."),
                    format!("A one-line recap after each decision (owner, task, date) would help {names}."),
                    format!("Closing a decision with \u{201c}so X does Y by Z\u{201d} leaves {names} nothing to guess."),
                ]),
                everyone.clone(),
            ));
            out.push((
                Topic::Pressure,
                "Flag blockers the same day".to_owned(),
                text::vary(r, 21, vec![
                    format!("{names} could keep raising blockers the day they appear, as in these messages, and say when help is no longer needed."),
                    format!("Flagging blockers early works here; {names} could also say when one is cleared."),
                ]),
                everyone.clone(),
            ));
        } else {
            out.push((
                Topic::Decisions,
                "Say who decides".to_owned(),
                text::vary(r, 22, vec![
                    format!("{names} could say out loud who makes the call on the next shared decision, so nothing waits on a guess."),
                    format!("Naming who decides, before the next choice comes up, would save {names} a round of back and forth."),
                ]),
                everyone.clone(),
            ));
        }
        let moments = r.count(Kind::Affection) + r.count(Kind::Humour);
        out.push((
            Topic::Moments,
            "Save the good moments".to_owned(),
            text::vary(r, 23, vec![
                format!("{names} could bring up one of the {moments} warm or funny moments here the next time they talk; remembering them together is part of the bond."),
                format!("Looking back together at one of the {moments} good moments in these messages is a small, warm thing {names} could do."),
                format!("{names} could screenshot one of these {moments} good moments and send it back someday."),
            ]),
            everyone.clone(),
        ));
        out.push((
            Topic::Rhythm,
            "Ask one more question".to_owned(),
            text::vary(r, 24, vec![
                format!("{names} could follow one reply this week with a real question about the other's day."),
                format!("Asking one follow-up question, instead of just reacting, would deepen {names}'s back and forth."),
                format!("Next time a message shares news, {names} could ask one more thing about it."),
            ]),
            everyone.clone(),
        ));
        let _ = f;
        out
    }

    pub(super) fn suggestion(&mut self, scope: Scope<'_>) -> String {
        let needs = self.needs();
        let c: Vec<String> = needs
            .iter()
            .cycle()
            .skip(scope.slot % needs.len().max(1))
            .take(needs.len())
            .map(|n| n.1.clone())
            .collect();
        self.say_one(c, scope)
    }
}

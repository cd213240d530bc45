//! Stage two's sentences: each one states something this chat shows — who, what, when — from
//! the reading's episodes or the chat's numbers. A topic with nothing to show gets one plain
//! sentence saying so. The writer draws candidates from here and never writes one twice.

use super::{
    facts::join_names,
    reading::{Episode, Kind, Love, Outcome, Reading, RepairKind},
    topics::Topic,
};

/// "12 March" from "2024-03-12 21:04".
pub(crate) fn date(ts: &str) -> String {
    chrono::NaiveDate::parse_from_str(ts.get(..10).unwrap_or(ts), "%Y-%m-%d")
        .map(|d| d.format("%-d %B").to_string())
        .unwrap_or_else(|_| ts.to_owned())
}

/// "a few minutes", "40 minutes", "about 3 hours", "2 days".
pub(crate) fn span(minutes: i64) -> String {
    match minutes.max(0) {
        0..=9 => "a few minutes".to_owned(),
        m @ 10..=59 => format!("{m} minutes"),
        60..=89 => "about an hour".to_owned(),
        m @ 90..=2879 => format!("about {} hours", (m + 30) / 60),
        m => format!("{} days", (m + 720) / 1440),
    }
}

/// A message as quoted in prose: whole if short, else its opening words.
pub(crate) fn snippet(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 90 {
        return format!("\u{201c}{flat}\u{201d}");
    }
    let cut: String = flat.chars().take(80).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("\u{201c}{cut}\u{2026}\u{201d}")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What the chat holds, as a phrase: "these 57 messages".
pub(crate) fn these(r: &Reading) -> String {
    format!("these {} messages", r.msgs.len())
}

/// The one sentence said when the analyst declines to judge a topic.
pub(crate) fn abstain(r: &Reading, what: &str) -> String {
    if !r.english && !r.msgs.is_empty() {
        format!(
            "These messages are mostly not in English, which this offline reading cannot follow well, so there is not enough to say about {what}."
        )
    } else {
        format!(
            "{} are too few to say anything fair about {what}.",
            capital(&these(r))
        )
    }
}

pub(crate) fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The sentence for a topic with no episode.
pub(crate) fn absent(r: &Reading, topic: Topic) -> String {
    let n = these(r);
    match topic {
        Topic::Conflict => format!("No disagreements show up in {n}."),
        Topic::Support => {
            format!("No one says they are struggling in {n}, so support is not tested here.")
        }
        Topic::Affection => format!("Little open affection is put into words in {n}."),
        Topic::Appreciation => format!("No thanks or praise is exchanged in {n}."),
        Topic::Humour => format!("No joking or laughter shows up in {n}."),
        Topic::Jokes => format!(
            "No phrase comes back across days in {n}, so there is no running joke to point to."
        ),
        Topic::Moments => format!("No single exchange in {n} stands out as a shared high point."),
        Topic::Plans => format!("No plans or commitments are made in {n}."),
        Topic::Pressure => format!("No blockers, rush or after-hours pressure show up in {n}."),
        Topic::Decisions => format!("No decision is spelled out in {n}."),
        Topic::Rhythm => {
            format!("No quiet spell breaks up {n}, so there are no restarts to count.")
        }
        Topic::Strengths | Topic::Advice | Topic::Overall => {
            format!("Nothing in {n} stands out either way.")
        }
    }
}

fn other_of(r: &Reading, e: &Episode, by: usize) -> String {
    let others: Vec<&str> = e
        .msgs
        .iter()
        .map(|&m| r.msgs[m].person)
        .filter(|&p| p != by)
        .map(|p| r.name(p))
        .fold(Vec::new(), |mut acc, n| {
            if !acc.contains(&n) {
                acc.push(n);
            }
            acc
        });
    if others.is_empty() {
        r.name(by + 1).to_owned()
    } else {
        join_names(others)
    }
}

fn about(e: &Episode) -> String {
    e.topic
        .as_deref()
        .map(|t| format!(" about the {t}"))
        .unwrap_or_default()
}

/// A few words naming an episode: "the dinner disagreement on 12 March".
pub(crate) fn name_of(r: &Reading, e: &Episode) -> String {
    let when = date(&r.msgs[e.key].timestamp);
    let t = e.topic.as_deref();
    match e.kind {
        Kind::Disagreement => match t {
            Some(t) => format!("the {t} disagreement on {when}"),
            None => format!("the disagreement on {when}"),
        },
        Kind::Support => format!("{}'s hard moment on {when}", r.name(e.lead)),
        Kind::Affection => format!(
            "{}'s {} on {when}",
            r.name(e.lead),
            e.love.map_or("warmth", Love::short)
        ),
        Kind::Humour => format!("the laugh on {when}"),
        Kind::RunningJoke => format!(
            "the running \u{201c}{}\u{201d} joke",
            e.phrase.as_deref().unwrap_or("")
        ),
        Kind::Plan => match t {
            Some(t) => format!("the {t} plan from {when}"),
            None => format!("the plan from {when}"),
        },
        Kind::Initiation => format!("{}'s restart on {when}", r.name(e.lead)),
        Kind::Bid => format!("{}'s question on {when}", r.name(e.lead)),
        Kind::Blocker => format!("the blocker on {when}"),
        Kind::Decision => format!("the decision on {when}"),
        Kind::Pressure => format!("the crunch on {when}"),
    }
}

/// A short title for an episode.
pub(crate) fn title_of(r: &Reading, e: &Episode) -> String {
    let t = e.topic.as_deref().map(capital);
    match (e.kind, e.outcome) {
        (Kind::Disagreement, Outcome::Repaired { .. }) => {
            format!(
                "{} disagreement, repaired",
                t.unwrap_or_else(|| "A".to_owned())
            )
        }
        (Kind::Disagreement, _) => {
            format!(
                "{} disagreement, still open",
                t.unwrap_or_else(|| "A".to_owned())
            )
        }
        (Kind::Support, _) => format!(
            "When {} had a {} day",
            r.name(e.lead),
            e.topic.as_deref().unwrap_or("hard")
        ),
        (Kind::Affection, _) => format!(
            "{}'s {}",
            r.name(e.lead),
            e.love.map_or("warmth", Love::short)
        ),
        (Kind::Humour, _) => format!("{} gets a laugh", r.name(e.lead)),
        (Kind::RunningJoke, _) => format!("\u{201c}{}\u{201d}", e.phrase.as_deref().unwrap_or("")),
        (Kind::Plan, Outcome::Kept { .. }) => {
            format!("{} plan, kept", t.unwrap_or_else(|| "A".to_owned()))
        }
        (Kind::Plan, _) => format!("{} plan", t.unwrap_or_else(|| "A".to_owned())),
        (Kind::Decision, _) => format!("Settling the {}", e.topic.as_deref().unwrap_or("question")),
        (Kind::Blocker, _) => format!(
            "Flagging a blocker on the {}",
            e.topic.as_deref().unwrap_or("work")
        ),
        (Kind::Pressure, _) => format!("Crunch on {}", date(&r.msgs[e.key].timestamp)),
        (Kind::Initiation, _) => format!("{} reaches out first", r.name(e.lead)),
        (Kind::Bid, _) => format!("{} asks", r.name(e.lead)),
    }
}

/// One of a few phrasings of the same fact. Insights of one category are written separately
/// and share the chat's episodes; each insight type reads them in its own voice (`variant`,
/// from the type's name), with `salt` keeping the choices of different sentences apart.
pub(crate) fn vary(r: &Reading, salt: usize, options: Vec<String>) -> String {
    let k = options.len().max(1);
    // Positions 0..6 over k phrasings; the salt shifts which positions share one.
    let i = (r.variant + salt + (r.variant / k) * (salt % 2)) % k;
    options.into_iter().nth(i).unwrap_or_default()
}

/// Sentences about one episode, most telling first.
pub(crate) fn episode_facts(r: &Reading, e: &Episode) -> Vec<String> {
    let key = &r.msgs[e.key];
    let lead = r.name(e.lead);
    let when = date(&key.timestamp);
    let said = snippet(&key.text);
    let salt = e.key;
    let mut out = Vec::new();
    match e.kind {
        Kind::Disagreement => {
            let about = about(e);
            out.push(vary(
                r,
                salt,
                vec![
                    format!("On {when}, {lead} pushed back{about}: {said}."),
                    format!("The friction{about} starts on {when}, when {lead} writes {said}."),
                    format!("{lead} objected{about} on {when}: {said}."),
                ],
            ));
            match e.outcome {
                Outcome::Repaired {
                    by,
                    how,
                    after,
                    msg,
                } => {
                    let repair = snippet(&r.msgs[msg].text);
                    let by = r.name(by);
                    let later = span(after);
                    out.push(match how {
                        RepairKind::Apology => vary(
                            r,
                            salt + 1,
                            vec![
                                format!("{by} apologised {later} later: {repair}."),
                                format!("{} later {by} owned it: {repair}.", capital(&later)),
                                format!("The repair came from {by}, {later} on: {repair}."),
                            ],
                        ),
                        RepairKind::Reassurance => vary(
                            r,
                            salt + 1,
                            vec![
                                format!(
                                    "{by} reached back with reassurance {later} later: {repair}."
                                ),
                                format!("{} later {by} softened it: {repair}.", capital(&later)),
                                format!("The way back came from {by}, {later} on: {repair}."),
                            ],
                        ),
                    });
                    let name = name_of(r, e);
                    out.push(vary(r, salt + 2, vec![
                        format!("So {name} ended repaired, with {by} making the first move."),
                        format!("{} did not linger: {by} moved first and it was settled.", capital(&name)),
                        format!("{by} took the first step, and {name} was resolved within these messages."),
                    ]));
                }
                _ => {
                    let name = name_of(r, e);
                    out.push(vary(
                        r,
                        salt + 1,
                        vec![
                            format!(
                                "Nobody apologises or smooths over {name} within these messages."
                            ),
                            format!(
                                "{} is left open: no apology or reassurance follows.",
                                capital(&name)
                            ),
                            format!("No repair follows {name} in what is here."),
                        ],
                    ));
                }
            }
            let usual = r
                .median_reply
                .iter()
                .flatten()
                .copied()
                .max()
                .unwrap_or(10)
                .max(5);
            if let Some(after) = e.reply_after
                && after >= 60
                && after >= usual * 4
            {
                out.push(format!(
                    "{} took {} to answer it, far slower than usual.",
                    other_of(r, e, e.lead),
                    span(after)
                ));
            }
        }
        Kind::Support => {
            out.push(vary(
                r,
                salt,
                vec![
                    format!("On {when}, {lead} opened up about a hard moment: {said}."),
                    format!("{lead} was having a hard time on {when}: {said}."),
                    format!("On {when}, {lead} let the others see a low moment: {said}."),
                ],
            ));
            match e.outcome {
                Outcome::Answered { by, after, msg } => {
                    let reply = snippet(&r.msgs[msg].text);
                    let by = r.name(by);
                    let within = span(after);
                    out.push(vary(
                        r,
                        salt + 1,
                        vec![
                            format!("{by} answered within {within}: {reply}."),
                            format!("Within {within}, {by} was there: {reply}."),
                            format!("{by} turned toward it within {within}: {reply}."),
                        ],
                    ));
                }
                _ => out.push(vary(
                    r,
                    salt + 1,
                    vec![
                        format!("No one picked up {lead}'s message in the hours after."),
                        format!("{lead}'s low moment on {when} goes unanswered here."),
                    ],
                )),
            }
        }
        Kind::Affection => {
            let to = other_of(r, e, e.lead);
            let how = e.love.map_or("warmth", Love::short);
            out.push(vary(
                r,
                salt,
                vec![
                    format!("On {when}, {lead} showed {to} {how}: {said}."),
                    format!("{lead}'s {how} on {when}: {said}."),
                    format!("A moment of {how} from {lead} to {to} on {when}: {said}."),
                ],
            ));
        }
        Kind::Humour => {
            let to = other_of(r, e, e.lead);
            out.push(vary(
                r,
                salt,
                vec![
                    format!("On {when}, {lead} got a laugh out of {to}: {said}."),
                    format!("{lead} made {to} laugh on {when}: {said}."),
                    format!("A playful beat on {when}: {lead} wrote {said}."),
                ],
            ));
        }
        Kind::RunningJoke => {
            let phrase = e.phrase.as_deref().unwrap_or("");
            out.push(vary(r, salt, vec![
                format!("\u{201c}{phrase}\u{201d} comes back on {} different days, first on {when}.", e.days),
                format!("The running \u{201c}{phrase}\u{201d} joke turns up on {} days, starting {when}.", e.days),
                format!("Since {when}, \u{201c}{phrase}\u{201d} has returned on {} separate days.", e.days),
            ]));
        }
        Kind::Plan => {
            let about = about(e);
            out.push(vary(
                r,
                salt,
                vec![
                    format!("On {when}, {lead} put forward a plan{about}: {said}."),
                    format!("{lead} proposed something{about} on {when}: {said}."),
                    format!("A plan{about} from {lead} on {when}: {said}."),
                ],
            ));
            match e.outcome {
                Outcome::Kept { msg } => {
                    let d = date(&r.msgs[msg].timestamp);
                    let done = snippet(&r.msgs[msg].text);
                    out.push(vary(
                        r,
                        salt + 1,
                        vec![
                            format!("It was seen through by {d}: {done}."),
                            format!("It happened, as {d} shows: {done}."),
                            format!("By {d} it was done: {done}."),
                        ],
                    ));
                }
                Outcome::Broken { msg } => {
                    let d = date(&r.msgs[msg].timestamp);
                    let off = snippet(&r.msgs[msg].text);
                    out.push(vary(
                        r,
                        salt + 1,
                        vec![
                            format!("It fell through on {d}: {off}."),
                            format!("On {d} it was called off: {off}."),
                        ],
                    ));
                }
                _ => out.push(format!(
                    "Whether {} happened is not in these messages.",
                    name_of(r, e)
                )),
            }
        }
        Kind::Initiation => out.push(vary(
            r,
            salt,
            vec![
                format!("On {when}, after a quiet spell, {lead} reopened the chat: {said}."),
                format!("{lead} broke a silence on {when}: {said}."),
            ],
        )),
        Kind::Bid => out.push(format!("On {when}, {lead} asked {said}.")),
        Kind::Blocker => {
            out.push(format!("On {when}, {lead} flagged a blocker: {said}."));
            if let Outcome::Answered { by, after, .. } = e.outcome {
                out.push(format!("{} responded within {}.", r.name(by), span(after)));
            }
        }
        Kind::Decision => out.push(vary(
            r,
            salt,
            vec![
                format!("On {when}, {lead} settled it: {said}."),
                format!("{lead} made the call on {when}: {said}."),
            ],
        )),
        Kind::Pressure => out.push(format!(
            "On {when}, {lead} wrote under time pressure: {said}."
        )),
    }
    out
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "none".to_owned();
    }
    format!("{part} of {whole}")
}

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

/// Sentences of numbers: shares, reply pace, restarts, questions answered.
pub(crate) fn rhythm_facts(r: &Reading) -> Vec<String> {
    let f = &r.facts;
    let mut out = Vec::new();
    if f.people.len() >= 2 {
        let shares: Vec<String> = (0..f.people.len().min(4))
            .map(|i| format!("{} {:.0}%", f.person(i).name, f.message_share(i)))
            .collect();
        let total = f.total_messages;
        let shares = shares.join(", ");
        out.push(vary(
            r,
            1,
            vec![
                format!("Of the {total:.0} messages in the whole chat, the split is {shares}."),
                format!("Across all {total:.0} messages, the shares run {shares}."),
                format!("Who writes how much, over {total:.0} messages: {shares}."),
            ],
        ));
        if let Some(top) = r.initiator() {
            let counts = r.initiation_counts();
            let all: usize = counts.iter().sum();
            let name = &f.person(top).name;
            let k = counts[top];
            out.push(vary(r, 3, vec![
                format!("{name} is the one who reaches out first after quiet spells, {k} of {all} times here."),
                format!("Of the {all} conversations here, {name} starts {k}."),
                format!("{name} opens {k} of the {all} conversations in these messages."),
            ]));
        }
    }
    for (i, m) in r.median_reply.iter().enumerate().take(4) {
        if let Some(m) = m {
            let name = &f.person(i).name;
            let within = span(*m);
            out.push(vary(
                r,
                2 + i,
                vec![
                    format!("{name} usually answers within {within}."),
                    format!("{name}'s typical reply comes within {within}."),
                    format!("Replies from {name} tend to arrive within {within}."),
                ],
            ));
        }
    }
    let bids: Vec<&Episode> = r.of(Kind::Bid).map(|(_, e)| e).collect();
    if !bids.is_empty() {
        let toward = bids
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Answered { .. }))
            .count();
        let k = bids.len();
        out.push(vary(r, 4, vec![
            format!("{toward} of {k} questions get an answer from someone else within three hours."),
            format!("Questions rarely hang: {toward} of {k} are answered within three hours."),
            format!("Of {k} questions asked, {toward} get a reply within three hours."),
        ]).replace("Questions rarely hang", if toward * 2 >= k { "Questions rarely hang" } else { "Many questions hang" }));
    }
    out
}

/// Sentences about one person's part in a topic.
pub(crate) fn person_facts(r: &Reading, topic: Topic, p: usize) -> Vec<String> {
    let name = r.name(p);
    let mut out = Vec::new();
    let kinds = topic.kinds();
    let led: Vec<&Episode> = r
        .episodes
        .iter()
        .filter(|e| kinds.contains(&e.kind) && e.lead == p)
        .collect();
    match topic {
        Topic::Conflict => {
            let raised = led.len();
            let repaired = r
                .of(Kind::Disagreement)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Repaired { by, .. } if by == p))
                .count();
            match (raised, repaired) {
                (0, 0) => {}
                (0, k) => out.push(format!(
                    "{name} made the first repair move in {}.",
                    plural(k, "disagreement", "disagreements")
                )),
                (n, 0) => out.push(format!(
                    "{name} raised {} and left the first repair move to others.",
                    plural(n, "disagreement", "disagreements")
                )),
                (n, k) => out.push(format!(
                    "{name} raised {} and made the first repair move in {}.",
                    plural(n, "disagreement", "disagreements"),
                    plural(k, "case", "cases")
                )),
            }
        }
        Topic::Support => {
            let gave = r
                .of(Kind::Support)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { by, .. } if by == p))
                .count();
            if gave > 0 {
                out.push(format!(
                    "{name} answered {} with care.",
                    plural(gave, "low moment", "low moments")
                ));
            }
            if !led.is_empty() {
                out.push(format!(
                    "{name} opened up about a hard time {}.",
                    plural(led.len(), "time", "times")
                ));
            }
        }
        Topic::Affection | Topic::Appreciation | Topic::Moments => {
            if let Some((love, k)) = r.main_love(p) {
                out.push(format!(
                    "{name}'s care shows mostly as {} ({} messages).",
                    love.short(),
                    k
                ));
            }
        }
        Topic::Humour | Topic::Jokes if !led.is_empty() => {
            out.push(format!(
                "{name} starts {} of the laughter.",
                plural(led.len(), "moment", "moments")
            ));
        }
        Topic::Plans | Topic::Decisions | Topic::Pressure if !led.is_empty() => {
            let kept = led
                .iter()
                .filter(|e| matches!(e.outcome, Outcome::Kept { .. }))
                .count();
            out.push(format!(
                "{name} puts forward {}, {kept} of them seen through.",
                plural(led.len(), "plan or task", "plans or tasks")
            ));
        }
        _ => {}
    }
    for e in led.iter().take(4) {
        if let Some(first) = episode_facts(r, e).into_iter().next() {
            out.push(first);
        }
    }
    // The numbers only where the topic is the conversation itself, or nothing else is known.
    if topic == Topic::Rhythm || out.is_empty() {
        let f = &r.facts;
        let person = f.person(p);
        let share = f.message_share(p);
        let words = person.avg_words;
        out.push(vary(r, 5 + p, vec![
            format!("{name} writes {share:.0}% of the chat's messages, about {words:.0} words each."),
            format!("{share:.0}% of the messages are {name}'s, averaging {words:.0} words."),
            format!("{name} contributes {share:.0}% of the messages, typically {words:.0} words long."),
        ]));
        if person.questions > 0.0 {
            let q = person.questions;
            let qs = if q == 1.0 { "question" } else { "questions" };
            out.push(vary(
                r,
                6 + p,
                vec![
                    format!("{name} asks {q:.0} {qs} across the chat."),
                    format!("Across the chat, {name} asks {q:.0} {qs}."),
                ],
            ));
        }
    }
    out
}

/// How a person goes about a topic, as a short phrase.
pub(crate) fn style_of(r: &Reading, topic: Topic, p: usize) -> String {
    if r.abstains() {
        return "not enough to say".to_owned();
    }
    let led = |k: Kind| r.of(k).filter(|(_, e)| e.lead == p).count();
    match topic {
        Topic::Conflict => {
            let raised = led(Kind::Disagreement);
            let repaired = r
                .of(Kind::Disagreement)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Repaired { by, .. } if by == p))
                .count();
            match (raised, repaired) {
                (0, 0) if r.count(Kind::Disagreement) == 0 => "no conflict seen".to_owned(),
                (_, r) if r > 0 => "collaborative: reaches out to repair".to_owned(),
                (n, 0) if n > 0 => "direct: raises what bothers them".to_owned(),
                _ => "accommodating: lets the other lead".to_owned(),
            }
        }
        Topic::Humour | Topic::Jokes => match led(Kind::Humour) {
            0 => "appreciative audience".to_owned(),
            1..=2 => "occasional jokes".to_owned(),
            _ => "playful, often the one joking".to_owned(),
        },
        Topic::Plans | Topic::Decisions | Topic::Pressure => match led(Kind::Plan) {
            0 => "goes along with plans".to_owned(),
            1..=2 => "suggests plans now and then".to_owned(),
            _ => "the planner, proposes most plans".to_owned(),
        },
        Topic::Support => {
            let gave = r
                .of(Kind::Support)
                .filter(|(_, e)| matches!(e.outcome, Outcome::Answered { by, .. } if by == p))
                .count();
            if gave > 0 {
                "steady supporter".to_owned()
            } else if led(Kind::Support) > 0 {
                "opens up when low".to_owned()
            } else {
                "support not tested here".to_owned()
            }
        }
        Topic::Affection | Topic::Appreciation | Topic::Moments => r.main_love(p).map_or_else(
            || "reserved in words".to_owned(),
            |(l, _)| format!("shows it through {}", l.short()),
        ),
        _ => {
            let f = &r.facts;
            let w = f.person(p).avg_words;
            if w > 0.0 && w < 5.0 {
                "short, quick messages".to_owned()
            } else if w > 14.0 {
                "long, thoughtful messages".to_owned()
            } else {
                "conversational, even messages".to_owned()
            }
        }
    }
}

/// A closing summary: the headlines of the insight's own topics (`focus`, most central
/// first) and their episodes, then (second) closing lines on what the reading rests on.
pub(crate) fn summary_facts(r: &Reading, focus: &[Topic]) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    for &t in focus.iter().take(4) {
        let kinds = t.kinds();
        let any = r.episodes.iter().any(|e| kinds.contains(&e.kind));
        if !any && t != Topic::Rhythm {
            out.push(absent(r, t));
            continue;
        }
        out.extend(topic_facts(r, t));
        if t == Topic::Rhythm {
            out.extend(rhythm_facts(r));
        }
        for e in r
            .episodes
            .iter()
            .filter(|e| kinds.contains(&e.kind) && e.kind != Kind::Bid)
            .take(6)
        {
            out.extend(episode_facts(r, e));
        }
    }
    let names = r.facts.names();
    let closing = vec![
        format!(
            "This reads only the messages retrieved for this insight, so it describes habits visible here, not the whole of what {names} share."
        ),
        format!(
            "It rests on {} retrieved here; a longer stretch of the chat could tell a fuller story about {names}.",
            these(r)
        ),
        format!(
            "All of it comes from {}, so it shows patterns between {names} rather than a verdict.",
            these(r)
        ),
        format!(
            "Read it as a snapshot of {}, not a judgement of {names}.",
            these(r)
        ),
        format!(
            "What shows here is what {} hold; the rest of what {names} share is not in view.",
            these(r)
        ),
        format!(
            "These are patterns in {}, offered as a mirror for {names}, not a score.",
            these(r)
        ),
    ];
    let mut closing = closing;
    closing.rotate_left(r.variant % 6);
    (out, closing)
}

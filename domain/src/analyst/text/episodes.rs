//! Sentences about one episode: what happened, between whom, when, and how it ended.

use super::{about, capital, date, name_of, other_of, snippet, span, vary};
use crate::analyst::reading::{Episode, Kind, Love, Outcome, Reading, RepairKind};

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

//! Words one participant could send another, drawn from this chat's own episodes on the
//! section's topic.

use super::{Scope, Writer};
use crate::analyst::{
    lexicon,
    reading::{Episode, Kind, Outcome},
    text,
    topics::Topic,
};

impl Writer<'_> {
    /// Words one participant could send to another.
    pub(super) fn phrase(&mut self, scope: Scope<'_>, n: usize) -> String {
        let r = self.r;
        let people = r.facts.people.len();
        let speaker = scope.person.unwrap_or(scope.slot + n) % people;
        let other = r.name((speaker + 1) % people).to_owned();
        // The insight's own theme (the section "recommendations" says nothing about it).
        let theme = lexicon::theme_for(&r.facts.insight_type);
        let theme = if theme.phrase == lexicon::GENERAL.phrase {
            lexicon::theme_for(scope.section)
        } else {
            theme
        };
        // Words about this chat first, for the insight's own topics; the theme's stock
        // phrases only after them.
        let mut c: Vec<String> = Vec::new();
        if !r.abstains() {
            for topic in self.focus.iter().copied().chain([scope.topic]) {
                c.extend(self.phrases_about(topic, speaker, &other));
            }
        }
        let turn = (scope.slot + n + r.variant) % c.len().max(1);
        c.rotate_left(turn);
        for k in 0..theme.phrases.len() {
            c.push(
                theme.phrases[(scope.slot + n + k + r.variant) % theme.phrases.len()]
                    .replace("{other}", &other),
            );
        }
        // The general stock phrases read the same in every insight: only when nothing else is
        // left.
        if c.len() < 3 {
            for k in 0..lexicon::GENERAL.phrases.len() {
                let g = lexicon::GENERAL.phrases;
                c.push(g[(k + r.variant) % g.len()].replace("{other}", &other));
            }
        }
        self.say_one(c, scope)
    }

    /// Messages `speaker` could send `other`, drawn from this chat's episodes on `topic`
    /// (one sentence each, naming who they are for).
    pub(super) fn phrases_about(&self, topic: Topic, speaker: usize, other: &str) -> Vec<String> {
        let r = self.r;
        let mut out = Vec::new();
        let subject =
            |e: &Episode, fallback: &str| e.topic.clone().unwrap_or_else(|| fallback.to_owned());
        match topic {
            Topic::Conflict => {
                for (_, e) in r.of(Kind::Disagreement) {
                    let t = subject(e, "argument");
                    out.push(match e.outcome {
                        Outcome::Repaired { .. } => format!("{other}, thank you for coming back to me after the {t}; it mattered."),
                        _ => format!("{other}, I keep thinking about the {t}; can we talk it through tonight?"),
                    });
                }
            }
            Topic::Support => {
                for (_, e) in r.of(Kind::Support).filter(|(_, e)| e.lead != speaker) {
                    out.push(format!(
                        "{other}, I remembered what you said on {}; how are you holding up today?",
                        text::date(&r.msgs[e.key].timestamp)
                    ));
                }
            }
            Topic::Affection | Topic::Appreciation | Topic::Moments => {
                if let Some((love, _)) = r.main_love((speaker + 1) % r.facts.people.len().max(1)) {
                    out.push(format!(
                        "{other}, I notice the {} you keep showing me, thank you.",
                        love.short()
                    ));
                }
            }
            Topic::Humour | Topic::Jokes => {
                for (_, e) in r.of(Kind::RunningJoke) {
                    out.push(format!(
                        "Saw something today that was pure {} energy, {other} \u{1f602}",
                        e.phrase.as_deref().unwrap_or("")
                    ));
                }
            }
            Topic::Plans | Topic::Decisions | Topic::Pressure => {
                for (_, e) in r.of(Kind::Plan).filter(|(_, e)| e.outcome != Outcome::None) {
                    let t = text::name_of(r, e);
                    out.push(match e.outcome {
                        Outcome::Kept { .. } => {
                            format!("{other}, {t} worked out so well; what should we plan next?")
                        }
                        _ => format!("{other}, shall we pick a firm date for {t}?"),
                    });
                }
                if r.count(Kind::Decision) > 0 {
                    out.push(format!("Quick recap, {other}: who owns what, and by when?"));
                }
            }
            _ => {}
        }
        out
    }
}

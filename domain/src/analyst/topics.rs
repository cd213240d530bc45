//! Which part of the reading a schema section is about.

use super::reading::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    Conflict,
    Support,
    Affection,
    Appreciation,
    Humour,
    Jokes,
    Moments,
    Plans,
    Pressure,
    Decisions,
    Rhythm,
    Strengths,
    Advice,
    Overall,
}

/// Section-name fragments, checked in order: the first match wins.
const MAP: &[(&[&str], Topic)] = &[
    (&["overall_quality"], Topic::Rhythm),
    (&["overall_warmth"], Topic::Affection),
    (&["overall_playfulness"], Topic::Humour),
    (&["overall"], Topic::Overall),
    (
        &[
            "best_moments",
            "beautiful",
            "positive_emotional",
            "cherished",
            "bridge_moments",
            "remembered",
            "treasured",
            "milestone",
            "growth_moments",
        ],
        Topic::Moments,
    ),
    (
        &[
            "recommend",
            "growth_areas",
            "growth_opportunit",
            "gaps",
            "missing_",
            "areas_to",
            "patterns_to_reflect",
            "risks",
        ],
        Topic::Advice,
    ),
    (
        &["strengths", "positive_behaviors", "positive_conflict"],
        Topic::Strengths,
    ),
    (
        &[
            "inside",
            "joke",
            "reference",
            "shared_world",
            "nostalg",
            "rituals_traditions",
        ],
        Topic::Jokes,
    ),
    (
        &[
            "conflict",
            "tension",
            "friction",
            "disagree",
            "destructive",
            "trigger",
            "repair",
            "stress_comm",
            "pressure_points",
            "patterns_to_address",
            "mistake",
            "honesty",
            "boundary",
            "family_specific",
            "individual_styles",
            "tone_under",
            "trust_gaps",
        ],
        Topic::Conflict,
    ),
    (
        &[
            "support",
            "hard_times",
            "care",
            "checkin",
            "checking_in",
            "availability",
            "wellbeing",
            "health",
            "vuln",
            "openness",
            "showing_up",
            "mood",
            "encourag",
            "avoidance",
            "psychological",
            "space_independence",
            "practical_help",
            "loyalty",
            "confidential",
        ],
        Topic::Support,
    ),
    (
        &[
            "blocker",
            "workload",
            "urgency",
            "after_hours",
            "time_off",
            "flexib",
            "stress",
        ],
        Topic::Pressure,
    ),
    (
        &[
            "appreciation",
            "gratitude",
            "recognition",
            "reinforcement",
            "credit",
            "feedback",
            "warmth",
            "respect",
        ],
        Topic::Appreciation,
    ),
    (
        &[
            "affection",
            "languages",
            "love",
            "romance",
            "flirt",
            "compatibility",
            "intimacy",
        ],
        Topic::Affection,
    ),
    (
        &[
            "humor", "humour", "playful", "teasing", "banter", "fun", "energy", "spontane",
            "vitality", "rapport", "emoji",
        ],
        Topic::Humour,
    ),
    (
        &[
            "plan",
            "future",
            "promise",
            "reliab",
            "follow_through",
            "task",
            "ownership",
            "action",
            "timeline",
            "dream",
            "gathering",
            "memory_making",
            "activit",
            "celebration",
            "accountab",
            "categories",
            "alignment",
            "enthusiasm",
            "daily_rituals",
            "frequency",
            "friendship_arc",
            "coordination",
        ],
        Topic::Plans,
    ),
    (
        &[
            "decision",
            "meeting",
            "input",
            "hierarchy",
            "power",
            "roles",
            "expectation",
            "autonomy",
            "generational",
            "advice",
            "values",
            "dynamics",
        ],
        Topic::Decisions,
    ),
];

pub(crate) fn topic_for(section: &str) -> Topic {
    // emotional_intimacy's short keys.
    if section == "growth" {
        return Topic::Advice;
    }
    if section == "fun_activities" {
        return Topic::Plans;
    }
    MAP.iter()
        .find(|(keys, _)| keys.iter().any(|k| section.contains(k)))
        .map_or(Topic::Rhythm, |(_, t)| *t)
}

impl Topic {
    /// The episodes that bear on the topic, most telling kind first.
    pub(crate) fn kinds(self) -> &'static [Kind] {
        match self {
            Topic::Conflict => &[Kind::Disagreement],
            Topic::Support => &[Kind::Support],
            Topic::Affection | Topic::Appreciation => &[Kind::Affection],
            Topic::Humour => &[Kind::Humour, Kind::RunningJoke],
            Topic::Jokes => &[Kind::RunningJoke, Kind::Humour],
            Topic::Moments => &[
                Kind::Affection,
                Kind::Humour,
                Kind::Support,
                Kind::Disagreement,
            ],
            Topic::Plans => &[Kind::Plan],
            Topic::Pressure => &[Kind::Blocker, Kind::Pressure],
            Topic::Decisions => &[Kind::Decision, Kind::Plan],
            Topic::Rhythm => &[Kind::Initiation, Kind::Bid],
            Topic::Strengths | Topic::Advice | Topic::Overall => &[
                Kind::Support,
                Kind::Affection,
                Kind::Disagreement,
                Kind::Humour,
                Kind::Plan,
            ],
        }
    }

    /// How the topic reads in a sentence.
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            Topic::Conflict => "disagreements and repair",
            Topic::Support => "support in hard moments",
            Topic::Affection => "affection",
            Topic::Appreciation => "thanks and appreciation",
            Topic::Humour => "humour and play",
            Topic::Jokes => "running jokes",
            Topic::Moments => "the warmest moments",
            Topic::Plans => "plans and follow-through",
            Topic::Pressure => "pressure and blockers",
            Topic::Decisions => "decisions",
            Topic::Rhythm => "the rhythm of the conversation",
            Topic::Strengths => "what already works",
            Topic::Advice => "what could grow",
            Topic::Overall => "the relationship as a whole",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_find_their_topic() {
        assert_eq!(topic_for("conflict_triggers"), Topic::Conflict);
        assert_eq!(topic_for("repair_recovery"), Topic::Conflict);
        assert_eq!(topic_for("inside_jokes"), Topic::Jokes);
        assert_eq!(topic_for("appreciation"), Topic::Appreciation);
        assert_eq!(topic_for("primary_languages"), Topic::Affection);
        assert_eq!(topic_for("promise_keeping"), Topic::Plans);
        assert_eq!(topic_for("recommendations"), Topic::Advice);
        assert_eq!(topic_for("overall"), Topic::Overall);
        assert_eq!(topic_for("initiation_balance"), Topic::Rhythm);
        assert_eq!(topic_for("hard_times_moments"), Topic::Support);
        assert_eq!(topic_for("communication_hierarchy"), Topic::Decisions);
        assert_eq!(topic_for("encouragement_growth"), Topic::Support);
        assert_eq!(topic_for("growth_moments"), Topic::Moments);
        assert_eq!(topic_for("growth"), Topic::Advice);
        assert_eq!(topic_for("time_off_respect"), Topic::Pressure);
    }
}

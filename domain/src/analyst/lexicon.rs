//! Themes of the schema sections: which sections they cover, and the stock titles and example
//! messages the writer falls back on when the chat itself offers none.

/// A theme: how to spot it and how to talk about it.
#[derive(Debug)]
pub(crate) struct Theme {
    /// Substrings of a section key that select this theme (`support`, `conflict` …).
    pub keys: &'static [&'static str],
    /// How the theme reads in a sentence: "checking in on each other".
    pub phrase: &'static str,
    /// Short titles for strengths, moments and patterns of this theme.
    pub titles: &'static [&'static str],
    /// Words one participant could say to another; `{other}` is replaced by a name.
    pub phrases: &'static [&'static str],
}

pub(crate) const GENERAL: Theme = Theme {
    keys: &[],
    phrase: "the everyday rhythm of the chat",
    titles: &[
        "Everyday connection",
        "Steady back-and-forth",
        "Keeping each other in the loop",
    ],
    phrases: &[
        "Hey {other}, how did today actually go? Tell me the good part first.",
        "I was thinking about what you said yesterday, {other} — how did it turn out?",
    ],
};

pub(crate) const THEMES: &[Theme] = &[
    Theme {
        keys: &[
            "conflict",
            "tension",
            "friction",
            "disagree",
            "pressure",
            "destructive",
            "trigger",
            "stress_comm",
            "repair",
            "mistake",
        ],
        phrase: "disagreements and how they are repaired",
        titles: &[
            "Cooling down before replying",
            "Owning a mistake",
            "Returning to the topic later",
            "Naming the feeling",
        ],
        phrases: &[
            "{other}, I think I came across wrong earlier. Can we talk about it tonight?",
            "I don't want to fight about this, {other} — what did you mean?",
        ],
    },
    Theme {
        keys: &[
            "support",
            "care",
            "hard_times",
            "checkin",
            "checking",
            "wellbeing",
            "health",
            "available",
            "help",
            "showing_up",
        ],
        phrase: "looking out for each other",
        titles: &[
            "Checking in",
            "Showing up on hard days",
            "Practical help",
            "Reassurance when it matters",
        ],
        phrases: &[
            "Just checking in, {other} — how are you holding up today?",
            "{other}, you mentioned the doctor's appointment. How did it go?",
        ],
    },
    Theme {
        keys: &[
            "affection",
            "warmth",
            "love",
            "romance",
            "flirt",
            "intima",
            "vuln",
            "emotional",
            "appreciation",
            "gratitude",
            "recognition",
            "positive",
            "beautiful",
            "openness",
        ],
        phrase: "warmth and appreciation",
        titles: &[
            "Saying it out loud",
            "Small thank-yous",
            "Affection in everyday messages",
            "Noticing the other's effort",
        ],
        phrases: &[
            "Thank you for today, {other}. It meant a lot that you made the time.",
            "{other}, I don't say it enough — I'm really proud of you.",
        ],
    },
    Theme {
        keys: &[
            "humor",
            "humour",
            "play",
            "joke",
            "banter",
            "teas",
            "fun",
            "vitality",
            "energy",
            "enthusiasm",
            "mood",
            "emoji",
            "spontan",
            "inside",
        ],
        phrase: "humour and playfulness",
        titles: &[
            "Running jokes",
            "Playful teasing",
            "Lifting the mood",
            "Spontaneous fun",
        ],
        phrases: &[
            "{other}, remember that thing that happened last time? 😂 We need a sequel.",
            "Random plan, {other}: ice cream tonight, no excuses?",
        ],
    },
    Theme {
        keys: &[
            "plan",
            "future",
            "dream",
            "timeline",
            "goal",
            "gathering",
            "activit",
            "alignment",
            "categor",
        ],
        phrase: "plans and the future",
        titles: &[
            "Making plans together",
            "Talking about someday",
            "Following through on plans",
            "Shared goals",
        ],
        phrases: &[
            "{other}, shall we actually book that trip? Which weekend works for you?",
            "What's one thing you want us to do before the year ends, {other}?",
        ],
    },
    Theme {
        keys: &[
            "tradition",
            "ritual",
            "celebrat",
            "milestone",
            "occasion",
            "rhythm",
            "connection",
            "inclusion",
            "participation",
            "shared_content",
            "shared_world",
        ],
        phrase: "rituals and shared occasions",
        titles: &[
            "Daily greetings",
            "Celebrating together",
            "Regular get-togethers",
            "Shared occasions",
        ],
        phrases: &[
            "Good morning, {other}! Sunday lunch at ours this week?",
            "{other}, let's do something special for the anniversary this year.",
        ],
    },
    Theme {
        keys: &[
            "memor",
            "nostalg",
            "moment",
            "treasur",
            "arc",
            "best_moments",
            "cherish",
        ],
        phrase: "shared memories",
        titles: &[
            "Remembering together",
            "Moments worth keeping",
            "Throwbacks",
            "How far they have come",
        ],
        phrases: &[
            "{other}, found this old photo of us — remember that day?",
            "Can you believe it's been this long, {other}? Best decision ever.",
        ],
    },
    Theme {
        keys: &[
            "trust",
            "loyal",
            "promise",
            "reliab",
            "confiden",
            "consisten",
            "honest",
            "accountab",
            "follow_through",
        ],
        phrase: "trust and reliability",
        titles: &[
            "Doing what was promised",
            "Being there when it counts",
            "Keeping confidences",
            "Consistent presence",
        ],
        phrases: &[
            "Done, {other} — sent it just now, as promised.",
            "{other}, I can't make 7 after all. Can we do 8 instead?",
        ],
    },
    Theme {
        keys: &[
            "boundar",
            "space",
            "independ",
            "after_hours",
            "urgency",
            "time_off",
            "workload",
            "flexib",
            "risk",
        ],
        phrase: "boundaries and space",
        titles: &[
            "Respecting time and space",
            "Saying no kindly",
            "Protecting rest",
            "Flexibility when life is busy",
        ],
        phrases: &[
            "{other}, I'm wiped out tonight — can we pick this up tomorrow morning?",
            "No rush on this, {other}. Whenever you have time is fine.",
        ],
    },
    Theme {
        keys: &[
            "decision",
            "meeting",
            "action_item",
            "process",
            "coordination",
            "task",
            "ownership",
            "blocker",
            "clarity",
            "information",
            "concise",
            "collaborat",
            "input",
            "speed",
            "hierarch",
            "roles",
            "power",
            "expectation",
            "autonomy",
            "advice",
        ],
        phrase: "coordination and decisions",
        titles: &[
            "Clear next steps",
            "Closing the loop",
            "Quick decisions",
            "Sharing updates early",
        ],
        phrases: &[
            "To sum up, {other}: I'll send the draft by Thursday, you review on Friday?",
            "Quick update, {other} — I'm stuck on the figures. Could you check them today?",
        ],
    },
    Theme {
        keys: &[
            "feedback",
            "credit",
            "respect",
            "safety",
            "rapport",
            "tone",
            "professional",
            "reinforce",
        ],
        phrase: "feedback and respect",
        titles: &[
            "Recognising good work",
            "Feedback that helps",
            "Respectful tone",
            "Learning from mistakes",
        ],
        phrases: &[
            "Really good work on the report, {other} — the summary made it easy to follow.",
            "{other}, could you look at this before I send it? Honest feedback welcome.",
        ],
    },
    Theme {
        keys: &[
            "family",
            "generation",
            "values",
            "mutual_learning",
            "visible_roles",
            "communication_styles",
        ],
        phrase: "family ties",
        titles: &[
            "Looking after one another",
            "Passing on what matters",
            "Everyday family news",
            "Learning across generations",
        ],
        phrases: &[
            "{other}, how did you handle this when you were my age?",
            "Sending you the recipe, {other} — tell me how it turns out!",
        ],
    },
    Theme {
        keys: &[
            "initiation",
            "balance",
            "contribution",
            "airtime",
            "flow",
            "responsive",
            "response",
            "engagement",
            "curiosity",
            "listening",
            "missed_bids",
            "topic",
            "depth",
            "communication",
        ],
        phrase: "the give and take of conversation",
        titles: &[
            "Asking about each other",
            "Quick replies",
            "Sharing the conversation",
            "Following up",
        ],
        phrases: &[
            "And what about you, {other}? You haven't told me how your week went.",
            "Wait, {other}, then what happened? Tell me everything.",
        ],
    },
];

/// The theme of a schema section: the first whose key fragment the section name contains.
pub(crate) fn theme_for(section: &str) -> &'static Theme {
    // Asked for every quote of every section: remembered per thread, keyed by the section
    // (schema keys, so a bounded set; cleared if it ever grows large).
    thread_local! {
        static KNOWN: std::cell::RefCell<std::collections::HashMap<String, &'static Theme>> =
            std::cell::RefCell::default();
    }
    if let Some(theme) = KNOWN.with(|k| k.borrow().get(section).copied()) {
        return theme;
    }
    let lower = section.to_ascii_lowercase();
    let theme = THEMES
        .iter()
        .find(|t| t.keys.iter().any(|k| lower.contains(k)))
        .unwrap_or(&GENERAL);
    KNOWN.with(|k| {
        let mut known = k.borrow_mut();
        if known.len() >= 4096 {
            known.clear();
        }
        known.insert(section.to_owned(), theme);
    });
    theme
}

/// Whether a section is about something missing or strained (gaps, risks, triggers …).
pub(crate) fn is_concern(section: &str) -> bool {
    const CONCERN: [&str; 12] = [
        "gap",
        "risk",
        "trigger",
        "friction",
        "pressure",
        "tension",
        "destructive",
        "avoid",
        "missing",
        "patterns_to",
        "areas_to",
        "stress",
    ];
    CONCERN.iter().any(|c| section.contains(c))
}

/// A cue matches as a whole word (or phrase); punctuation and emoji cues match anywhere.
///
/// This runs for every message × cue when a chat is read, so it avoids `str::contains`
/// (which builds a substring searcher per call) and decoding every character: it jumps to
/// each occurrence of the cue's first byte (ASCII or a UTF-8 lead byte, so always a character
/// boundary) and only there compares the cue and looks at the characters on either side.
/// Walking every character of every message for every cue was 45% of the analyst's time.
pub(crate) fn contains_cue(lower: &str, cue: &str) -> bool {
    let mut cue_chars = cue.chars();
    let Some(first) = cue_chars.next() else {
        return false;
    };
    if !first.is_alphanumeric() {
        return if cue_chars.next().is_none() {
            lower.contains(first)
        } else {
            lower.contains(cue)
        };
    }
    let (bytes, cue_bytes) = (lower.as_bytes(), cue.as_bytes());
    memchr::memchr_iter(cue_bytes[0], bytes).any(|i| {
        bytes[i..].starts_with(cue_bytes)
            && !lower[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
            && !lower[i + cue.len()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests;

//! Cues of work: blockers, pressure and decisions.

/// Work blockers and pressure.
pub(crate) const BLOCKER: &[&str] = &[
    "blocked",
    "blocker",
    "stuck",
    "waiting on",
    "waiting for",
    "can't proceed",
    "need access",
    "need help with",
    "dependency",
];
pub(crate) const PRESSURE: &[&str] = &[
    "asap",
    "urgent",
    "urgently",
    "right now",
    "tonight",
    "late night",
    "weekend",
    "overtime",
    "burnt out",
    "burned out",
    "overloaded",
    "too much on my plate",
    "exhausted",
];
/// A decision being made.
pub(crate) const DECISION: &[&str] = &[
    "decided",
    "let's go with",
    "we'll go with",
    "go with",
    "agreed",
    "final call",
    "approved",
    "sign off",
    "signed off",
    "settled",
    "okay let's do",
    "ok let's do",
];

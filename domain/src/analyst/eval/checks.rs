//! Checks on one answer: whether its quotes are verbatim and placed under the right
//! person, which field a label is read from, and how a rating reads as yes or no.

use std::collections::HashSet;

use serde_json::Value;

use super::Report;

/// Every `{message, speaker, timestamp}` must be a message of the chat (fidelity); one under
/// a participant (an object with a `name`) must be theirs, and an exchange under one must
/// include them (placement).
pub(super) fn check_quotes(
    v: &Value,
    key: &str,
    owner: Option<&str>,
    messages: &HashSet<(String, String, String)>,
    where_: &str,
    r: &mut Report,
) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(msg)), Some(Value::String(who)), Some(Value::String(ts))) =
                (m.get("message"), m.get("speaker"), m.get("timestamp"))
            {
                r.quotes += 1;
                if messages.contains(&(who.clone(), ts.clone(), msg.trim().to_owned())) {
                    r.quotes_verbatim += 1;
                } else {
                    r.fidelity_misses.push(format!(
                        "{where_}: not in the chat as quoted: [{ts}] {who}: {msg}"
                    ));
                }
                if let Some(owner) = owner
                    && key != "exchange"
                {
                    r.placed += 1;
                    if owner == who {
                        r.placed_right += 1;
                    } else {
                        r.placement_misses
                            .push(format!("{where_}: {who}'s message under {owner}"));
                    }
                }
                return;
            }
            let owner = match m.get("name") {
                Some(Value::String(n)) => Some(n.as_str()),
                _ => owner,
            };
            for (k, child) in m {
                if k == "exchange"
                    && let (Some(owner), Value::Array(turns)) = (owner, child)
                {
                    r.placed += 1;
                    let theirs = turns
                        .iter()
                        .any(|t| t.get("speaker").and_then(Value::as_str) == Some(owner));
                    if theirs {
                        r.placed_right += 1;
                    } else {
                        r.placement_misses.push(format!(
                            "{where_}: an exchange without {owner} under {owner}"
                        ));
                    }
                }
                check_quotes(child, k, owner, messages, where_, r);
            }
        }
        Value::Array(a) => {
            for child in a {
                check_quotes(child, key, owner, messages, where_, r);
            }
        }
        _ => {}
    }
}

/// Where each label is read from, by category: (insight type, JSON pointer).
pub(super) fn source(category: &str, label: &str) -> Option<(&'static str, &'static str)> {
    Some(match (category, label) {
        ("romantic", "conflict") => (
            "conflict_resolution",
            "/conflict_presence/visible_conflicts",
        ),
        ("romantic", "repaired") => ("conflict_resolution", "/repair_recovery/effectiveness"),
        ("romantic", "plans_made") => ("playfulness_romance", "/fun_activities/discussed"),
        ("romantic", "plans_kept") => ("future_planning", "/timelines/concrete_vs_vague"),
        ("friendship", "conflict") => (
            "friendship_boundaries_growth",
            "/disagreement_handling/present",
        ),
        ("friendship", "repaired") => (
            "friendship_boundaries_growth",
            "/accountability/apologies_present",
        ),
        ("friendship", "initiator") => (
            "friendship_vitality",
            "/initiation_balance/primary_initiator",
        ),
        ("friendship", "plans_made") => {
            ("friendship_shared_memories", "/memory_making/plans_present")
        }
        ("friendship", "plans_kept") => (
            "friendship_vitality",
            "/shared_activities/follow_through_assessment",
        ),
        ("family", "conflict") => ("family_conflict_patterns", "/conflict_presence/level"),
        ("family", "repaired") => (
            "family_conflict_patterns",
            "/conflict_resolution/effectiveness",
        ),
        ("family", "plans_made") => (
            "family_traditions_connection",
            "/gatherings_plans/discussed",
        ),
        ("workplace", "conflict") => (
            "workplace_meeting_decisions",
            "/disagreement_handling/present",
        ),
        ("workplace", "initiator") => (
            "workplace_communication",
            "/information_flow/proactive_participant",
        ),
        ("workplace", "plans_made") => ("workplace_meeting_decisions", "/action_items/tracked"),
        ("workplace", "plans_kept") => ("workplace_collaboration", "/follow_through/rating"),
        _ => return None,
    })
}

/// Reads a rating string as yes/no: a "no"-like phrase wins over a "yes"-like word.
pub(super) fn reads_as_yes(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let l = s.to_lowercase();
            let first = l.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
            let no_first = [
                "none",
                "no",
                "not",
                "never",
                "unrepaired",
                "ineffective",
                "dropped",
                "absent",
            ];
            let no_phrase = [
                "not yet",
                "fell through",
                "not enough",
                "unrepaired",
                "mostly open",
                "still open",
                "no plans",
                "not repaired",
                "not kept",
                "not carried",
            ];
            let yes = [
                "effective",
                "repaired",
                "kept",
                "carried out",
                "followed through",
                "seen through",
                "reliable",
                "strong",
                "healthy",
                "high",
                "rare",
                "occasional",
                "frequent",
                "moderate",
                "present",
                "yes",
                "concrete",
            ];
            if no_first.contains(&first) || no_phrase.iter().any(|w| l.contains(w)) {
                Some(false)
            } else if yes.iter().any(|w| l.contains(w)) {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

pub(super) fn overall_score(v: &Value) -> Option<f64> {
    [
        "/overall/score",
        "/overall_health_assessment/score",
        "/overall_intimacy_assessment/score",
    ]
    .iter()
    .find_map(|p| v.pointer(p).and_then(Value::as_f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_read_as_yes_or_no() {
        assert_eq!(
            reads_as_yes(&Value::from("effective: repaired")),
            Some(true)
        );
        assert_eq!(
            reads_as_yes(&Value::from("not yet effective: unrepaired")),
            Some(false)
        );
        assert_eq!(reads_as_yes(&Value::from("none")), Some(false));
        assert_eq!(reads_as_yes(&Value::from("mostly open plans")), Some(false));
        assert_eq!(
            reads_as_yes(&Value::from("concrete, with plans carried out")),
            Some(true)
        );
    }
}

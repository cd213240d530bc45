//! Every insight type gets schema-valid content, for couples and groups, with and without
//! excerpts, and the same content twice from the same chat.

use super::*;

#[test]
fn every_insight_type_gets_schema_valid_content() {
    for spec in insight_types() {
        let out = write_insight(
            &spec.response_schema,
            &grounding(&spec, &["Asha", "Ben"], true),
        );
        assert_valid(&spec, &out);
    }
}

#[test]
fn valid_for_group_chats_and_without_excerpts() {
    for spec in insight_types() {
        for people in [&["Asha", "Ben", "Chen", "Dev"][..], &["Asha"][..]] {
            for with_excerpts in [true, false] {
                let out = write_insight(
                    &spec.response_schema,
                    &grounding(&spec, people, with_excerpts),
                );
                assert_valid(&spec, &out);
            }
        }
        // Nothing at all (the fake vendors answer this way): still valid.
        assert_valid(
            &spec,
            &write_insight(&spec.response_schema, &Grounding::default()),
        );
    }
}

#[test]
fn deterministic_and_grounded_in_the_chat() {
    let spec = spec("communication_basics");
    let g = grounding(&spec, &["Asha", "Ben"], true);
    let a = write_insight(&spec.response_schema, &g);
    assert_eq!(a, write_insight(&spec.response_schema, &g));
    // Numbers come from the statistics; names from the participants; quotes from the excerpts.
    assert_eq!(a["initiation_balance"]["participants"][0]["name"], "Asha");
    assert_eq!(
        a["initiation_balance"]["participants"][0]["initiation_count"],
        30
    );
    let quotes: Vec<&str> = a["communication_strengths"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    let all: Vec<String> = g
        .excerpts
        .iter()
        .flat_map(|e| e.messages.iter().map(|m| m.text.clone()))
        .collect();
    assert!(
        quotes.iter().all(|q| all.iter().any(|m| m == q)),
        "{quotes:?}"
    );
    assert!(!quotes.iter().any(|q| q.contains("omitted")));
}

//! Tests of the lexicon and its cue matching.

use super::*;

#[test]
fn cues_match_whole_words_and_emoji() {
    assert!(contains_cue("i love you", "love"));
    assert!(!contains_cue("gloves", "love"));
    assert!(contains_cue("haha 😂", "😂"));
    assert!(contains_cue("are you ok?", "?"));
    assert!(contains_cue("how are you doing", "how are you"));
    // A whole-word match after an overlapping partial one still counts.
    assert!(contains_cue("xab ab ab", "ab ab"));
    assert!(contains_cue("don't stop", "t"));
    assert!(!contains_cue("lovely", "love"));
    assert!(!contains_cue("", "love"));
    assert!(!contains_cue("love", ""));
}

#[test]
fn sections_find_their_theme() {
    assert_eq!(
        theme_for("conflict_triggers").phrase,
        "disagreements and how they are repaired"
    );
    assert_eq!(
        theme_for("hard_times_support").phrase,
        "looking out for each other"
    );
    assert_eq!(theme_for("something_else").phrase, GENERAL.phrase);
    assert!(is_concern("care_gaps") && !is_concern("care_styles"));
}

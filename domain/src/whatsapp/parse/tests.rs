//! Tests of the second pass: author splitting, and multi-line and system messages.

use super::*;

#[test]
fn split_author_rules() {
    assert_eq!(split_author(b"Alice: hi: there"), Some((&b"Alice"[..], 7)));
    assert_eq!(split_author(b"Alice:"), Some((&b"Alice"[..], 6)));
    assert_eq!(split_author(b"Alice added Bob"), None);
    assert_eq!(
        split_author(b"Bob changed the subject from \"a: b\" to \"c\""),
        None
    );
    assert_eq!(split_author(b"Dr. J:x: y"), Some((&b"Dr. J:x"[..], 9)));
}

#[test]
fn multi_line_and_system() {
    let chat = parse(
        "12/08/2016, 16:20 - Messages are encrypted\n12/08/2016, 16:21 - Alice: one\ntwo\r\n\n12/08/2016, 16:22 - Bob: x\n",
    );
    let v: Vec<_> = chat.iter().map(|m| (m.author, m.text)).collect();
    assert_eq!(
        v,
        vec![
            (None, "Messages are encrypted"),
            (Some("Alice"), "one\ntwo"),
            (Some("Bob"), "x")
        ]
    );
    assert_eq!(chat.participants, ["Alice", "Bob"]);
}

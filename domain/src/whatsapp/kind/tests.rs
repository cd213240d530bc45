//! Tests of message classification across the export languages.

use super::*;

#[test]
fn classes() {
    assert_eq!(
        classify("<Media omitted>", "<Media omitted>", false),
        MessageKind::Media
    );
    assert_eq!(
        classify("image omitted", "image omitted", true),
        MessageKind::Media
    );
    assert_eq!(
        classify(
            "report.pdf • 3 pages document omitted",
            "report.pdf • 3 pages document omitted",
            true
        ),
        MessageKind::Media
    );
    assert_eq!(
        classify("the rest was omitted", "the rest was omitted", false),
        MessageKind::Text
    );
    assert_eq!(
        classify(
            "<attached: 00000012-PHOTO-2020-06-05-13-44-04.jpg>",
            "<attached: 00000012-PHOTO-2020-06-05-13-44-04.jpg>",
            true
        ),
        MessageKind::Media
    );
    assert_eq!(
        classify(
            "IMG-20200101-WA0001.jpg (file attached)",
            "IMG-20200101-WA0001.jpg (file attached)",
            false
        ),
        MessageKind::Media
    );
    assert_eq!(
        classify(
            "This message was deleted",
            "This message was deleted",
            false
        ),
        MessageKind::Deleted
    );
    assert_eq!(
        classify(
            "This message was deleted.",
            "This message was deleted.",
            true
        ),
        MessageKind::Deleted
    );
    assert_eq!(
        classify(
            "You deleted this message",
            "You deleted this message",
            false
        ),
        MessageKind::Deleted
    );
    assert_eq!(
        classify(
            "ok <This message was edited>",
            "ok <This message was edited>",
            false
        ),
        MessageKind::Edited
    );
    assert_eq!(
        classify("Missed voice call", "Missed voice call", false),
        MessageKind::Call
    );
    assert_eq!(
        classify("Video call, 12 min", "Video call, 12 min", false),
        MessageKind::Call
    );
    assert_eq!(classify("null", "null", false), MessageKind::Call);
    assert_eq!(classify("nullify", "nullify", false), MessageKind::Text);
    assert_eq!(classify("", "", false), MessageKind::Text);
}

fn one(body: &str, mark: bool) -> MessageKind {
    let first = body.split('\n').next().unwrap_or(body);
    classify(body, first, mark)
}

#[test]
fn localized_placeholders() {
    use MessageKind::*;
    for (body, mark, want) in [
        (
            "IMG-20230101-WA0001.jpg (soubor byl přiložen)",
            false,
            Media,
        ),
        ("görüntü dahil edilmedi", true, Media),
        ("görüntü dahil edilmedi", false, Text),
        (
            "<angehängt: 00000012-PHOTO-2020-06-05-13-44-04.jpg>",
            true,
            Media,
        ),
        (
            "<pièce jointe : 00000013-VIDEO-2020-06-05-13-44-04.mp4>",
            true,
            Media,
        ),
        (
            "<添付ファイル：00000014-PHOTO-2020-06-05-13-44-04.jpg>",
            true,
            Media,
        ),
        ("<note: 12 things>", false, Text),
        ("ok <Diese Nachricht wurde bearbeitet>", false, Edited),
        ("tamam ‎<Bu mesaj düzenlendi>", false, Edited),
        ("POLL:\nWhere?\nOPTION: Pizza (2 votes)", false, Poll),
        ("POLL:", false, Text),
        ("این پیام حذف شد", true, Deleted),
        ("تصویر حذف شد", true, Media),
        ("View once photo omitted", false, Media),
    ] {
        assert_eq!(one(body, mark), want, "{body}");
    }
    assert_eq!(
        strip_edited_marker("tamam \u{200E}<Bu mesaj düzenlendi>"),
        Some("tamam")
    );
    assert_eq!(strip_edited_marker("<b>"), None);
}

//! Telegram and Meta importers through the one upload entry point (`import::read`):
//! choosing a chat of a full-account export, refusals as sentences, statistics with the
//! platform recorded. The message-level expectations live in `tests/fixtures`.

use relivchats_domain::import::{self, Options};
use relivchats_domain::whatsapp::{self, ImportError};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn full_account_export_is_refused_with_the_chats_listed_or_read_when_picked() {
    let bytes = fixture("telegram_full_account.json");
    let err = import::read(&bytes).expect_err("several chats");
    assert_eq!(
        err,
        ImportError::SeveralChats {
            count: 3,
            names: "“Bob”, “Climbing club”, “Saved Messages”".to_owned()
        }
    );
    assert!(
        err.to_string()
            .starts_with("This export holds 3 chats: “Bob”")
    );
    let options = Options {
        chat: Some("Climbing club".to_owned()),
        ..Options::default()
    };
    let upload = import::read_with(&bytes, &options).expect("picked");
    let chat = upload.chat();
    assert_eq!(chat.participants, ["Dana"]);
    assert_eq!(chat.title(), "Climbing club");
    assert_eq!(upload.platform(), "telegram");
}

#[test]
fn statistics_of_a_telegram_chat_carry_the_platform() {
    let bytes = fixture("telegram_personal.json");
    let upload = import::read(&bytes).expect("read");
    let chat = upload.chat();
    whatsapp::ensure_chat(&chat).expect("chat");
    let m = whatsapp::chat_metadata(&chat);
    assert_eq!(m.extended.platform, "telegram");
    assert_eq!(m.extended.chat_name.as_deref(), Some("Bob"));
    assert_eq!(m.total_messages, 11);
    assert_eq!(m.media_shared_count, 3);
    assert_eq!((m.extended.calls.total, m.extended.calls.missed), (2, 1));
    assert_eq!(m.extended.polls.total, 1);
    assert_eq!(m.extended.locations.total, 1);
    assert_eq!(m.edited_messages_count, 1);
    assert_eq!(m.links_shared_count, 2);
    let t = m.extended.media_by_type;
    assert_eq!((t.image, t.sticker, t.audio), (1, 1, 1));
}

#[test]
fn meta_exports_fix_mojibake_and_name_the_platform() {
    let bytes = fixture("instagram_message_1.json");
    let upload = import::read(&bytes).expect("read");
    assert_eq!(upload.platform(), "instagram");
    let chat = upload.chat();
    assert_eq!(chat.participants, ["Zoë", "sam"]);
    assert_eq!(chat.messages[0].text, "Çok güzel café 😂");
    let zip = fixture("messenger_zip_two_parts.zip");
    let upload = import::read(&zip).expect("zip");
    assert_eq!(upload.platform(), "messenger");
    let chat = upload.chat();
    assert_eq!(chat.messages.len(), 4);
    assert!(
        chat.messages
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
}

#[test]
fn bad_and_unknown_json_are_sentences() {
    let err = import::read(br#"{"name": "Bob", "messages": [{"id": 1, "type": "#).expect_err("cut");
    assert!(matches!(err, ImportError::BadJson(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("This file looks like a Telegram")
    );
    let err = import::read(br#"{"hello": "world"}"#).expect_err("unknown");
    assert_eq!(err, ImportError::UnknownJson);
    // WhatsApp text still goes the WhatsApp way.
    let upload = import::read(b"12/08/2016, 16:20 - Alice: {x}\n").expect("text");
    assert_eq!(upload.platform(), "whatsapp");
    assert_eq!(upload.chat().messages[0].text, "{x}");
}

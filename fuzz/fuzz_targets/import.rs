//! Any bytes through the one upload entry point (`import::read`): WhatsApp text and zips,
//! Telegram `result.json`, Meta `message_N.json` and their zips. Nothing may panic, and
//! whatever is read must give statistics and valid CLI JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relivchats_domain::{import, whatsapp};

fuzz_target!(|data: &[u8]| {
    exercise(data);
    // The same bytes wrapped as a Telegram text and as a Meta message, so the fuzzer
    // reaches the JSON importers' field handling without having to invent the layout.
    let text = String::from_utf8_lossy(data);
    let telegram = format!(
        r#"{{"name":"x","messages":[{{"id":1,"type":"message","date":"2024-01-01T00:00:00","from":"a","text":{}}}]}}"#,
        serde_json::to_string(&text).unwrap_or_default()
    );
    exercise(telegram.as_bytes());
    let meta = format!(
        r#"{{"participants":[{{"name":"a"}}],"messages":[{{"sender_name":"a","timestamp_ms":1,"content":{}}}]}}"#,
        serde_json::to_string(&text).unwrap_or_default()
    );
    exercise(meta.as_bytes());
});

fn exercise(bytes: &[u8]) {
    let Ok(upload) = import::read(bytes) else {
        return;
    };
    let chat = upload.chat();
    let _ = whatsapp::chat_metadata(&chat);
    let json = whatsapp::cli_json(&chat);
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "CLI output is not JSON"
    );
    let _ = upload.platform();
}

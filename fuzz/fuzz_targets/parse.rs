//! Any bytes through decode → parse → statistics → CLI JSON: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relivchats_domain::whatsapp;

fuzz_target!(|data: &[u8]| {
    // Raw text (lossy, so every input reaches the parser) and the decoder's own view.
    let text = String::from_utf8_lossy(data);
    exercise(&text);
    if let Ok(decoded) = whatsapp::decode(data) {
        exercise(&decoded);
    }
});

fn exercise(text: &str) {
    let chat = whatsapp::parse(text);
    let _ = whatsapp::chat_metadata(&chat);
    let json = whatsapp::cli_json(&chat);
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "CLI output is not JSON"
    );
    let _ = whatsapp::summary(&chat);
}

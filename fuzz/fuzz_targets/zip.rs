//! Archive handling: mutated zip files (the seed corpus holds real exports) through the
//! decoder with small limits, so bombs are cut short quickly. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relivchats_domain::whatsapp;

fuzz_target!(|data: &[u8]| {
    let limits = whatsapp::DecodeLimits {
        max_text_bytes: 1 << 20,
        max_entries: 64,
    };
    // Force the zip path even when a mutation breaks the magic bytes.
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend_from_slice(data.get(4..).unwrap_or_default());
    for input in [data, bytes.as_slice()] {
        if let Ok(text) = whatsapp::decode_with(input, limits) {
            let chat = whatsapp::parse(&text);
            let _ = whatsapp::chat_metadata(&chat);
        }
    }
});

//! Table-driven tests over `tests/fixtures/`: every input file has either
//! `NAME.expected.json` (the CLI contract output of `relivchats chat parse`) or
//! `NAME.error` (a fragment of the rejection message). Optional `NAME.summary.json`
//! checks the `--summary` object as well, and optional `NAME.parsed.json` what the CLI
//! contract does not show: participants, the chat's name and title, and each message's kind.
//!
//! To (re)write expected files after a deliberate change: `BLESS=1 cargo test -p
//! relivchats-domain --test parser_variants`, then review the diff.

use std::path::{Path, PathBuf};

use relivchats_domain::import;
use relivchats_domain::whatsapp::{self, ImportError};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let sidecar = [".expected.json", ".summary.json", ".parsed.json", ".error"];
            !(sidecar.iter().any(|s| name.ends_with(s)) || name.starts_with('.'))
        })
        .collect();
    v.sort();
    v
}

fn sibling(input: &Path, suffix: &str) -> PathBuf {
    let mut s = input.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn check(input: &Path, bless: bool) -> Result<(), String> {
    let bytes = std::fs::read(input).map_err(|e| e.to_string())?;
    let error_file = sibling(input, ".error");
    if error_file.exists() {
        let want = std::fs::read_to_string(&error_file).map_err(|e| e.to_string())?;
        return match import::parse_to_cli_json(&bytes) {
            Err(e) if e.to_string().contains(want.trim()) => Ok(()),
            Err(e) => Err(format!("wrong error: {e}")),
            Ok(out) => Err(format!(
                "expected a rejection, got {}",
                &out[..out.len().min(200)]
            )),
        };
    }
    let got = import::parse_to_cli_json(&bytes).map_err(|e| format!("rejected: {e}"))?;
    let got: Value = serde_json::from_str(&got).map_err(|e| format!("not JSON: {e}"))?;
    compare(&sibling(input, ".expected.json"), &got, bless)?;
    let parsed_file = sibling(input, ".parsed.json");
    if parsed_file.exists() {
        let upload = import::read(&bytes).map_err(|e| e.to_string())?;
        let chat = upload.chat();
        let kinds: Vec<Value> = chat
            .messages
            .iter()
            .map(|m| serde_json::to_value(m.kind).unwrap_or_default())
            .collect();
        let parsed = serde_json::json!({
            "platform": upload.platform(),
            "participants": chat.participants,
            "chat_name": chat.chat_name,
            "title": chat.title(),
            "kinds": kinds,
        });
        compare(&parsed_file, &parsed, bless)?;
    }
    let summary_file = sibling(input, ".summary.json");
    if summary_file.exists() {
        let summary: Value =
            serde_json::from_str(&import::summary_json(&bytes).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        compare(&summary_file, &summary, bless)?;
    }
    Ok(())
}

fn compare(expected_file: &Path, got: &Value, bless: bool) -> Result<(), String> {
    if bless {
        let pretty = serde_json::to_string_pretty(got).map_err(|e| e.to_string())?;
        return std::fs::write(expected_file, pretty + "\n").map_err(|e| e.to_string());
    }
    let want = std::fs::read_to_string(expected_file)
        .map_err(|e| format!("{}: {e}", expected_file.display()))?;
    let want: Value = serde_json::from_str(&want).map_err(|e| e.to_string())?;
    if &want == got {
        Ok(())
    } else {
        Err(format!(
            "mismatch\n--- want\n{}\n--- got\n{}",
            serde_json::to_string_pretty(&want).unwrap_or_default(),
            serde_json::to_string_pretty(got).unwrap_or_default()
        ))
    }
}

#[test]
fn every_fixture_parses_as_expected() {
    let bless = std::env::var_os("BLESS").is_some();
    let inputs = inputs();
    assert!(inputs.len() >= 40, "only {} fixtures", inputs.len());
    let failures: Vec<String> = inputs
        .iter()
        .filter_map(|p| {
            check(p, bless)
                .err()
                .map(|e| format!("{}: {e}", p.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

mod zips {
    use std::io::{Cursor, Write};

    use relivchats_domain::whatsapp::{self, DecodeLimits, ImportError};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    const CHAT: &str = "12/08/2016, 16:20 - Alice: hi\n12/08/2016, 16:21 - Bob: hey\n";

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn picks_the_chat_among_media_and_other_text() {
        let z = zip_of(&[
            ("big-notes.txt", "x".repeat(10_000).as_bytes()),
            ("VID-1.mp4", &[0u8; 2048]),
            ("WhatsApp Chat with Bob.txt", CHAT.as_bytes()),
        ]);
        assert_eq!(whatsapp::decode(&z).expect("decode"), CHAT);
        let z = zip_of(&[
            ("a/_chat.txt", CHAT.as_bytes()),
            ("a/WhatsApp Chat - x.txt", b"other"),
        ]);
        assert_eq!(whatsapp::decode(&z).expect("decode"), CHAT);
        let z = zip_of(&[("small.txt", b"x"), ("export.TXT", CHAT.as_bytes())]);
        assert_eq!(whatsapp::decode(&z).expect("decode"), CHAT);
    }

    #[test]
    fn utf16_chat_inside_a_zip() {
        let mut data = vec![0xFF, 0xFE];
        data.extend(CHAT.encode_utf16().flat_map(u16::to_le_bytes));
        let z = zip_of(&[("_chat.txt", &data)]);
        assert_eq!(whatsapp::decode(&z).expect("decode"), CHAT);
    }

    #[test]
    fn nested_zip_is_not_opened() {
        let inner = zip_of(&[("_chat.txt", CHAT.as_bytes())]);
        let outer = zip_of(&[("chat.zip", &inner), ("photo.jpg", &[0xFF, 0xD8, 0xFF])]);
        assert_eq!(whatsapp::decode(&outer), Err(ImportError::NestedZip));
    }

    #[test]
    fn zip_bomb_is_refused_while_reading() {
        // 8 MiB of zeros compresses to a few KiB; the limit is 1 MiB.
        let zeros = vec![0u8; 8 << 20];
        let z = zip_of(&[("_chat.txt", &zeros)]);
        assert!(z.len() < 64 * 1024, "compressed to {}", z.len());
        let limits = DecodeLimits {
            max_text_bytes: 1 << 20,
            ..DecodeLimits::default()
        };
        assert_eq!(
            whatsapp::decode_with(&z, limits),
            Err(ImportError::TooLarge { limit_mib: 1 })
        );
    }

    #[test]
    fn too_many_entries() {
        let names: Vec<String> = (0..50).map(|i| format!("f{i}.jpg")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let z = zip_of(&entries);
        let limits = DecodeLimits {
            max_entries: 10,
            ..DecodeLimits::default()
        };
        assert_eq!(
            whatsapp::decode_with(&z, limits),
            Err(ImportError::TooManyEntries { limit: 10 })
        );
    }

    #[test]
    fn damaged_zip() {
        let mut z = zip_of(&[("_chat.txt", CHAT.as_bytes())]);
        z.truncate(z.len() / 2);
        assert!(matches!(whatsapp::decode(&z), Err(ImportError::BadZip(_))));
        assert!(matches!(
            whatsapp::decode(b"PK\x03\x04garbage"),
            Err(ImportError::BadZip(_))
        ));
    }

    #[test]
    fn errors_read_as_sentences() {
        for e in [
            ImportError::NestedZip,
            ImportError::NoTextInZip,
            ImportError::TooLarge { limit_mib: 64 },
            ImportError::NotAChat,
            ImportError::Binary,
        ] {
            let msg = e.to_string();
            assert!(msg.starts_with("This ") && msg.ends_with('.'), "{msg}");
        }
    }
}

#[test]
fn empty_file_is_an_empty_list_not_an_error() {
    assert_eq!(whatsapp::parse_to_cli_json(b"").expect("empty"), "[]");
    assert!(matches!(
        whatsapp::parse_to_cli_json(b"hello\n"),
        Err(ImportError::NotAChat)
    ));
}

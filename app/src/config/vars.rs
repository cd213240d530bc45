//! Reading variables: lookups, numbers, booleans, lists, and the secrets generated once under
//! `DATA_DIR` in development.

use std::{collections::HashMap, path::Path};

use anyhow::{Context, bail};

pub(super) fn parse_bool(raw: Option<&str>, key: &str) -> anyhow::Result<Option<bool>> {
    Ok(match raw {
        None => None,
        Some("1" | "true" | "yes" | "on") => Some(true),
        Some("0" | "false" | "no" | "off") => Some(false),
        Some(other) => bail!("{key} must be true or false, not {other:?}"),
    })
}

/// A variable's value, trimmed; empty counts as unset (`.env.example` lists keys with no value).
pub(crate) fn lookup(vars: &HashMap<String, String>, key: &str) -> Option<String> {
    vars.get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub(crate) fn parse_num<T: std::str::FromStr>(
    raw: Option<String>,
    default: T,
    key: &str,
) -> anyhow::Result<T> {
    match raw {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{key} must be a number, not {v:?}")),
    }
}

/// A JSON list (`["a","b"]`, as the earlier service took) or a comma-separated one.
pub(super) fn parse_list(raw: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list;
    }
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret kept under `DATA_DIR` (the dev-auth secret, the development encryption key),
/// generated the first time, so separate processes (`token` and `serve`) agree without anyone
/// configuring it.
pub(super) fn local_secret(
    data_dir: &Path,
    file: &str,
    generate: fn() -> String,
) -> anyhow::Result<String> {
    use std::io::Write;
    let path = data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create DATA_DIR {}", data_dir.display()))?;
    let secret = generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_owned())
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// Pairs as the variable map every `from_map`/`from_vars` reads; for the config tests.
#[cfg(test)]
pub(crate) fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

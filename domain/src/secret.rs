//! A secret value (API key, signing secret, database URL) whose `Debug` never prints it.
//!
//! Config structs derive `Debug` and get logged at start-up or in error reports; holding keys in
//! this type makes a leak by formatting impossible, and `secrecy` zeroes the memory on drop.
//! Code reads the value only where it sends it (`expose`).

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The value itself: call it only where the secret leaves the process (a header, a
    /// signature, a connection string).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_value() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Settings {
            api_key: Secret,
            other: Option<Secret>,
        }
        let s = Settings {
            api_key: Secret::new("sk-live-123"),
            other: Some(Secret::new("whsec_abc")),
        };
        let printed = format!("{s:?} {s:#?}");
        assert!(!printed.contains("sk-live-123") && !printed.contains("whsec_abc"));
        assert!(printed.contains("Secret(***)"));
        assert_eq!(s.api_key.expose(), "sk-live-123");
    }
}

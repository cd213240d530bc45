//! Encryption at rest for chat content (Fernet: AES-128-CBC + HMAC-SHA256).
//!
//! Fernet, not a newer AEAD, because the earlier service stored its data that way: with the same
//! `ENCRYPTION_KEY` its rows stay readable here. Values are stored as the token text.

use base64::{Engine as _, engine::general_purpose::URL_SAFE};
use serde::{Serialize, de::DeserializeOwned};

/// Why a value could not be decrypted or a key not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("ENCRYPTION_KEY must be 32 bytes in URL-safe base64 (a Fernet key)")]
    BadKey,
    #[error("a stored value could not be decrypted: wrong ENCRYPTION_KEY or corrupted data")]
    Undecryptable,
    #[error("a decrypted value is not the JSON that was expected: {0}")]
    BadJson(String),
}

/// Encrypts and decrypts values with one Fernet key.
pub struct Cipher {
    fernet: fernet::Fernet,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

/// Every Fernet token starts with the version byte 0x80 and a timestamp: `gAAAAA…` in base64.
const TOKEN_PREFIX: &str = "gAAAAA";

impl Cipher {
    pub fn new(key: &str) -> Result<Self, CipherError> {
        fernet::Fernet::new(key.trim())
            .map(|fernet| Self { fernet })
            .ok_or(CipherError::BadKey)
    }

    /// A fresh random key, in the format `ENCRYPTION_KEY` expects.
    pub fn generate_key() -> String {
        fernet::Fernet::generate_key()
    }

    pub fn encrypt(&self, plain: &str) -> String {
        self.fernet.encrypt(plain.as_bytes())
    }

    /// Decrypts a token. A value that is not a Fernet token at all is returned as it is: the
    /// earlier service did the same for rows written before encryption was introduced.
    pub fn decrypt(&self, stored: &str) -> Result<String, CipherError> {
        match self.fernet.decrypt(stored) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| CipherError::Undecryptable),
            Err(_) if !stored.starts_with(TOKEN_PREFIX) => Ok(stored.to_owned()),
            Err(_) => Err(CipherError::Undecryptable),
        }
    }

    /// Encrypts bytes into a Fernet token kept as raw bytes (the token's base64 decoded), for
    /// `BYTEA` columns: a standard token, a third smaller than its text form.
    pub fn encrypt_bytes(&self, plain: &[u8]) -> Vec<u8> {
        // The fernet crate only speaks base64 text; its own output always decodes.
        URL_SAFE
            .decode(self.fernet.encrypt(plain))
            .unwrap_or_default()
    }

    /// Decrypts what [`Cipher::encrypt_bytes`] produced. No plaintext fallback here: bytes
    /// that are not a valid token under this key are an error.
    pub fn decrypt_bytes(&self, token: &[u8]) -> Result<Vec<u8>, CipherError> {
        self.fernet
            .decrypt(&URL_SAFE.encode(token))
            .map_err(|_| CipherError::Undecryptable)
    }

    pub fn encrypt_json<T: Serialize + ?Sized>(&self, value: &T) -> String {
        // Serialising our own types to a String cannot fail (no non-string map keys).
        self.encrypt(&serde_json::to_string(value).unwrap_or_default())
    }

    pub fn decrypt_json<T: DeserializeOwned>(&self, stored: &str) -> Result<T, CipherError> {
        let plain = self.decrypt(stored)?;
        serde_json::from_str(&plain).map_err(|e| CipherError::BadJson(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_the_wrong_key() {
        let cipher = Cipher::new(&Cipher::generate_key()).unwrap();
        let token = cipher.encrypt("héllo 👋\nworld");
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_ne!(cipher.encrypt("same"), cipher.encrypt("same"), "random IVs");
        assert_eq!(cipher.decrypt(&token).unwrap(), "héllo 👋\nworld");
        let other = Cipher::new(&Cipher::generate_key()).unwrap();
        assert_eq!(other.decrypt(&token), Err(CipherError::Undecryptable));
        assert_eq!(
            cipher.decrypt("legacy plaintext").unwrap(),
            "legacy plaintext"
        );
        let json = cipher.encrypt_json(&vec!["Asha", "Ben"]);
        assert_eq!(
            cipher.decrypt_json::<Vec<String>>(&json).unwrap(),
            vec!["Asha", "Ben"]
        );
        let raw = cipher.encrypt_bytes(b"\x00\xffbytes");
        assert_eq!(raw[0], 0x80, "a Fernet token, version byte first");
        assert_eq!(cipher.decrypt_bytes(&raw).unwrap(), b"\x00\xffbytes");
        assert_eq!(other.decrypt_bytes(&raw), Err(CipherError::Undecryptable));
        assert_eq!(Cipher::new("short").unwrap_err(), CipherError::BadKey);
    }

    /// A token made by Python's `cryptography.fernet` (the earlier service) with a known key.
    #[test]
    fn reads_tokens_of_the_earlier_service() {
        let cipher = Cipher::new("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").unwrap();
        let token = "gAAAAABrB-ZibBffNGrE01XFZe68wCBPeCj-CVRZ6Re9LxrKM5reCQYk3hkATz-Yjzb7ucDVRJctWDbY90wc5RCDj6PJk6nwOqVvlqHPI_Q529LqGjfOIUI=";
        assert_eq!(cipher.decrypt(token).unwrap(), "hello from python ✓");
    }
}

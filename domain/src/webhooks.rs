//! Svix webhook signatures (Clerk sends its webhooks through Svix).
//!
//! `svix-signature` is a space-separated list of `v1,<base64>` entries, each the standard-base64
//! HMAC-SHA256 of `"{svix-id}.{svix-timestamp}.{raw body}"` keyed with the base64-decoded part
//! of the `whsec_…` secret. The timestamp must be within five minutes of now, either way; the
//! id stays the same across redeliveries, so it is the replay key. "Now" is a parameter so the
//! window is testable without sleeping.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub use crate::payments::signature::SignatureError;

/// How far `svix-timestamp` may be from now, as in Svix's own libraries.
pub const SVIX_TOLERANCE_SECS: i64 = 5 * 60;

/// The headers of one delivery (`svix-*`, or the `webhook-*` names of Standard Webhooks).
#[derive(Debug, Clone, Copy)]
pub struct SvixHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

fn key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    STANDARD
        .decode(secret.trim().trim_start_matches("whsec_"))
        .map_err(|_| SignatureError::Malformed("CLERK_WEBHOOK_SECRET"))
}

fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `svix-signature` header Svix would send (for tests and fake senders).
pub fn svix_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = key(secret).unwrap_or_default();
    format!(
        "v1,{}",
        STANDARD.encode(sign(&key, id, &timestamp.to_string(), body))
    )
}

/// Verifies one delivery; returns the message id (the replay key).
pub fn verify_svix<'a>(
    secret: &str,
    headers: SvixHeaders<'a>,
    body: &[u8],
    now: i64,
) -> Result<&'a str, SignatureError> {
    let id = headers.id.ok_or(SignatureError::Missing("svix-id"))?;
    let raw_ts = headers
        .timestamp
        .ok_or(SignatureError::Missing("svix-timestamp"))?;
    let signatures = headers
        .signature
        .ok_or(SignatureError::Missing("svix-signature"))?;
    let timestamp: i64 = raw_ts
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("svix-timestamp"))?;
    let age = now - timestamp;
    if age.abs() > SVIX_TOLERANCE_SECS {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs: SVIX_TOLERANCE_SECS,
        });
    }
    let expected = sign(&key(secret)?, id, raw_ts.trim(), body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .any(|sig| bool::from(sig.as_slice().ct_eq(&expected)));
    if matches {
        Ok(id)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn headers<'a>(ts: &'a str, sig: &'a str) -> SvixHeaders<'a> {
        SvixHeaders {
            id: Some(ID),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    /// The published Svix / Standard Webhooks vector.
    #[test]
    fn the_published_vector_verifies() {
        let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(svix_signature(SECRET, ID, TS, BODY), expected);
        let ts = TS.to_string();
        assert_eq!(
            verify_svix(SECRET, headers(&ts, expected), BODY, TS + 10),
            Ok(ID)
        );
        // One of several entries, others of unknown versions skipped.
        let list = format!("v2,abc v1,bm90IGl0 {expected}");
        assert_eq!(verify_svix(SECRET, headers(&ts, &list), BODY, TS), Ok(ID));
    }

    #[test]
    fn wrong_stale_or_missing_is_refused() {
        let ts = TS.to_string();
        let good = svix_signature(SECRET, ID, TS, BODY);
        assert_eq!(
            verify_svix(SECRET, headers(&ts, &good), br#"{"test": 1}"#, TS),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify_svix(SECRET, headers(&ts, &good), BODY, TS + 301),
            Err(SignatureError::Stale { .. })
        ));
        assert!(matches!(
            verify_svix(SECRET, headers(&ts, &good), BODY, TS - 301),
            Err(SignatureError::Stale { .. })
        ));
        let missing = SvixHeaders {
            id: None,
            ..headers(&ts, &good)
        };
        assert_eq!(
            verify_svix(SECRET, missing, BODY, TS),
            Err(SignatureError::Missing("svix-id"))
        );
    }
}

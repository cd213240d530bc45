//! Webhook and checkout signatures of Stripe and Razorpay.
//!
//! Both are hex HMAC-SHA256 over the **raw** request bytes (never re-serialised JSON), compared
//! in constant time. Stripe also signs a timestamp, which must be recent (replay protection);
//! Razorpay has none, so its replays are caught by the event-id dedupe instead. "Now" is a
//! parameter so the tolerance is testable without sleeping.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How old a Stripe signature may be, as in Stripe's own SDKs.
pub const STRIPE_TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. The `Display` text is the sentence a 400 answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no {0} header")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the signature does not match the request body")]
    Mismatch,
    #[error(
        "the signature timestamp is {age_secs} s old, more than the {tolerance_secs} s allowed"
    )]
    Stale { age_secs: i64, tolerance_secs: i64 },
}

/// Lowercase hex of HMAC-SHA256(key, message parts concatenated).
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time equality of an expected lowercase hex digest and what the caller sent.
fn hex_matches(expected: &str, given: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Verifies `X-Razorpay-Signature`: hex HMAC-SHA256 of the raw body with the webhook secret.
pub fn verify_razorpay_webhook(
    secret: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing("X-Razorpay-Signature"))?;
    let expected = hmac_sha256_hex(secret.as_bytes(), &[body]);
    if hex_matches(&expected, signature) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The checkout handler's signature: HMAC of `order_id|payment_id` with the API key secret.
/// `order_id` must be the one stored with the order, not one the client sent.
pub fn verify_razorpay_checkout(
    key_secret: &str,
    order_id: &str,
    payment_id: &str,
    signature: &str,
) -> Result<(), SignatureError> {
    let expected = hmac_sha256_hex(
        key_secret.as_bytes(),
        &[order_id.as_bytes(), b"|", payment_id.as_bytes()],
    );
    if hex_matches(&expected, signature) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A parsed `Stripe-Signature` header: `t=…,v1=…[,v1=…][,v0=…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignatureHeader {
    pub timestamp: i64,
    /// Every `v1` value: there are several while the endpoint secret is being rolled.
    pub v1: Vec<String>,
}

impl StripeSignatureHeader {
    const NAME: &'static str = "Stripe-Signature";

    /// Splits on `,` then on the first `=`; ignores schemes other than `t` and `v1`.
    pub fn parse(raw: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for item in raw.split(',') {
            let Some((key, value)) = item.trim().split_once('=') else {
                continue;
            };
            match key {
                "t" => {
                    let t = value
                        .parse()
                        .map_err(|_| SignatureError::Malformed(Self::NAME))?;
                    timestamp = Some(t);
                }
                "v1" => v1.push(value.to_owned()),
                _ => {}
            }
        }
        match (timestamp, v1.is_empty()) {
            (Some(timestamp), false) => Ok(Self { timestamp, v1 }),
            _ => Err(SignatureError::Malformed(Self::NAME)),
        }
    }
}

/// Verifies a Stripe webhook exactly as Stripe's SDKs do: any `v1` equal to
/// hex HMAC-SHA256(`whsec_…` as UTF-8 bytes, `"{t}." + raw body`), then `t ≥ now − tolerance`.
pub fn verify_stripe(
    secret: &str,
    body: &[u8],
    header: Option<&str>,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing(StripeSignatureHeader::NAME))?;
    let parsed = StripeSignatureHeader::parse(header)?;
    let signed = format!("{}.", parsed.timestamp);
    let expected = hmac_sha256_hex(secret.as_bytes(), &[signed.as_bytes(), body]);
    // Compare against every candidate: no early exit that would time which one matched.
    let matched = parsed
        .v1
        .iter()
        .fold(false, |found, v| hex_matches(&expected, v) | found);
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age_secs = now_unix - parsed.timestamp;
    if age_secs > tolerance_secs {
        return Err(SignatureError::Stale {
            age_secs,
            tolerance_secs,
        });
    }
    Ok(())
}

/// The header Stripe would send for `body` at `timestamp` (used by tests and fake servers).
pub fn stripe_signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signed = format!("{timestamp}.");
    let v1 = hmac_sha256_hex(secret.as_bytes(), &[signed.as_bytes(), body]);
    format!("t={timestamp},v1={v1}")
}

/// The `X-Razorpay-Signature` Razorpay would send for `body` (tests and fake servers).
pub fn razorpay_signature(secret: &str, body: &[u8]) -> String {
    hmac_sha256_hex(secret.as_bytes(), &[body])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors computed with the providers' documented schemes (HMAC-SHA256 over `t.body` for Stripe, over the body for Razorpay).
    const STRIPE_SECRET: &str = "whsec_test_secret";
    const STRIPE_BODY: &[u8] = br#"{"id":"evt_test","object":"event"}"#;
    const STRIPE_HEADER: &str =
        "t=1700000000,v1=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724";

    #[test]
    fn stripe_vector() {
        assert_eq!(
            stripe_signature_header(STRIPE_SECRET, 1_700_000_000, STRIPE_BODY),
            STRIPE_HEADER
        );
        let now = 1_700_000_000 + 10;
        assert_eq!(
            verify_stripe(STRIPE_SECRET, STRIPE_BODY, Some(STRIPE_HEADER), now, 300),
            Ok(())
        );
    }

    #[test]
    fn razorpay_checkout_vector() {
        let sig = "70f13df81064af587112f16ce5fd459a79617a578536a114d745600c8e82a724";
        assert_eq!(
            verify_razorpay_checkout("key_secret_test", "order_test123", "pay_test456", sig),
            Ok(())
        );
        assert_eq!(
            verify_razorpay_checkout("key_secret_test", "order_test123", "pay_other", sig),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn razorpay_webhook_vector() {
        let body = br#"{"entity":"event","event":"order.paid"}"#;
        let sig = "b9a0979da16fa4e7bb15e9c5377e8573131656860f592d5a1b14792fe22f2da7";
        assert_eq!(razorpay_signature("wh_secret_test", body), sig);
        assert_eq!(
            verify_razorpay_webhook("wh_secret_test", body, Some(sig)),
            Ok(())
        );
        // Upper-case hex is the same signature.
        let upper = sig.to_ascii_uppercase();
        assert_eq!(
            verify_razorpay_webhook("wh_secret_test", body, Some(&upper)),
            Ok(())
        );
    }

    #[test]
    fn razorpay_rejects_missing_wrong_and_tampered() {
        let body = br#"{"entity":"event","event":"order.paid"}"#;
        let sig = razorpay_signature("wh_secret_test", body);
        assert_eq!(
            verify_razorpay_webhook("wh_secret_test", body, None),
            Err(SignatureError::Missing("X-Razorpay-Signature"))
        );
        assert_eq!(
            verify_razorpay_webhook("other_secret", body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        let mut tampered = body.to_vec();
        tampered[3] ^= 1;
        assert_eq!(
            verify_razorpay_webhook("wh_secret_test", &tampered, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_razorpay_webhook("wh_secret_test", body, Some("")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_accepts_any_of_several_v1_and_ignores_v0() {
        let good = STRIPE_HEADER.split_once("v1=").unwrap().1;
        let header = format!("t=1700000000,v0=abc,v1={},v1={good}", "0".repeat(64));
        assert_eq!(
            verify_stripe(
                STRIPE_SECRET,
                STRIPE_BODY,
                Some(&header),
                1_700_000_000,
                300
            ),
            Ok(())
        );
    }

    #[test]
    fn stripe_rejects_stale_but_accepts_the_edge_and_the_future() {
        let at = |now| verify_stripe(STRIPE_SECRET, STRIPE_BODY, Some(STRIPE_HEADER), now, 300);
        assert_eq!(at(1_700_000_300), Ok(()));
        assert_eq!(
            at(1_700_000_301),
            Err(SignatureError::Stale {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        // Like the SDKs, only the past side is checked.
        assert_eq!(at(1_600_000_000), Ok(()));
    }

    #[test]
    fn stripe_rejects_missing_malformed_wrong_and_tampered() {
        let verify = |body: &[u8], header: Option<&str>| {
            verify_stripe(STRIPE_SECRET, body, header, 1_700_000_000, 300)
        };
        assert_eq!(
            verify(STRIPE_BODY, None),
            Err(SignatureError::Missing("Stripe-Signature"))
        );
        for bad in ["", "t=abc,v1=00", "t=1700000000", "v1=00", "garbage"] {
            assert_eq!(
                verify(STRIPE_BODY, Some(bad)),
                Err(SignatureError::Malformed("Stripe-Signature")),
                "{bad}"
            );
        }
        let other = stripe_signature_header("whsec_other", 1_700_000_000, STRIPE_BODY);
        assert_eq!(
            verify(STRIPE_BODY, Some(&other)),
            Err(SignatureError::Mismatch)
        );
        let tampered = br#"{"id":"evt_test","object":"evenT"}"#;
        assert_eq!(
            verify(tampered, Some(STRIPE_HEADER)),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too: changing it breaks the signature.
        let moved = STRIPE_HEADER.replace("1700000000", "1700000001");
        assert_eq!(
            verify(STRIPE_BODY, Some(&moved)),
            Err(SignatureError::Mismatch)
        );
    }
}

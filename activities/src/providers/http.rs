//! Calling a vendor's JSON API with bounded retries: timeouts, 429, 5xx and dropped
//! connections are retried with backoff (honouring the vendor's `retryDelay`); anything else
//! fails at once. What is still failing after the last attempt is returned as a classified
//! [`ProviderError`], so the activity's retry policy can take over.

use std::time::Duration;

use relivchats_domain::retrieval::ProviderError;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

/// In-call retries; Temporal's retry policy sits above them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// Backoff after the first failure; doubles each time.
    pub base_delay: Duration,
    /// Longest wait inside one call: a vendor asking for more is left to the activity's
    /// retry (with `next_retry_delay`) rather than holding the activity slot.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// One `reqwest::Client` per vendor, with connect and overall timeouts.
pub fn client(timeout: Duration) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ProviderError::permanent("http", format!("cannot build an HTTP client: {e}")))
}

/// Sends the request built by `build` until it succeeds, fails for good, or runs out of
/// attempts; returns the parsed JSON body.
pub async fn send_json(
    provider: &'static str,
    policy: RetryPolicy,
    build: impl Fn() -> RequestBuilder,
) -> Result<Value, ProviderError> {
    let mut attempt = 1;
    loop {
        let error = match once(provider, build()).await {
            Ok(body) => return Ok(body),
            Err(e) if !e.is_retryable() || attempt >= policy.attempts => return Err(e),
            Err(e) => e,
        };
        let backoff = policy.base_delay.saturating_mul(1 << (attempt - 1).min(10));
        let wait = error.retry_after.unwrap_or(backoff);
        if wait > policy.max_delay {
            return Err(error);
        }
        tracing::warn!(provider, attempt, ?wait, error = %error.message, "retrying a vendor call");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

async fn once(provider: &'static str, request: RequestBuilder) -> Result<Value, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(provider, &e))?;
    let status = response.status();
    let header_delay = retry_after_header(&response);
    let text = response
        .text()
        .await
        .map_err(|e| transport_error(provider, &e))?;
    if status.is_success() {
        return serde_json::from_str(&text).map_err(|e| {
            // A garbled body from a healthy status is a glitch on the wire or the proxy.
            ProviderError::retryable(provider, format!("the response is not JSON ({e})"))
        });
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let message = error_message(&body).unwrap_or_else(|| text.chars().take(300).collect());
    let message = format!("HTTP {}: {message}", status.as_u16());
    let error = if is_retryable_status(status) {
        ProviderError::retryable(provider, message)
    } else {
        ProviderError::permanent(provider, message)
    };
    Err(error.with_retry_after(retry_delay(&body).or(header_delay)))
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        408 | 409 | 425 | 429 | 500 | 502 | 503 | 504
    )
}

fn transport_error(provider: &'static str, e: &reqwest::Error) -> ProviderError {
    let what = if e.is_timeout() {
        "timed out"
    } else {
        "could not be reached"
    };
    ProviderError::retryable(provider, format!("the API {what}: {e}"))
}

/// `error.message` of Google's and OpenAI's error bodies.
fn error_message(body: &Value) -> Option<String> {
    body.pointer("/error/message")
        .and_then(Value::as_str)
        .map(|m| m.chars().take(300).collect())
}

/// Google's `RetryInfo.retryDelay` ("48s", "1.5s") among `error.details`.
pub fn retry_delay(body: &Value) -> Option<Duration> {
    body.pointer("/error/details")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .find_map(parse_proto_duration)
}

fn parse_proto_duration(raw: &str) -> Option<Duration> {
    let seconds: f64 = raw.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

fn retry_after_header(response: &reqwest::Response) -> Option<Duration> {
    let raw = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Scales a vector to unit length (Gemini's reduced dimensions are not normalised; cosine
/// and the hashed embedder expect unit vectors).
pub fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_google_retry_delay() {
        let body = json!({"error": {"code": 429, "details": [
            {"@type": "type.googleapis.com/google.rpc.Help"},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}});
        assert_eq!(retry_delay(&body), Some(Duration::from_millis(1500)));
        assert_eq!(parse_proto_duration("48s"), Some(Duration::from_secs(48)));
        assert_eq!(parse_proto_duration("soon"), None);
    }

    #[test]
    fn normalises() {
        let v = normalise(vec![3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert_eq!(normalise(vec![0.0, 0.0]), vec![0.0, 0.0]);
    }
}

//! Waiting and asserting helpers every test file shares.

use std::time::Duration;

/// Polls `check` every 50 ms until it returns true, and fails the test, naming `what`, when
/// `within` passes first. Every wait in the tests goes through here (or [`wait_for`]), so
/// none can fall through a bounded loop without an assertion.
pub async fn wait_until(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    wait_for(what, within, async || check().await.then_some(())).await
}

/// [`wait_until`] for a check that yields a value: polls `check` every 50 ms until it returns
/// `Some`, and returns that; fails the test, naming `what`, when `within` passes first.
pub async fn wait_for<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Parses a JSON body, with the raw text in the panic message when it is not JSON.
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts the one error shape: a `detail` sentence and an `error` object with a code.
pub fn assert_error_shape(body: &serde_json::Value) {
    let detail = body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail in {body}"));
    assert!(detail.len() > 10, "detail should be a sentence: {detail:?}");
    assert!(
        body["error"]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("ERR_")),
        "{body}"
    );
    assert!(body["error"]["request_id"].as_str().is_some(), "{body}");
}

//! `/metrics`: after an upload and an unlock the counters have moved; the endpoint can live on
//! a listener of its own behind a token; the worker-only process serves its own.
//!
//! Scrapes are parsed with `prometheus-parse`. That parser drops any sample whose label value
//! holds a `}` (its label pattern is `[^}]+`), which route templates like
//! `/api/chats/{chat_id}` do, so those few assertions read the text itself.

use std::{collections::HashMap, time::Duration};

use futures::future::join_all;
use prometheus_parse::{Sample, Scrape, Value};
use relivchats::{Application, Config, Role};
use relivchats_activities::ledger::{self, Moved};
use relivchats_domain::contracts::unlock::{CaptureInput, RefundInput, ReleaseInput, ReserveInput};
use relivchats_tests::{
    TestApp, TestDatabase, base_vars, fake_llm::FakeLlm, json, temporal_server, wait_for,
};
use uuid::Uuid;

mod listeners;
mod settlements;
mod unlock;

/// One parsed scrape, plus its text for the label values the parser cannot read.
struct Metrics {
    text: String,
    scrape: Scrape,
}

impl Metrics {
    fn samples<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.scrape.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    /// The sum over every series of `name` with these labels (0 when there is none): a
    /// counter's or gauge's value, a histogram's observation count.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(name, labels)
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                Value::Summary(_) => panic!("{name} is not expected to be a summary"),
            })
            .sum()
    }

    /// A histogram's `_sum` (a separate sample in the text format).
    fn histogram_sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(&format!("{name}_sum"), labels)
    }
}

async fn scrape(app: &TestApp, base: &str, token: Option<&str>) -> Metrics {
    let mut request = app.http.get(format!("{base}/metrics"));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(response.text().await.unwrap())
}

fn parse(text: String) -> Metrics {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a valid scrape");
    Metrics { text, scrape }
}

/// Scrapes until `ready` holds (bounded): the SDK records some series just after the server
/// has learnt of what they count.
async fn scrape_until(
    app: &TestApp,
    base: &str,
    token: Option<&str>,
    ready: impl Fn(&Metrics) -> bool,
) -> Metrics {
    wait_for(
        "the scrape shows what the test waited for",
        Duration::from_secs(10),
        async || {
            let m = scrape(app, base, token).await;
            ready(&m).then_some(m)
        },
    )
    .await
}

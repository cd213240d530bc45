//! The Temporal SDK's worker metrics, recorded into our scrape.
//!
//! The SDK takes any `CoreMeter` in `TelemetryOptions::metrics`. Its own Prometheus meter
//! serves a listener of its own and keeps its registry private, so this is a small meter of
//! ours over the same `prometheus` types: each instrument the SDK asks for becomes one family,
//! with one vector per label *set* (the SDK records some series with more labels than others,
//! which one `prometheus::Registry` entry would refuse), merged by name when gathered.
//!
//! Conventions, as Prometheus expects (the SDK's exporter offers the same as options):
//! counters end in `_total`, durations are seconds in histograms ending in `_seconds`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
    time::Duration,
};

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, core::Collector,
    proto::MetricFamily,
};
use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, CounterBase, Gauge, GaugeBase, GaugeF64, GaugeF64Base, Histogram,
    HistogramBase, HistogramDuration, HistogramDurationBase, HistogramF64, HistogramF64Base,
    MetricAttributable, MetricAttributes, MetricParameters, NewAttributes, OrderedPromLabelSet,
    UpDownCounter, UpDownCounterBase, default_buckets_for,
};

type BoxError = Box<dyn std::error::Error>;

/// A `CoreMeter` whose instruments are gathered by [`crate::Metrics::render`].
#[derive(Debug, Default)]
pub struct TemporalBridge {
    counters: Families<IntCounterVec>,
    int_gauges: Families<IntGaugeVec>,
    gauges: Families<GaugeVec>,
    histograms: Families<HistogramVec>,
}

/// Families of one kind by metric name: the SDK may ask for the same instrument more than once
/// (per worker), and both handles must feed one series.
struct Families<V>(RwLock<HashMap<String, Arc<Family<V>>>>);

impl<V> Default for Families<V> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<V> std::fmt::Debug for Families<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map(|m| m.len()).unwrap_or_default();
        write!(f, "Families({n})")
    }
}

impl<V: MakeVec> Families<V> {
    fn get(&self, name: String, help: &str, buckets: Option<Vec<f64>>) -> Arc<Family<V>> {
        if let Some(f) = self.0.read().expect("never poisoned").get(&name) {
            return f.clone();
        }
        let mut map = self.0.write().expect("never poisoned");
        map.entry(name.clone())
            .or_insert_with(|| {
                Arc::new(Family {
                    help: if help.is_empty() {
                        name.clone()
                    } else {
                        help.to_owned()
                    },
                    name,
                    buckets,
                    vectors: RwLock::new(HashMap::new()),
                })
            })
            .clone()
    }

    fn collect_into(&self, out: &mut BTreeMap<String, MetricFamily>) {
        for family in self.0.read().expect("never poisoned").values() {
            for vector in family.vectors.read().expect("never poisoned").values() {
                for mut mf in vector.collect() {
                    if mf.get_metric().is_empty() {
                        continue;
                    }
                    match out.get_mut(mf.name()) {
                        Some(existing) => existing.mut_metric().extend(mf.take_metric()),
                        None => {
                            out.insert(mf.name().to_owned(), mf);
                        }
                    }
                }
            }
        }
    }
}

/// One metric name: a vector per label-name set.
struct Family<V> {
    name: String,
    help: String,
    buckets: Option<Vec<f64>>,
    vectors: RwLock<HashMap<Vec<String>, V>>,
}

/// The prometheus vector types a family can hold.
trait MakeVec: Clone + Collector + Send + Sync + 'static {
    type Metric;
    fn make(name: &str, help: &str, labels: &[&str], buckets: Option<&[f64]>) -> Self;
    fn metric(&self, values: &[&str]) -> prometheus::Result<Self::Metric>;
}

impl MakeVec for IntCounterVec {
    type Metric = prometheus::IntCounter;
    fn make(name: &str, help: &str, labels: &[&str], _: Option<&[f64]>) -> Self {
        IntCounterVec::new(Opts::new(name, help), labels).expect("SDK metric names are valid")
    }
    fn metric(&self, values: &[&str]) -> prometheus::Result<Self::Metric> {
        self.get_metric_with_label_values(values)
    }
}

impl MakeVec for IntGaugeVec {
    type Metric = prometheus::IntGauge;
    fn make(name: &str, help: &str, labels: &[&str], _: Option<&[f64]>) -> Self {
        IntGaugeVec::new(Opts::new(name, help), labels).expect("SDK metric names are valid")
    }
    fn metric(&self, values: &[&str]) -> prometheus::Result<Self::Metric> {
        self.get_metric_with_label_values(values)
    }
}

impl MakeVec for GaugeVec {
    type Metric = prometheus::Gauge;
    fn make(name: &str, help: &str, labels: &[&str], _: Option<&[f64]>) -> Self {
        GaugeVec::new(Opts::new(name, help), labels).expect("SDK metric names are valid")
    }
    fn metric(&self, values: &[&str]) -> prometheus::Result<Self::Metric> {
        self.get_metric_with_label_values(values)
    }
}

impl MakeVec for HistogramVec {
    type Metric = prometheus::Histogram;
    fn make(name: &str, help: &str, labels: &[&str], buckets: Option<&[f64]>) -> Self {
        let mut opts = HistogramOpts::new(name, help);
        if let Some(b) = buckets {
            opts = opts.buckets(b.to_vec());
        }
        HistogramVec::new(opts, labels).expect("SDK metric names are valid")
    }
    fn metric(&self, values: &[&str]) -> prometheus::Result<Self::Metric> {
        self.get_metric_with_label_values(values)
    }
}

static NO_LABELS: OrderedPromLabelSet = OrderedPromLabelSet::new();

impl<V: MakeVec> Family<V> {
    /// The series for these attributes (created on first use).
    fn series(&self, attributes: &MetricAttributes) -> Result<V::Metric, BoxError> {
        let labels = match attributes {
            MetricAttributes::Prometheus { labels } => labels.as_ref(),
            MetricAttributes::Empty => &NO_LABELS,
            other => return Err(format!("attributes from another meter: {other:?}").into()),
        };
        let names: Vec<String> = labels.keys_ordered().map(str::to_owned).collect();
        let values = labels.as_prom_labels();
        let values: Vec<&str> = names
            .iter()
            .map(|n| values.get(n.as_str()).map_or("", String::as_str))
            .collect();
        if let Some(v) = self.vectors.read().expect("never poisoned").get(&names) {
            return Ok(v.metric(&values)?);
        }
        let mut vectors = self.vectors.write().expect("never poisoned");
        let vector = vectors.entry(names.clone()).or_insert_with(|| {
            let label_names: Vec<&str> = names.iter().map(String::as_str).collect();
            V::make(
                &self.name,
                &self.help,
                &label_names,
                self.buckets.as_deref(),
            )
        });
        Ok(vector.metric(&values)?)
    }
}

/// Prometheus names allow `[a-zA-Z0-9_:]`; the SDK's use dashes in places.
fn prom_name(name: &str) -> String {
    name.replace('-', "_")
}

fn buckets(name: &str, seconds: bool) -> Vec<f64> {
    default_buckets_for(name.strip_prefix("temporal_").unwrap_or(name), seconds).to_vec()
}

struct CounterSeries(prometheus::IntCounter);
impl CounterBase for CounterSeries {
    fn adds(&self, value: u64) {
        self.0.inc_by(value);
    }
}
impl MetricAttributable<Box<dyn CounterBase>> for Family<IntCounterVec> {
    fn with_attributes(&self, a: &MetricAttributes) -> Result<Box<dyn CounterBase>, BoxError> {
        Ok(Box::new(CounterSeries(self.series(a)?)))
    }
}

struct IntGaugeSeries(prometheus::IntGauge);
impl GaugeBase for IntGaugeSeries {
    fn records(&self, value: u64) {
        self.0.set(i64::try_from(value).unwrap_or(i64::MAX));
    }
}
impl UpDownCounterBase for IntGaugeSeries {
    fn adds(&self, value: i64) {
        self.0.add(value);
    }
}
impl MetricAttributable<Box<dyn GaugeBase>> for Family<IntGaugeVec> {
    fn with_attributes(&self, a: &MetricAttributes) -> Result<Box<dyn GaugeBase>, BoxError> {
        Ok(Box::new(IntGaugeSeries(self.series(a)?)))
    }
}
impl MetricAttributable<Box<dyn UpDownCounterBase>> for Family<IntGaugeVec> {
    fn with_attributes(
        &self,
        a: &MetricAttributes,
    ) -> Result<Box<dyn UpDownCounterBase>, BoxError> {
        Ok(Box::new(IntGaugeSeries(self.series(a)?)))
    }
}

struct GaugeSeries(prometheus::Gauge);
impl GaugeF64Base for GaugeSeries {
    fn records(&self, value: f64) {
        self.0.set(value);
    }
}
impl MetricAttributable<Box<dyn GaugeF64Base>> for Family<GaugeVec> {
    fn with_attributes(&self, a: &MetricAttributes) -> Result<Box<dyn GaugeF64Base>, BoxError> {
        Ok(Box::new(GaugeSeries(self.series(a)?)))
    }
}

struct HistogramSeries(prometheus::Histogram);
impl HistogramBase for HistogramSeries {
    fn records(&self, value: u64) {
        self.0.observe(value as f64);
    }
}
impl HistogramF64Base for HistogramSeries {
    fn records(&self, value: f64) {
        self.0.observe(value);
    }
}
impl HistogramDurationBase for HistogramSeries {
    fn records(&self, value: Duration) {
        self.0.observe(value.as_secs_f64());
    }
}
impl MetricAttributable<Box<dyn HistogramBase>> for Family<HistogramVec> {
    fn with_attributes(&self, a: &MetricAttributes) -> Result<Box<dyn HistogramBase>, BoxError> {
        Ok(Box::new(HistogramSeries(self.series(a)?)))
    }
}
impl MetricAttributable<Box<dyn HistogramF64Base>> for Family<HistogramVec> {
    fn with_attributes(&self, a: &MetricAttributes) -> Result<Box<dyn HistogramF64Base>, BoxError> {
        Ok(Box::new(HistogramSeries(self.series(a)?)))
    }
}
impl MetricAttributable<Box<dyn HistogramDurationBase>> for Family<HistogramVec> {
    fn with_attributes(
        &self,
        a: &MetricAttributes,
    ) -> Result<Box<dyn HistogramDurationBase>, BoxError> {
        Ok(Box::new(HistogramSeries(self.series(a)?)))
    }
}

impl TemporalBridge {
    /// Every SDK series recorded so far, one family per name.
    pub(crate) fn gather(&self) -> Vec<MetricFamily> {
        let mut out = BTreeMap::new();
        self.counters.collect_into(&mut out);
        self.int_gauges.collect_into(&mut out);
        self.gauges.collect_into(&mut out);
        self.histograms.collect_into(&mut out);
        out.into_values().collect()
    }

    fn histogram_family(
        &self,
        params: &MetricParameters,
        seconds: bool,
    ) -> Arc<Family<HistogramVec>> {
        let base = prom_name(&params.name);
        let name = if seconds {
            format!("{base}_seconds")
        } else {
            base.clone()
        };
        self.histograms
            .get(name, &params.description, Some(buckets(&base, seconds)))
    }
}

impl CoreMeter for TemporalBridge {
    fn new_attributes(&self, attribs: NewAttributes) -> MetricAttributes {
        MetricAttributes::Prometheus {
            labels: Arc::new(attribs.into()),
        }
    }

    fn extend_attributes(
        &self,
        existing: MetricAttributes,
        attribs: NewAttributes,
    ) -> MetricAttributes {
        let mut labels = match existing {
            MetricAttributes::Prometheus { labels } => Arc::unwrap_or_clone(labels),
            _ => OrderedPromLabelSet::new(),
        };
        for kv in attribs.attributes {
            labels.add_kv(kv);
        }
        MetricAttributes::Prometheus {
            labels: Arc::new(labels),
        }
    }

    fn counter(&self, params: MetricParameters) -> Counter {
        // `local_activity_total` already ends so; don't make it `…_total_total`.
        let base = prom_name(&params.name);
        let name = if base.ends_with("_total") {
            base
        } else {
            format!("{base}_total")
        };
        Counter::new(self.counters.get(name, &params.description, None))
    }

    fn histogram(&self, params: MetricParameters) -> Histogram {
        Histogram::new(self.histogram_family(&params, false))
    }

    fn histogram_f64(&self, params: MetricParameters) -> HistogramF64 {
        HistogramF64::new(self.histogram_family(&params, false))
    }

    fn histogram_duration(&self, params: MetricParameters) -> HistogramDuration {
        HistogramDuration::new(self.histogram_family(&params, true))
    }

    fn gauge(&self, params: MetricParameters) -> Gauge {
        Gauge::new(
            self.int_gauges
                .get(prom_name(&params.name), &params.description, None),
        )
    }

    fn gauge_f64(&self, params: MetricParameters) -> GaugeF64 {
        GaugeF64::new(
            self.gauges
                .get(prom_name(&params.name), &params.description, None),
        )
    }

    fn up_down_counter(&self, params: MetricParameters) -> UpDownCounter {
        UpDownCounter::new(
            self.int_gauges
                .get(prom_name(&params.name), &params.description, None),
        )
    }
}

#[cfg(test)]
mod tests {
    use temporalio_common::telemetry::metrics::MetricKeyValue;

    use super::*;

    #[test]
    fn series_with_different_label_sets_share_one_family() {
        let bridge = TemporalBridge::default();
        let c = bridge.counter("temporal_worker_task_slots_used".into());
        let one = bridge.new_attributes(NewAttributes::from([MetricKeyValue::new("a", "1")]));
        let two = bridge.extend_attributes(
            one.clone(),
            NewAttributes::from([MetricKeyValue::new("b", "2")]),
        );
        c.add(1, &one);
        c.add(2, &two);
        // A second handle on the same name feeds the same series.
        bridge
            .counter("temporal_worker_task_slots_used".into())
            .add(3, &one);
        bridge
            .histogram_duration("temporal_activity_execution_latency".into())
            .record(Duration::from_millis(250), &one);
        let families = bridge.gather();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "temporal_activity_execution_latency_seconds",
                "temporal_worker_task_slots_used_total"
            ]
        );
        let counter = &families[1];
        let mut values: Vec<f64> = counter
            .get_metric()
            .iter()
            .map(|m| m.get_counter().get_value())
            .collect();
        values.sort_by(f64::total_cmp);
        assert_eq!(values, [2.0, 4.0]);
    }
}

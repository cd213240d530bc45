//! The evaluation's report: the tallies, the ratios read from them, the goals missed, and
//! how the report prints.

use std::fmt;

/// Figures for one provider run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub provider: String,
    pub chats: usize,
    pub insights: usize,
    pub failed: Vec<String>,
    pub labels_right: usize,
    pub labels_total: usize,
    /// Label misses, "chat: label expected … got …".
    pub misses: Vec<String>,
    pub quotes: usize,
    pub quotes_verbatim: usize,
    pub fidelity_misses: Vec<String>,
    pub placed: usize,
    pub placed_right: usize,
    pub placement_misses: Vec<String>,
    /// Mean over insights of distinct/total sentences inside one insight.
    pub distinct_inside: f64,
    /// Mean over (chat, category) of distinct/total sentences across its insights.
    pub distinct_across: f64,
    pub sentences: usize,
    pub micros_total: u128,
    pub micros_max: u128,
}

impl Report {
    pub fn accuracy(&self) -> f64 {
        ratio(self.labels_right, self.labels_total)
    }
    pub fn fidelity(&self) -> f64 {
        ratio(self.quotes_verbatim, self.quotes)
    }
    pub fn placement(&self) -> f64 {
        ratio(self.placed_right, self.placed)
    }
    pub fn micros_per_insight(&self) -> f64 {
        if self.insights == 0 {
            0.0
        } else {
            self.micros_total as f64 / self.insights as f64
        }
    }

    /// The goals, as a list of the ones missed (empty: all met).
    pub fn missed_goals(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.failed.is_empty() {
            out.push(format!(
                "{} insights failed: {:?}",
                self.failed.len(),
                self.failed
            ));
        }
        if self.accuracy() < 0.85 {
            out.push(format!(
                "label accuracy {:.1}% < 85%",
                self.accuracy() * 100.0
            ));
        }
        if self.quotes_verbatim < self.quotes {
            out.push(format!(
                "evidence fidelity {:.1}% < 100%",
                self.fidelity() * 100.0
            ));
        }
        if self.placed_right < self.placed {
            out.push(format!(
                "evidence placement {:.1}% < 100%",
                self.placement() * 100.0
            ));
        }
        if self.distinct_inside < 0.95 {
            out.push(format!(
                "distinct sentences inside an insight {:.1}% < 95%",
                self.distinct_inside * 100.0
            ));
        }
        if self.distinct_across < 0.80 {
            out.push(format!(
                "distinct sentences across a category {:.1}% < 80%",
                self.distinct_across * 100.0
            ));
        }
        out
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "provider: {}", self.provider)?;
        writeln!(
            f,
            "chats: {}, insights: {} ({} failed)",
            self.chats,
            self.insights,
            self.failed.len()
        )?;
        writeln!(
            f,
            "label accuracy: {:.1}% ({}/{})",
            self.accuracy() * 100.0,
            self.labels_right,
            self.labels_total
        )?;
        writeln!(
            f,
            "evidence fidelity: {:.1}% ({}/{} quotes verbatim, right speaker and time)",
            self.fidelity() * 100.0,
            self.quotes_verbatim,
            self.quotes
        )?;
        writeln!(
            f,
            "evidence placement: {:.1}% ({}/{} quotes under a participant are theirs)",
            self.placement() * 100.0,
            self.placed_right,
            self.placed
        )?;
        writeln!(
            f,
            "distinct sentences: {:.1}% inside an insight, {:.1}% across a category ({} sentences)",
            self.distinct_inside * 100.0,
            self.distinct_across * 100.0,
            self.sentences
        )?;
        writeln!(
            f,
            "time per insight: {:.0} µs mean, {} µs max",
            self.micros_per_insight(),
            self.micros_max
        )?;
        for m in self
            .misses
            .iter()
            .chain(&self.fidelity_misses)
            .chain(&self.placement_misses)
        {
            writeln!(f, "  miss: {m}")?;
        }
        for m in &self.failed {
            writeln!(f, "  failed: {m}")?;
        }
        Ok(())
    }
}

pub(super) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        1.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

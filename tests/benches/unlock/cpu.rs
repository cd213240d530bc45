//! CPU per process from `/proc`, and the offline analyst's share of this process's.

use std::{collections::HashMap, time::Duration};

/// CPU seconds (user + system) used so far by every live process, summed by command name
/// (this benchmark's own process is reported as "this process"). Linux only; empty elsewhere.
pub(crate) fn cpu_by_process() -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = if pid == me {
            "this process".to_owned()
        } else {
            stat[open + 1..close].to_owned()
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        // USER_HZ is 100 on every Linux this runs on.
        *out.entry(name).or_insert(0.0) += ticks / 100.0;
    }
    out
}

/// Prints the CPU seconds each process spent between two [`cpu_by_process`] readings.
pub(crate) fn print_cpu(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    wall: Duration,
    runs: usize,
    unit: &str,
) {
    let mut spent: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.05)
        .collect();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "CPU meanwhile ({:.1} s of wall clock × 2 cores = {:.1} CPU-s): {}",
        wall.as_secs_f64(),
        wall.as_secs_f64() * 2.0,
        spent
            .iter()
            .map(|(k, v)| format!("{k} {v:.1} s ({:.0} ms/{unit})", v * 1e3 / runs as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The offline analyst's part of this process's CPU during the closed loop: the thread CPU
/// time spent inside it (counted by the provider), against the process's whole CPU time.
pub(crate) fn print_analyst_share(
    analyst: Duration,
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    runs: usize,
) {
    let process = after.get("this process").copied().unwrap_or(0.0)
        - before.get("this process").copied().unwrap_or(0.0);
    let analyst = analyst.as_secs_f64();
    println!(
        "offline analyst ({}): {:.0} ms/unlock of this process's {:.0} ms/unlock = {:.1}% of its CPU",
        relivchats_domain::analyst::MODEL_ID,
        analyst * 1e3 / runs as f64,
        process * 1e3 / runs as f64,
        100.0 * analyst / process.max(1e-9)
    );
}

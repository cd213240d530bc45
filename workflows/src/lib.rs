//! Every Temporal workflow of RelivChats, one per file.
//!
//! Workflow code is replayed: it uses only the SDK's timers, selects and joins, never I/O,
//! wall-clock time, `tokio::spawn` or randomness outside the context. Activities are called
//! through the contracts in `relivchats_domain::contracts`.

pub mod probe;

pub use probe::HealthProbeWorkflow;

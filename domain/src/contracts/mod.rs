//! Temporal contracts: the names, inputs and outputs that workflows and activities share.
//!
//! Workflows call activities through the definitions declared here, and the `activities` crate
//! implements them with `#[activity(definition = …)]`, so neither crate depends on the other.

pub mod insights;
pub mod payments;
pub mod probe;
pub mod search_attributes;
pub mod unlock;

/// The task queue used when `TEMPORAL_TASK_QUEUE` is not set: workflows and activities share it.
pub const DEFAULT_TASK_QUEUE: &str = "relivchats";

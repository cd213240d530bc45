//! The health probe: a trivial workflow with one activity that touches the database, started
//! through the client and run by the worker inside `serve`, proving the whole wiring.

#![allow(unreachable_pub)] // the activity macro emits a private marker module; re-exported below

use serde::{Deserialize, Serialize};
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// Workflow type name of the probe, as shown in the Temporal UI.
pub const PROBE_WORKFLOW: &str = "HealthProbe";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeInput {
    /// Who started it (`serve`, a test …): shown in the UI's input panel.
    pub started_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeOutput {
    pub started_by: String,
    /// `SELECT version()` as the worker's activity saw it.
    pub database_version: String,
}

/// Activities of the probe workflow.
pub struct ProbeContracts;

#[activity_definitions]
impl ProbeContracts {
    /// Runs one query against Postgres and reports the server version.
    #[activity(name = "probe_database")]
    pub fn probe_database(input: ProbeInput) -> Result<ProbeOutput, ActivityError> {
        unimplemented!()
    }
}

pub use probe_contracts::ProbeDatabase;

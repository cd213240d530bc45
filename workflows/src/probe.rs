//! `HealthProbe`: one activity against the database, proving client → server → worker →
//! activity → Postgres end to end.

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

use relivchats_domain::contracts::probe::{ProbeContracts, ProbeInput, ProbeOutput};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use crate::options::probe_options;

#[workflow]
#[derive(Default)]
pub struct HealthProbeWorkflow;

#[workflow_methods]
impl HealthProbeWorkflow {
    #[run(name = relivchats_domain::contracts::probe::PROBE_WORKFLOW)]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: ProbeInput,
    ) -> WorkflowResult<ProbeOutput> {
        let out = ctx
            .execute_activity(ProbeContracts::probe_database, input, probe_options())
            .await?;
        Ok(out)
    }
}

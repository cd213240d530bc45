//! The probe's activity: one query against Postgres.

#![allow(unreachable_pub)] // the activity macros emit items the lint cannot see through

use std::sync::Arc;

use relivchats_domain::contracts::probe::{ProbeDatabase, ProbeInput, ProbeOutput};
use sqlx::PgPool;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Activities of the health probe; they share the worker's database pool.
#[derive(Clone)]
pub struct ProbeActivities {
    pool: PgPool,
}

impl ProbeActivities {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[activities]
impl ProbeActivities {
    #[activity(definition = ProbeDatabase)]
    pub async fn probe_database(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ProbeInput,
    ) -> Result<ProbeOutput, ActivityError> {
        let database_version: String = sqlx::query_scalar("SELECT version()")
            .fetch_one(&self.pool)
            .await
            .map_err(anyhow::Error::from)?;
        tracing::info!(started_by = %input.started_by, "health probe reached the database");
        Ok(ProbeOutput {
            started_by: input.started_by,
            database_version,
        })
    }
}

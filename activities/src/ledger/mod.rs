//! The coin ledger with reservations ([`coins`], [`expiry`]), the ledger rows both it and the
//! payments write ([`entry`]), and the unlock job's bookkeeping ([`jobs`]); the activities the
//! unlock saga calls for them are [`LedgerActivities`].

#![allow(unreachable_pub)] // the activity macros emit items the lint cannot see through

mod coins;
pub(crate) mod entry;
mod expiry;
mod jobs;

use std::sync::Arc;

use relivchats_domain::contracts::unlock::{
    CaptureCoins, CaptureInput, JobUpdate, RefundCoins, RefundInput, ReleaseCoins, ReleaseInput,
    ReserveCoins, ReserveInput, ReserveOutput, RetryUpdate, SettleOutput, SettleRetry,
    UpdateUnlockJob,
};
use sqlx::PgPool;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub use coins::{
    LedgerError, Moved, capture, capture_moving, refund, refund_moving, release, release_moving,
    reserve,
};
pub use expiry::{release_expired, sweep_expired_holds};
pub use jobs::{settle_retry, update_job};

use crate::failure::ActivityFailure;

/// The ledger activities; they share the worker's pool. Coin movements and unlock outcomes
/// are counted here, where the database says whether this call was the first to settle.
#[derive(Clone)]
pub struct LedgerActivities {
    pool: PgPool,
    metrics: Arc<relivchats_metrics::Metrics>,
}

impl LedgerActivities {
    pub fn new(pool: PgPool, metrics: Arc<relivchats_metrics::Metrics>) -> Self {
        Self { pool, metrics }
    }

    fn moved(
        &self,
        result: Result<(SettleOutput, Moved), LedgerError>,
    ) -> Result<SettleOutput, ActivityError> {
        let (out, moved) = result.map_err(ActivityFailure::into_activity)?;
        moved.record(&self.metrics);
        Ok(out)
    }
}

#[activities]
impl LedgerActivities {
    #[activity(definition = ReserveCoins)]
    pub async fn reserve_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReserveInput,
    ) -> Result<ReserveOutput, ActivityError> {
        reserve(&self.pool, &input)
            .await
            .map_err(ActivityFailure::into_activity)
    }

    #[activity(definition = CaptureCoins)]
    pub async fn capture_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CaptureInput,
    ) -> Result<SettleOutput, ActivityError> {
        self.moved(capture_moving(&self.pool, &input).await)
    }

    #[activity(definition = ReleaseCoins)]
    pub async fn release_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReleaseInput,
    ) -> Result<SettleOutput, ActivityError> {
        self.moved(release_moving(&self.pool, &input).await)
    }

    #[activity(definition = RefundCoins)]
    pub async fn refund_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RefundInput,
    ) -> Result<SettleOutput, ActivityError> {
        self.moved(refund_moving(&self.pool, &input).await)
    }

    #[activity(definition = UpdateUnlockJob)]
    pub async fn update_unlock_job(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: JobUpdate,
    ) -> Result<(), ActivityError> {
        let previous = jobs::update_job_from(&self.pool, &input)
            .await
            .map_err(ActivityFailure::into_activity)?;
        // A retried update finds the status it set itself: counted once per final status.
        if input.finished && previous != Some(input.job_status) {
            self.metrics.unlock_settled(input.job_status.as_str());
        }
        Ok(())
    }

    #[activity(definition = SettleRetry)]
    pub async fn settle_retry(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RetryUpdate,
    ) -> Result<String, ActivityError> {
        settle_retry(&self.pool, &input)
            .await
            .map_err(ActivityFailure::into_activity)
    }
}

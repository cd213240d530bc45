//! The shard's one writer thread: queued writes applied in groups under one flush (group
//! commit), and the optimizer's turns between them (see the parent module's docs for why
//! qdrant-edge 0.7.2 needs a single writer).

use std::sync::{Arc, mpsc};

use qdrant_edge::{EdgeShard, UpdateOperation};
use relivchats_domain::retrieval::ProviderError;

use super::{Maintenance, service};

/// One queued write: the operation, how many points it adds, and where its outcome goes.
pub(super) struct Write {
    pub(super) operation: UpdateOperation,
    pub(super) points: usize,
    pub(super) done: tokio::sync::oneshot::Sender<Result<(), ProviderError>>,
}

/// The writer thread: group commit (see the module docs) and the optimizer's turns.
pub(super) fn writer_loop(
    shard: Arc<EdgeShard>,
    queue: mpsc::Receiver<Write>,
    maintenance: Maintenance,
) {
    /// Writes applied under one flush at most, so one caller is never kept waiting long.
    const MAX_GROUP: usize = 64;
    let mut unoptimized = 0usize;
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        // qdrant-edge signals some failures by panicking (its flush, for one). The thread must
        // outlive that: the group's callers see their channel closed (a retryable error) and
        // the next group is served.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commit(&shard, group, maintenance, &mut unoptimized);
        }));
        if served.is_err() {
            tracing::error!("a qdrant-edge write panicked; its callers get an error");
        }
    }
}

/// Applies a group of writes, runs the optimizer if its turn has come, flushes once, then
/// answers every caller.
fn commit(shard: &EdgeShard, group: Vec<Write>, maintenance: Maintenance, unoptimized: &mut usize) {
    let mut outcomes = Vec::with_capacity(group.len());
    for write in group {
        let outcome = shard.update(write.operation).map(|_| ()).map_err(service);
        if outcome.is_ok() {
            *unoptimized += write.points;
        }
        outcomes.push((write.done, outcome));
    }
    if let Maintenance::EveryPoints(every) = maintenance
        && *unoptimized >= every
    {
        *unoptimized = 0;
        optimize(shard);
    }
    shard.flush();
    for (done, outcome) in outcomes {
        // A caller that went away (cancelled) still had its write applied and flushed.
        let _ = done.send(outcome);
    }
}

/// Runs the optimizer to completion. A failure leaves the data as it was (still searchable,
/// only slower to extend), so it is logged rather than failing the write that triggered it.
fn optimize(shard: &EdgeShard) {
    let started = std::time::Instant::now();
    match shard.optimize() {
        Ok(changed) => tracing::debug!(
            changed,
            ms = started.elapsed().as_millis() as u64,
            segments = shard.info().segments_count,
            "qdrant-edge optimized"
        ),
        Err(e) => tracing::warn!(error = %e, "qdrant-edge optimization failed; will retry later"),
    }
}

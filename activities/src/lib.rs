//! Every Temporal activity of RelivChats.
//!
//! Activities own their dependencies (the database pool, later the vector store and vendor
//! clients) and are registered on the worker as `Arc<Self>`. Business failures are returned as
//! non-retryable `ApplicationFailure`s; everything else is retried by Temporal ([`failure`]).

pub mod failure;
pub mod insights;
pub mod ledger;
pub mod payments;
pub mod probe;
pub mod providers;

pub use failure::ActivityFailure;
pub use insights::{InsightActivities, InsightFailure, InsightSettings, Providers};
pub use ledger::LedgerActivities;
pub use payments::PaymentActivities;
pub use probe::ProbeActivities;

//! Every Temporal activity of RelivChats.
//!
//! Activities own their dependencies (the database pool, later the vector store and vendor
//! clients) and are registered on the worker as `Arc<Self>`. Business failures are returned as
//! non-retryable `ApplicationFailure`s; everything else is retried by Temporal.

pub mod probe;

pub use probe::ProbeActivities;

//! Pure domain types and rules for RelivChats.
//!
//! Nothing in this crate performs I/O: it holds the value types handlers and activities agree
//! on, the status enums of our tables, the ledger rules, the insight catalogue format and the
//! chat readers. With the `contracts` feature it also holds the Temporal contracts (task
//! queue, workflow and activity names, their inputs and outputs) shared by `workflows` and
//! `activities`; without it the crate builds without the Temporal SDK (the fuzz targets).

pub mod analyst;
pub mod blocks;
pub mod catalogue;
#[cfg(feature = "contracts")]
pub mod contracts;
pub mod crypto;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod payments;
pub mod retrieval;
pub mod secret;
pub mod status;
pub mod webhooks;
pub mod whatsapp;

pub use ids::{UserId, UserIdError};

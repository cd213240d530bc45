//! Pure domain types and rules for RelivChats.
//!
//! Nothing in this crate performs I/O: it holds the value types handlers and activities agree
//! on, the ledger rules, the insight catalogue format, and the Temporal contracts (task queue,
//! workflow and activity names, their inputs and outputs) shared by `workflows` and `activities`.

pub mod analyst;
pub mod blocks;
pub mod catalogue;
pub mod contracts;
pub mod crypto;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod payments;
pub mod retrieval;
pub mod webhooks;
pub mod whatsapp;

pub use ids::{UserId, UserIdError};

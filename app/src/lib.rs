//! The `relivchats` binary's library half: configuration, wiring and subcommands, so the
//! integration tests can build the same application the binary runs.

pub mod admin;
pub mod config;
pub mod db;
pub mod eval;
pub mod legacy_messages;
pub mod payments;
pub mod providers;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod temporal;
pub mod worker;

pub use config::Config;
pub use startup::{Application, Role};

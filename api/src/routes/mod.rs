//! One module per resource: its `router()`, handlers and SQL.

pub mod categories;
pub mod chats;
pub mod clerk_webhook;
pub mod credits;
pub mod health;
pub mod insights;
pub mod payments;
pub mod rag;
pub mod users;

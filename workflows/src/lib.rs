//! Every Temporal workflow of RelivChats, one per file.
//!
//! Workflow code is replayed: it uses only the SDK's timers, selects and joins, never I/O,
//! wall-clock time, `tokio::spawn` or randomness outside the context. Activities are called
//! through the contracts in `relivchats_domain::contracts`.

mod failures;
mod options;
pub mod probe;
pub mod refund_payment;
pub mod retry;
pub mod topup;
pub mod unlock;

pub use probe::HealthProbeWorkflow;
pub use refund_payment::RefundPaymentWorkflow;
pub use retry::RetryInsightWorkflow;
pub use topup::TopUpWorkflow;
pub use unlock::UnlockInsightsWorkflow;

//! Custom search attributes, so an operator finds any workflow in the Temporal UI by user,
//! chat, category or status. The worker registers the ones the namespace lacks on start.

/// `(name, Temporal type)` of every custom search attribute the product uses.
pub const CUSTOM_SEARCH_ATTRIBUTES: [(&str, &str); 5] = [
    (USER_ID, "Keyword"),
    (CHAT_ID, "Keyword"),
    (CATEGORY, "Keyword"),
    (UNLOCK_STATUS, "Keyword"),
    (PAYMENT_PROVIDER, "Keyword"),
];

pub const USER_ID: &str = "UserId";
pub const CHAT_ID: &str = "ChatId";
pub const CATEGORY: &str = "Category";
pub const UNLOCK_STATUS: &str = "UnlockStatus";
pub const PAYMENT_PROVIDER: &str = "PaymentProvider";

//! Identifiers that arrive from outside and must be validated once.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The identity of a user: the `sub` claim of a verified token (a Clerk id such as
/// `user_2ab…`, or any dev-auth name). Parsing guarantees it is safe to store and log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

/// Why a string is not a usable user id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    #[error("the user id is empty")]
    Empty,
    #[error("the user id is longer than {max} characters", max = UserId::MAX_LEN)]
    TooLong,
    #[error("the user id contains whitespace or control characters")]
    BadCharacters,
}

impl UserId {
    /// Clerk ids are ~32 characters; 128 leaves room for other issuers without inviting abuse.
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, UserIdError> {
        if raw.is_empty() {
            return Err(UserIdError::Empty);
        }
        if raw.chars().count() > Self::MAX_LEN {
            return Err(UserIdError::TooLong);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UserIdError::BadCharacters);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = UserIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> Self {
        value.0
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_clerk_and_dev_ids() {
        assert_eq!(
            UserId::parse("user_2abcDEF").unwrap().as_str(),
            "user_2abcDEF"
        );
        assert_eq!(
            UserId::parse("alice@example").unwrap().to_string(),
            "alice@example"
        );
    }

    #[test]
    fn rejects_empty_long_and_spaced_ids() {
        assert_eq!(UserId::parse(""), Err(UserIdError::Empty));
        assert_eq!(UserId::parse(&"x".repeat(129)), Err(UserIdError::TooLong));
        assert_eq!(UserId::parse("a b"), Err(UserIdError::BadCharacters));
        assert_eq!(UserId::parse("a\u{0}"), Err(UserIdError::BadCharacters));
    }
}

//! The status columns of our tables as enums: one variant per value the column's `CHECK`
//! constraint allows, written and read as the same lowercase text (in SQL, in JSON and in
//! Temporal payloads, so recorded histories keep their serialized form).
//!
//! With the `sqlx` feature each enum binds and decodes as PostgreSQL `TEXT`; a value outside
//! the enum is a decode error rather than a silently unknown string.

use std::{fmt, str::FromStr};

/// A status text that no variant of the enum spells.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {kind}")]
pub struct UnknownStatus {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownStatus { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        /// Lets tests and logs compare with the stored text directly.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?.parse()?)
            }
        }
    };
}

status_enum! {
    /// `chats.status`: whether the upload's parse finished.
    ChatStatus, "chat status" {
        Processing => "processing",
        Completed => "completed",
        Failed => "failed",
    }
}

status_enum! {
    /// `chats.vector_status`: whether the chat's messages are in the vector store.
    VectorStatus, "vector status" {
        Pending => "pending",
        Indexing => "indexing",
        Completed => "completed",
        Failed => "failed",
    }
}

status_enum! {
    /// `chats.insights_generation_status`: the chat's latest unlock, as the frontend shows it.
    GenerationStatus, "insights generation status" {
        NotStarted => "not_started",
        Queued => "queued",
        Generating => "generating",
        Completed => "completed",
        PartialFailure => "partial_failure",
        Failed => "failed",
    }
}

status_enum! {
    /// `insight_generation_jobs.status`: one unlock (or retry) run.
    JobStatus, "job status" {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        PartialFailure => "partial_failure",
    }
}

status_enum! {
    /// `insights.status`: one insight of a chat.
    InsightStatus, "insight status" {
        Pending => "pending",
        Generating => "generating",
        Completed => "completed",
        Failed => "failed",
    }
}

status_enum! {
    /// `coin_reservations.status`: coins an unlock holds until it settles.
    ReservationStatus, "reservation status" {
        /// Counted against the balance: `available = balance − held`.
        Held => "held",
        Captured => "captured",
        Released => "released",
        Expired => "expired",
    }
}

status_enum! {
    /// `payment_orders.status`: a coin top-up.
    OrderStatus, "payment order status" {
        Pending => "pending",
        Processing => "processing",
        Completed => "completed",
        Failed => "failed",
        Refunded => "refunded",
        Flagged => "flagged",
    }
}

status_enum! {
    /// `credit_transactions.status`: a ledger row.
    TransactionStatus, "transaction status" {
        Pending => "pending",
        Completed => "completed",
        Failed => "failed",
        Refunded => "refunded",
    }
}

status_enum! {
    /// `payment_refunds.status`: a provider refund we were told about.
    RefundStatus, "refund status" {
        Pending => "pending",
        Processed => "processed",
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + fmt::Display + FromStr + PartialEq + fmt::Debug + serde::Serialize,
        <T as FromStr>::Err: fmt::Debug,
    {
        for &v in all {
            let text = v.to_string();
            assert_eq!(text.parse::<T>().unwrap(), v);
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{text}\""));
        }
    }

    #[test]
    fn every_status_round_trips_through_its_text() {
        round_trips(ChatStatus::ALL);
        round_trips(VectorStatus::ALL);
        round_trips(GenerationStatus::ALL);
        round_trips(JobStatus::ALL);
        round_trips(InsightStatus::ALL);
        round_trips(ReservationStatus::ALL);
        round_trips(OrderStatus::ALL);
        round_trips(TransactionStatus::ALL);
        round_trips(RefundStatus::ALL);
    }

    /// `IN ('a', 'b', …)` from the variants, in order.
    fn check_list<T: Copy + fmt::Display>(all: &[T]) -> String {
        let texts: Vec<String> = all.iter().map(|s| format!("'{s}'")).collect();
        format!("IN ({})", texts.join(", "))
    }

    #[test]
    fn texts_match_the_check_constraints() {
        // Each enum's variants, in order, must be exactly one CHECK list of the schema: a
        // variant added, renamed or dropped here (or there) fails this test, not a write.
        let schema = include_str!("../../migrations/20261126000001_initial_schema.sql");
        let schema = schema.split_whitespace().collect::<Vec<_>>().join(" ");
        for (kind, list) in [
            ("chat", check_list(ChatStatus::ALL)),
            ("vector", check_list(VectorStatus::ALL)),
            ("generation", check_list(GenerationStatus::ALL)),
            ("job", check_list(JobStatus::ALL)),
            ("insight", check_list(InsightStatus::ALL)),
            ("reservation", check_list(ReservationStatus::ALL)),
            ("order", check_list(OrderStatus::ALL)),
            ("transaction", check_list(TransactionStatus::ALL)),
            ("refund", check_list(RefundStatus::ALL)),
        ] {
            assert!(
                schema.contains(&list),
                "{kind}: no CHECK ... {list} in the schema"
            );
        }
        assert_eq!("partial_failure".parse(), Ok(JobStatus::PartialFailure));
        assert!("HELD".parse::<ReservationStatus>().is_err());
        assert_eq!(
            "nope".parse::<OrderStatus>().unwrap_err().to_string(),
            "`nope` is not a payment order status"
        );
    }
}

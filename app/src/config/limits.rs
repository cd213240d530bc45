//! The bounds the API and the saga enforce: request rates, HTTP timeouts, message blocks and
//! unlock timings, each read from its variables with the same defaults in every process.

use anyhow::bail;

use super::vars::parse_num;

pub(super) fn rate_limits(
    get: &dyn Fn(&str) -> Option<String>,
    prod: bool,
) -> anyhow::Result<relivchats_api::limits::RateLimitSettings> {
    use relivchats_api::limits::{LimitClass, RateLimitSettings};
    let mut s = if prod {
        RateLimitSettings::production()
    } else {
        RateLimitSettings::generous()
    };
    for (class, key) in [
        (LimitClass::Upload, "RATE_LIMIT_UPLOADS_PER_MINUTE"),
        (LimitClass::Unlock, "RATE_LIMIT_UNLOCKS_PER_MINUTE"),
        (LimitClass::Retry, "RATE_LIMIT_RETRIES_PER_MINUTE"),
        (LimitClass::RagQuery, "RATE_LIMIT_RAG_QUERIES_PER_MINUTE"),
        (
            LimitClass::PaymentOrder,
            "RATE_LIMIT_PAYMENT_ORDERS_PER_MINUTE",
        ),
        (LimitClass::UserStore, "RATE_LIMIT_USER_STORE_PER_MINUTE"),
        (
            LimitClass::PublicStats,
            "RATE_LIMIT_PUBLIC_STATS_PER_MINUTE",
        ),
    ] {
        let default = s.per_minute[&class];
        s.per_minute
            .insert(class, parse_num(get(key), default, key)?);
    }
    s.trusted_proxy_header = get("TRUSTED_PROXY_HEADER")
        .map(|h| {
            axum::http::HeaderName::try_from(h.to_ascii_lowercase()).map_err(|_| {
                anyhow::anyhow!("TRUSTED_PROXY_HEADER must be a header name, not {h:?}")
            })
        })
        .transpose()?;
    s.max_running_unlocks = parse_num(
        get("MAX_RUNNING_UNLOCKS_PER_USER"),
        s.max_running_unlocks,
        "MAX_RUNNING_UNLOCKS_PER_USER",
    )?;
    s.max_uploads_per_hour = parse_num(
        get("MAX_UPLOADS_PER_HOUR"),
        s.max_uploads_per_hour,
        "MAX_UPLOADS_PER_HOUR",
    )?;
    Ok(s)
}

pub(super) fn http_timeouts(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<relivchats_api::HttpTimeouts> {
    let d = relivchats_api::HttpTimeouts::default();
    let secs = |key: &str, default: std::time::Duration| -> anyhow::Result<std::time::Duration> {
        let v: f64 = parse_num(get(key), default.as_secs_f64(), key)?;
        if !(v > 0.0 && v.is_finite()) {
            bail!("{key} must be a positive number of seconds, not {v}");
        }
        Ok(std::time::Duration::from_secs_f64(v))
    };
    Ok(relivchats_api::HttpTimeouts {
        header_read: secs("HTTP_HEADER_READ_TIMEOUT_SECS", d.header_read)?,
        body_idle: secs("HTTP_BODY_IDLE_TIMEOUT_SECS", d.body_idle)?,
        request: secs("HTTP_REQUEST_TIMEOUT_SECS", d.request)?,
    })
}

pub(super) fn message_blocks(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<relivchats_domain::blocks::BlockLimits> {
    let d = relivchats_domain::blocks::BlockLimits::default();
    let limits = relivchats_domain::blocks::BlockLimits {
        max_messages: parse_num(
            get("MESSAGE_BLOCK_MESSAGES"),
            d.max_messages,
            "MESSAGE_BLOCK_MESSAGES",
        )?,
        max_bytes: parse_num(
            get("MESSAGE_BLOCK_BYTES"),
            d.max_bytes,
            "MESSAGE_BLOCK_BYTES",
        )?,
    };
    if limits.max_messages == 0 || limits.max_bytes == 0 {
        bail!("MESSAGE_BLOCK_MESSAGES and MESSAGE_BLOCK_BYTES must be at least 1");
    }
    Ok(limits)
}

pub(super) fn unlock_timings(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<relivchats_domain::contracts::unlock::UnlockTimings> {
    let d = relivchats_domain::contracts::unlock::UnlockTimings::default();
    let t = relivchats_domain::contracts::unlock::UnlockTimings {
        deadline_secs: parse_num(
            get("UNLOCK_DEADLINE_SECS"),
            d.deadline_secs,
            "UNLOCK_DEADLINE_SECS",
        )?,
        insight_timeout_secs: parse_num(
            get("INSIGHT_TIMEOUT_SECS"),
            d.insight_timeout_secs,
            "INSIGHT_TIMEOUT_SECS",
        )?,
        insight_max_attempts: parse_num(
            get("INSIGHT_MAX_ATTEMPTS"),
            d.insight_max_attempts,
            "INSIGHT_MAX_ATTEMPTS",
        )?,
        refund_window_secs: parse_num(
            get("UNLOCK_REFUND_WINDOW_SECS"),
            d.refund_window_secs,
            "UNLOCK_REFUND_WINDOW_SECS",
        )?,
        model_task_queue: None,
    };
    if t.deadline_secs == 0 || t.insight_timeout_secs == 0 || t.insight_max_attempts == 0 {
        bail!(
            "UNLOCK_DEADLINE_SECS, INSIGHT_TIMEOUT_SECS and INSIGHT_MAX_ATTEMPTS must be at least 1"
        );
    }
    Ok(t)
}

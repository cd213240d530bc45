//! Webhook payloads of Stripe and Razorpay, read into one shape.
//!
//! Only verified bodies reach these parsers. Events we do not act on parse to
//! [`PaymentEvent::Other`] (acknowledged, stored, nothing else); an event we act on but whose
//! payload lacks what it needs is an error (the body is stored, the provider gets a 400).

use serde_json::Value;

use super::Provider;

/// One webhook delivery, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub provider: Provider,
    /// The provider's event id (dedupe key): Stripe `evt_…`, Razorpay `X-Razorpay-Event-Id`.
    pub event_id: String,
    /// The provider's event name, e.g. `payment.captured`.
    pub event_type: String,
    pub event: PaymentEvent,
}

/// What an event means for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    /// Money was captured: credit the order (workflow `TopUp`).
    Paid(PaidEvent),
    /// A payment attempt failed: the order may be marked failed (nothing moves).
    Failed(FailedEvent),
    /// Money was given back: claw the coins back (workflow `RefundPayment`).
    Refunded(RefundEvent),
    /// Acknowledged and stored, with no effect.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidEvent {
    /// Razorpay `order_…`, Stripe `pi_…` (None for a Razorpay payment made without an order).
    pub provider_order_id: Option<String>,
    /// Razorpay `pay_…`, Stripe `pi_…`: the top-up workflow is keyed on it.
    pub provider_payment_id: String,
    /// Minor units actually captured.
    pub amount: i64,
    /// As the provider wrote it (`INR`, `usd`).
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    pub provider_order_id: Option<String>,
    pub provider_payment_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEvent {
    pub provider_order_id: Option<String>,
    pub provider_payment_id: String,
    /// Razorpay `rfnd_…`; Stripe `{ch_…}:{amount_refunded}` (a `charge.refunded` event carries
    /// the charge, whose refunded total identifies this step of possibly several refunds).
    pub provider_refund_id: String,
    pub amount: RefundAmount,
    pub currency: String,
}

/// How much a refund event gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundAmount {
    /// This refund alone (Razorpay `refund.amount`).
    This(i64),
    /// The payment's refunded total so far (Stripe `charge.amount_refunded`).
    Total(i64),
}

/// Why a verified body cannot be used. The text is the sentence a 400 answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is not a JSON object")]
    NotJson,
    #[error("the event has no {0}")]
    Missing(&'static str),
}

fn text(value: &Value, pointer: &'static str) -> Result<String, EventError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(EventError::Missing(pointer))
}

fn optional_text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn integer(value: &Value, pointer: &'static str) -> Result<i64, EventError> {
    value
        .pointer(pointer)
        .and_then(Value::as_i64)
        .ok_or(EventError::Missing(pointer))
}

fn json_object(body: &[u8]) -> Result<Value, EventError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(EventError::NotJson),
    }
}

/// Reads a Razorpay webhook. `event_id` is the `X-Razorpay-Event-Id` header; without it the
/// body's SHA-256 stands in, so a byte-identical replay is still recognised.
pub fn parse_razorpay(body: &[u8], event_id: Option<&str>) -> Result<WebhookEvent, EventError> {
    let v = json_object(body)?;
    let event_type = text(&v, "/event")?;
    let event = match event_type.as_str() {
        "payment.captured" | "order.paid" => PaymentEvent::Paid(PaidEvent {
            provider_order_id: optional_text(&v, "/payload/payment/entity/order_id")
                .or_else(|| optional_text(&v, "/payload/order/entity/id")),
            provider_payment_id: text(&v, "/payload/payment/entity/id")?,
            amount: integer(&v, "/payload/payment/entity/amount")?,
            currency: text(&v, "/payload/payment/entity/currency")?,
        }),
        "payment.failed" => PaymentEvent::Failed(FailedEvent {
            provider_order_id: optional_text(&v, "/payload/payment/entity/order_id"),
            provider_payment_id: optional_text(&v, "/payload/payment/entity/id"),
            reason: optional_text(&v, "/payload/payment/entity/error_description"),
        }),
        // A chargeback: the money is taken back from us when the dispute opens, so the coins
        // are clawed back like a refund (keyed by the dispute, so it happens once).
        "payment.dispute.created" => PaymentEvent::Refunded(RefundEvent {
            provider_order_id: None,
            provider_payment_id: text(&v, "/payload/dispute/entity/payment_id")?,
            provider_refund_id: format!("dispute:{}", text(&v, "/payload/dispute/entity/id")?),
            amount: RefundAmount::This(integer(&v, "/payload/dispute/entity/amount")?),
            currency: text(&v, "/payload/dispute/entity/currency")?,
        }),
        "refund.processed" => PaymentEvent::Refunded(RefundEvent {
            provider_order_id: optional_text(&v, "/payload/payment/entity/order_id"),
            provider_payment_id: text(&v, "/payload/refund/entity/payment_id")?,
            provider_refund_id: text(&v, "/payload/refund/entity/id")?,
            amount: RefundAmount::This(integer(&v, "/payload/refund/entity/amount")?),
            currency: text(&v, "/payload/refund/entity/currency")?,
        }),
        _ => PaymentEvent::Other,
    };
    let event_id = match event_id.map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => format!("sha256:{}", sha256_hex(body)),
    };
    Ok(WebhookEvent {
        provider: Provider::Razorpay,
        event_id,
        event_type,
        event,
    })
}

fn sha256_hex(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

/// Reads a Stripe event (`{"id":"evt_…","type":…,"data":{"object":…}}`).
pub fn parse_stripe(body: &[u8]) -> Result<WebhookEvent, EventError> {
    let v = json_object(body)?;
    let event_id = text(&v, "/id")?;
    let event_type = text(&v, "/type")?;
    let event = match event_type.as_str() {
        "payment_intent.succeeded" => {
            let amount = integer(&v, "/data/object/amount_received")
                .or_else(|_| integer(&v, "/data/object/amount"))?;
            let intent = text(&v, "/data/object/id")?;
            PaymentEvent::Paid(PaidEvent {
                provider_order_id: Some(intent.clone()),
                provider_payment_id: intent,
                amount,
                currency: text(&v, "/data/object/currency")?,
            })
        }
        "payment_intent.payment_failed" => {
            let intent = text(&v, "/data/object/id")?;
            PaymentEvent::Failed(FailedEvent {
                provider_order_id: Some(intent.clone()),
                provider_payment_id: Some(intent),
                reason: optional_text(&v, "/data/object/last_payment_error/message"),
            })
        }
        "charge.refunded" => {
            let intent = text(&v, "/data/object/payment_intent")?;
            let charge = text(&v, "/data/object/id")?;
            let total = integer(&v, "/data/object/amount_refunded")?;
            PaymentEvent::Refunded(RefundEvent {
                provider_order_id: Some(intent.clone()),
                provider_payment_id: intent,
                provider_refund_id: format!("{charge}:{total}"),
                amount: RefundAmount::Total(total),
                currency: text(&v, "/data/object/currency")?,
            })
        }
        // A chargeback: Stripe withdraws the disputed amount when the dispute opens, so the
        // coins are clawed back like a refund, once per dispute.
        "charge.dispute.created" => {
            let intent = text(&v, "/data/object/payment_intent")?;
            PaymentEvent::Refunded(RefundEvent {
                provider_order_id: Some(intent.clone()),
                provider_payment_id: intent,
                provider_refund_id: format!("dispute:{}", text(&v, "/data/object/id")?),
                amount: RefundAmount::This(integer(&v, "/data/object/amount")?),
                currency: text(&v, "/data/object/currency")?,
            })
        }
        _ => PaymentEvent::Other,
    };
    Ok(WebhookEvent {
        provider: Provider::Stripe,
        event_id,
        event_type,
        event,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn razorpay(event: &str, payload: Value) -> Vec<u8> {
        json!({"entity": "event", "account_id": "acc_1", "event": event,
               "contains": ["payment"], "payload": payload, "created_at": 1_735_689_600})
        .to_string()
        .into_bytes()
    }

    fn payment_entity() -> Value {
        json!({"entity": {"id": "pay_1", "amount": 39_900, "currency": "INR",
                          "status": "captured", "order_id": "order_1", "method": "upi"}})
    }

    #[test]
    fn chargebacks_read_as_claw_backs_keyed_by_the_dispute() {
        let stripe = json!({"id": "evt_d", "type": "charge.dispute.created", "data": {"object": {
            "id": "dp_1", "object": "dispute", "amount": 499, "currency": "usd",
            "charge": "ch_1", "payment_intent": "pi_1", "reason": "fraudulent", "status": "needs_response"}}});
        let event = parse_stripe(stripe.to_string().as_bytes()).unwrap();
        let PaymentEvent::Refunded(r) = event.event else {
            panic!("a dispute must claw back: {event:?}")
        };
        assert_eq!(
            (
                r.provider_payment_id.as_str(),
                r.provider_refund_id.as_str(),
                r.amount
            ),
            ("pi_1", "dispute:dp_1", RefundAmount::This(499))
        );
        let body = razorpay(
            "payment.dispute.created",
            json!({"dispute": {"entity": {
            "id": "disp_1", "payment_id": "pay_1", "amount": 39_900, "currency": "INR",
            "phase": "chargeback"}}}),
        );
        let event = parse_razorpay(&body, Some("evt_r")).unwrap();
        let PaymentEvent::Refunded(r) = event.event else {
            panic!("a dispute must claw back: {event:?}")
        };
        assert_eq!(
            (
                r.provider_payment_id.as_str(),
                r.provider_refund_id.as_str(),
                r.amount
            ),
            ("pay_1", "dispute:disp_1", RefundAmount::This(39_900))
        );
    }

    #[test]
    fn razorpay_captured_and_order_paid_name_the_same_payment() {
        let captured = parse_razorpay(
            &razorpay("payment.captured", json!({"payment": payment_entity()})),
            Some("evt_a"),
        )
        .unwrap();
        let paid = parse_razorpay(
            &razorpay(
                "order.paid",
                json!({"payment": payment_entity(), "order": {"entity": {"id": "order_1", "status": "paid"}}}),
            ),
            Some("evt_b"),
        )
        .unwrap();
        let expected = PaymentEvent::Paid(PaidEvent {
            provider_order_id: Some("order_1".into()),
            provider_payment_id: "pay_1".into(),
            amount: 39_900,
            currency: "INR".into(),
        });
        assert_eq!(captured.event, expected);
        assert_eq!(paid.event, expected);
        assert_eq!(captured.event_id, "evt_a");
        assert_eq!(paid.event_type, "order.paid");
    }

    #[test]
    fn razorpay_refund_and_failure() {
        let body = razorpay(
            "refund.processed",
            json!({"refund": {"entity": {"id": "rfnd_1", "amount": 10_000, "currency": "INR",
                                         "payment_id": "pay_1", "status": "processed"}},
                   "payment": {"entity": {"id": "pay_1", "order_id": "order_1", "amount_refunded": 10_000}}}),
        );
        let event = parse_razorpay(&body, None).unwrap();
        assert!(event.event_id.starts_with("sha256:"), "{}", event.event_id);
        assert_eq!(
            event.event,
            PaymentEvent::Refunded(RefundEvent {
                provider_order_id: Some("order_1".into()),
                provider_payment_id: "pay_1".into(),
                provider_refund_id: "rfnd_1".into(),
                amount: RefundAmount::This(10_000),
                currency: "INR".into(),
            })
        );
        let failed = parse_razorpay(
            &razorpay(
                "payment.failed",
                json!({"payment": {"entity": {"id": "pay_2", "order_id": "order_1", "error_description": "card declined"}}}),
            ),
            Some("evt_f"),
        )
        .unwrap();
        assert!(matches!(
            failed.event,
            PaymentEvent::Failed(FailedEvent {
                reason: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn razorpay_other_events_and_bad_bodies() {
        let other = parse_razorpay(
            &razorpay("payment.authorized", json!({"payment": payment_entity()})),
            Some("e"),
        )
        .unwrap();
        assert_eq!(other.event, PaymentEvent::Other);
        assert_eq!(
            parse_razorpay(b"not json", Some("e")),
            Err(EventError::NotJson)
        );
        assert_eq!(parse_razorpay(b"[1]", Some("e")), Err(EventError::NotJson));
        assert_eq!(
            parse_razorpay(&razorpay("payment.captured", json!({})), Some("e")),
            Err(EventError::Missing("/payload/payment/entity/id"))
        );
    }

    fn stripe(kind: &str, object: Value) -> Vec<u8> {
        json!({"id": "evt_1", "object": "event", "type": kind, "data": {"object": object}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn stripe_events() {
        let paid = parse_stripe(&stripe(
            "payment_intent.succeeded",
            json!({"id": "pi_1", "object": "payment_intent", "amount": 499, "amount_received": 499, "currency": "usd"}),
        ))
        .unwrap();
        assert_eq!(paid.event_id, "evt_1");
        assert_eq!(
            paid.event,
            PaymentEvent::Paid(PaidEvent {
                provider_order_id: Some("pi_1".into()),
                provider_payment_id: "pi_1".into(),
                amount: 499,
                currency: "usd".into(),
            })
        );
        let refunded = parse_stripe(&stripe(
            "charge.refunded",
            json!({"id": "ch_1", "object": "charge", "amount": 499, "amount_refunded": 200,
                   "currency": "usd", "payment_intent": "pi_1", "refunded": false}),
        ))
        .unwrap();
        assert!(matches!(
            refunded.event,
            PaymentEvent::Refunded(RefundEvent { ref provider_refund_id, amount: RefundAmount::Total(200), .. })
                if provider_refund_id == "ch_1:200"
        ));
        let other = parse_stripe(&stripe("customer.created", json!({"id": "cus_1"}))).unwrap();
        assert_eq!(other.event, PaymentEvent::Other);
        assert_eq!(
            parse_stripe(br#"{"type":"x"}"#),
            Err(EventError::Missing("/id"))
        );
    }
}

"""schemathesis hooks for scripts/contract: sign the webhooks it sends.

A fuzzer cannot sign a webhook, so without this every generated delivery stops at the
signature check (400). Signing the schema-valid (positive) ones with the secrets the script
configured makes them reach what runs after a good signature: parsing the event, storing it,
acting on it. Negative cases stay unsigned: they must be refused.
"""

import base64
import hashlib
import hmac
import json
import os
import time

import schemathesis


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _razorpay(headers: dict, body: bytes) -> None:
    headers["X-Razorpay-Signature"] = _hex_hmac(os.environ["RAZORPAY_WEBHOOK_SECRET"], body)


def _stripe(headers: dict, body: bytes) -> None:
    t = str(int(time.time()))
    v1 = _hex_hmac(os.environ["STRIPE_WEBHOOK_SECRET"], t.encode() + b"." + body)
    headers["Stripe-Signature"] = f"t={t},v1={v1}"


def _clerk(headers: dict, body: bytes) -> None:
    key = base64.b64decode(os.environ["CLERK_WEBHOOK_SECRET"].removeprefix("whsec_"))
    msg_id = headers.get("svix-id") or "msg_contract"
    t = str(int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{t}.".encode() + body, hashlib.sha256).digest()
    headers["svix-id"] = msg_id
    headers["svix-timestamp"] = t
    headers["svix-signature"] = "v1," + base64.b64encode(mac).decode()


SIGNERS = {
    "/api/payments/webhooks/razorpay": _razorpay,
    "/api/payments/webhooks/stripe": _stripe,
    "/api/webhooks/clerk": _clerk,
}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    sign = SIGNERS.get(case.operation.path)
    meta = case.meta
    if sign is None or meta is None or not meta.generation.mode.is_positive:
        return
    if case.media_type != "application/json" or isinstance(case.body, (bytes, type(None))):
        return
    try:
        json.dumps(case.body, allow_nan=False)
    except ValueError:
        return
    # The bytes requests sends for `json=` (its own `json.dumps(..., allow_nan=False)`). The
    # body itself is left alone: changing it would make schemathesis re-judge the case.
    body = json.dumps(case.body, allow_nan=False).encode()
    headers = dict(case.headers or {})
    sign(headers, body)
    case.headers = headers

"""Webhook authenticity shared by the platforms: the error, and Standard Webhooks signatures.

Each platform package owns its own check (`bot/platforms/<name>/verify.py`); they are pure
functions over the raw body, the headers and configured secrets.

Every comparison is constant-time (`hmac.compare_digest`). A failure raises `VerificationError`
whose message names what was wrong (never a secret or the expected value), so the receiver can
log it and answer 401.

`headers` is any mapping whose `.get` accepts lower-case names (Starlette's `Headers` is
case-insensitive; plain dicts in tests use lower-case keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"


class VerificationError(Exception):
    """The delivery is not authentic (401); the message says why, without secrets."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (`whsec_<base64>`); ValueError if malformed."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected whsec_ followed by base64") from None
    if not key:
        raise ValueError("expected whsec_ followed by base64")
    return key


def standard_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """One `v1,<base64>` signature over `{id}.{timestamp}.{body}` (Standard Webhooks)."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify_standard(
    key: bytes, body: bytes, headers: Mapping[str, str], *, now: float, tolerance_seconds: int
) -> None:
    """Standard Webhooks: any listed `v1` signature must match and the timestamp be fresh."""
    msg_id, timestamp = headers.get(WEBHOOK_ID), headers.get(WEBHOOK_TIMESTAMP)
    signatures = headers.get(WEBHOOK_SIGNATURE) or ""
    if not msg_id or not timestamp:
        raise VerificationError("webhook-signature without webhook-id and webhook-timestamp")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise VerificationError("webhook-timestamp is not a Unix time in seconds") from None
    if sent_at < now - tolerance_seconds:
        raise VerificationError(f"webhook-timestamp is more than {tolerance_seconds}s old")
    if sent_at > now + tolerance_seconds:
        raise VerificationError(f"webhook-timestamp is more than {tolerance_seconds}s in the future")
    expected = standard_signature(key, msg_id, timestamp, body).encode()
    matched = False
    for candidate in signatures.split():
        # Compare every candidate (no early exit), so timing does not reveal which one matched.
        matched |= candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected)
    if not matched:
        raise VerificationError("no webhook-signature matches the body")

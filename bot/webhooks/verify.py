"""Webhook authenticity: pure functions over the raw body, the headers and configured secrets.

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

GITHUB_SIGNATURE = "x-hub-signature-256"
GITHUB_SHA1_SIGNATURE = "x-hub-signature"
GITLAB_TOKEN = "x-gitlab-token"  # a header name, not a secret  # noqa: S105  # nosec B105
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"


class VerificationError(Exception):
    """The delivery is not authentic (401); the message says why, without secrets."""


def github_signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body` (also used by tests and the bench)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str | None, body: bytes, headers: Mapping[str, str]) -> None:
    """Accept only a correct `X-Hub-Signature-256`; SHA-1 (`X-Hub-Signature`) is never enough."""
    if not secret:
        raise VerificationError("no GitHub webhook secret is configured (READINESS_GITHUB_WEBHOOK_SECRET)")
    given = headers.get(GITHUB_SIGNATURE)
    if given is None:
        if headers.get(GITHUB_SHA1_SIGNATURE) is not None:
            raise VerificationError("only a SHA-1 X-Hub-Signature was sent; X-Hub-Signature-256 is required")
        raise VerificationError("missing X-Hub-Signature-256")
    if not given.startswith("sha256="):
        raise VerificationError("X-Hub-Signature-256 does not start with sha256=")
    if not hmac.compare_digest(given.encode(), github_signature(secret, body).encode()):
        raise VerificationError("X-Hub-Signature-256 does not match the body")


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


def verify_gitlab(
    token: str | None,
    signing_secret: str | None,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance_seconds: int,
    allow_unsigned: bool = False,
) -> None:
    """Check every credential that is both sent and configured; at least one must be.

    A hook may carry the secret token, a signature, or both; GitLab sends `webhook-id` and
    `webhook-timestamp` on every delivery but `webhook-signature` only with a signing token.
    With a signing secret configured the signature is required: a token alone would let whoever
    captured one delivery replay it (or forge others) and defeat the signature's timestamp.
    `allow_unsigned` accepts token-only deliveries still, for a migration from tokens to signatures.
    """
    if not token and not signing_secret:
        raise VerificationError(
            "no GitLab secret is configured "
            "(READINESS_GITLAB_WEBHOOK_SECRET or READINESS_GITLAB_SIGNING_SECRET)"
        )
    checked = False
    if signing_secret and not allow_unsigned and headers.get(WEBHOOK_SIGNATURE) is None:
        raise VerificationError("missing webhook-signature (a signing secret is configured)")
    if signing_secret and headers.get(WEBHOOK_SIGNATURE) is not None:
        verify_standard(
            signing_key(signing_secret), body, headers, now=now, tolerance_seconds=tolerance_seconds
        )
        checked = True
    given = headers.get(GITLAB_TOKEN)
    if token and given is not None:
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise VerificationError("X-Gitlab-Token does not match")
        checked = True
    if not checked:
        wanted = " or ".join(
            name
            for name, secret in (("webhook-signature", signing_secret), ("X-Gitlab-Token", token))
            if secret
        )
        raise VerificationError(f"missing {wanted}")

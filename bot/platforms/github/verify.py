"""GitHub webhook authenticity: `X-Hub-Signature-256`, HMAC-SHA256 of the raw body.

Constant-time comparison; a failure raises `VerificationError` naming what was wrong (never a
secret or the expected value).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from bot.webhooks.verify import VerificationError

GITHUB_SIGNATURE = "x-hub-signature-256"
GITHUB_SHA1_SIGNATURE = "x-hub-signature"


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

"""GitLab webhook authenticity: the secret token (`X-Gitlab-Token`), signed webhooks, or both.

Constant-time comparison; a failure raises `VerificationError` naming what was wrong (never a
secret or the expected value).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from bot.webhooks.verify import WEBHOOK_SIGNATURE, VerificationError, signing_key, verify_standard

GITLAB_TOKEN = "x-gitlab-token"  # a header name, not a secret  # noqa: S105  # nosec B105


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

"""Signature checks: GitHub's published vector, GitLab tokens and Standard Webhooks signatures."""

from __future__ import annotations

import base64

import pytest

from bot.platforms.github.verify import github_signature, verify_github
from bot.platforms.gitlab.verify import verify_gitlab
from bot.webhooks.verify import VerificationError, signing_key, standard_signature

GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

KEY = bytes(range(32))
WHSEC = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_763_700_000
BODY = b'{"object_kind":"push"}'


def test_github_published_test_vector() -> None:
    assert github_signature(GH_SECRET, GH_BODY) == GH_SIGNATURE
    verify_github(GH_SECRET, GH_BODY, {"x-hub-signature-256": GH_SIGNATURE})


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"x-hub-signature-256": GH_SIGNATURE}, b"Hello, World?", "does not match"),
        ({}, GH_BODY, "missing X-Hub-Signature-256"),
        ({"x-hub-signature": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"}, GH_BODY, "SHA-1"),
        ({"x-hub-signature-256": GH_SIGNATURE.removeprefix("sha256=")}, GH_BODY, "sha256="),
        ({"x-hub-signature-256": GH_SIGNATURE.replace("sha256", "sha1")}, GH_BODY, "sha256="),
        ({"x-hub-signature-256": "sha256=ä"}, GH_BODY, "does not match"),
    ],
)
def test_github_rejections(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(VerificationError, match=reason) as info:
        verify_github(GH_SECRET, body, headers)
    assert GH_SECRET not in str(info.value)


def test_github_wrong_secret_and_no_secret() -> None:
    with pytest.raises(VerificationError, match="does not match"):
        verify_github("another secret", GH_BODY, {"x-hub-signature-256": GH_SIGNATURE})
    with pytest.raises(VerificationError, match="no GitHub webhook secret"):
        verify_github(None, GH_BODY, {"x-hub-signature-256": GH_SIGNATURE})


def signed(body: bytes = BODY, *, at: int = NOW, msg_id: str = "msg_1", signature: str | None = None) -> dict:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": signature or standard_signature(KEY, msg_id, str(at), body),
    }


def gitlab(
    headers: dict,
    *,
    token: str | None = None,
    signing: str | None = WHSEC,
    body: bytes = BODY,
    allow_unsigned: bool = False,
) -> None:
    verify_gitlab(
        token, signing, body, headers, now=NOW, tolerance_seconds=300, allow_unsigned=allow_unsigned
    )


def test_standard_signature_matches_an_independent_computation() -> None:
    import hashlib
    import hmac

    mac = hmac.new(KEY, b"msg_1.1763700000." + BODY, hashlib.sha256).digest()
    assert signed()["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_gitlab_token_right_and_wrong() -> None:
    gitlab({"x-gitlab-token": "t0ken"}, token="t0ken", signing=None)
    with pytest.raises(VerificationError, match="X-Gitlab-Token does not match"):
        gitlab({"x-gitlab-token": "t0ken!"}, token="t0ken", signing=None)
    with pytest.raises(VerificationError, match="missing X-Gitlab-Token"):
        gitlab({}, token="t0ken", signing=None)


def test_gitlab_signed_right_wrong_tampered() -> None:
    gitlab(signed())
    with pytest.raises(VerificationError, match="no webhook-signature matches"):
        gitlab(signed(), body=BODY + b" ")
    with pytest.raises(VerificationError, match="no webhook-signature matches"):
        gitlab(signed(signature="v1," + base64.b64encode(b"x" * 32).decode()))
    with pytest.raises(VerificationError, match="webhook-id"):
        gitlab({"webhook-signature": signed()["webhook-signature"]})


@pytest.mark.parametrize(("offset", "reason"), [(-301, "old"), (301, "future")])
def test_gitlab_signed_rejects_stale_and_future_timestamps(offset: int, reason: str) -> None:
    with pytest.raises(VerificationError, match=reason):
        gitlab(signed(at=NOW + offset))
    gitlab(signed(at=NOW + (300 if offset > 0 else -300)))  # the edge of the window is accepted


def test_gitlab_signed_rejects_non_numeric_timestamp() -> None:
    headers = signed() | {"webhook-timestamp": "yesterday"}
    with pytest.raises(VerificationError, match="Unix time"):
        gitlab(headers)


def test_gitlab_several_signatures_any_v1_match() -> None:
    good = signed()["webhook-signature"]
    gitlab(signed(signature=f"v1,Zm9vYmFy v1a,{good[3:]} {good}"))
    with pytest.raises(VerificationError):
        gitlab(signed(signature=f"v1a,{good[3:]} v2,{good[3:]}"))


def test_gitlab_both_credentials_must_agree_when_both_sent() -> None:
    gitlab(signed() | {"x-gitlab-token": "t"}, token="t")
    with pytest.raises(VerificationError, match="X-Gitlab-Token"):
        gitlab(signed() | {"x-gitlab-token": "wrong"}, token="t")
    # a signature without a configured signing secret falls back to the token
    gitlab(signed() | {"x-gitlab-token": "t"}, token="t", signing=None)
    # an unsigned delivery (webhook-id/timestamp only) is accepted by token only when allowed
    unsigned = {"webhook-id": "m", "webhook-timestamp": str(NOW), "x-gitlab-token": "t"}
    gitlab(unsigned, token="t", allow_unsigned=True)
    gitlab(unsigned, token="t", signing=None)


def test_gitlab_a_signing_secret_makes_the_signature_required() -> None:
    """Issue 12 finding 12: the right token without a signature is a downgrade, refused."""
    unsigned = {"webhook-id": "m", "webhook-timestamp": str(NOW), "x-gitlab-token": "t"}
    for headers in (unsigned, {"x-gitlab-token": "t"}):
        with pytest.raises(VerificationError, match="missing webhook-signature"):
            gitlab(headers, token="t")


def test_gitlab_nothing_configured_or_nothing_sent() -> None:
    with pytest.raises(VerificationError, match="no GitLab secret"):
        gitlab(signed(), signing=None)
    with pytest.raises(VerificationError, match="missing webhook-signature or X-Gitlab-Token"):
        gitlab({}, token="t", allow_unsigned=True)
    with pytest.raises(VerificationError, match="missing webhook-signature"):
        gitlab({}, token="t")


def test_signing_key_parsing() -> None:
    assert signing_key(WHSEC) == KEY
    assert signing_key(base64.b64encode(KEY).decode()) == KEY
    for bad in ("whsec_not base64!", "whsec_"):
        with pytest.raises(ValueError, match="whsec_"):
            signing_key(bad)

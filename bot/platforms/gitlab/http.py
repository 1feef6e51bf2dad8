"""python-gitlab with our retry, rate-limit, metrics and error policy on every HTTP request.

python-gitlab's own retries call `time.sleep` deep inside `http_request` (up to ten times the
server's Retry-After), drop the response headers when they give up, and cannot be observed or
tested without real sleeping. So its retries are switched off and this subclass applies the shared
`RetryPolicy` (same numbers as GitHub) per HTTP request, pagination pages included, because
python-gitlab fetches pages inside its own iterators: an injectable clock and sleep, waits
counted in RATE_LIMIT_WAIT_SECONDS, every attempt counted in API_CALLS, GitLab's `RateLimit-*`
headers honoured before the next request, and library exceptions mapped to `bot.platforms.base`
errors before they leave the thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import gitlab
import requests

from bot.metrics import API_CALLS, RATE_LIMIT_WAIT_SECONDS
from bot.platforms.base import Forbidden, Invalid, NotFound, PlatformError, RateLimited, Transient
from bot.platforms.http import RetryPolicy, rate_limit_wait, record_remaining

PLATFORM = "gitlab"
INSTALLATION = "0"  # one bot user per instance: its metrics label (as its pacing ledger's id)
PER_PAGE = 100  # GitLab's maximum page size (the tree endpoint included)


class Conflict(Invalid):
    """409: usually "already exists" (a link, a label); callers that want idempotence catch it."""


# The segment after one of these names is an identifier: replaced in the metrics label so the
# label set stays small ("/projects/:id/issues/:iid/notes", not one label per issue).
_PLACEHOLDERS = {
    "projects": ":id",
    "groups": ":group_id",
    "issues": ":iid",
    "notes": ":note_id",
    "links": ":issue_link_id",
    "pipelines": ":pipeline_id",
    "jobs": ":job_id",
    "all": ":user_id",
    "users": ":user_id",
    "statuses": ":sha",
    "commits": ":sha",
    "branches": ":branch",
    "files": ":file_path",
    "labels": ":label_id",
    "award_emoji": ":award_id",
}
_LITERALS = {"raw", "repository", "tree", "links", "notes", "jobs", "statuses", "award_emoji", "all"}


def endpoint_template(path: str) -> str:
    """'/projects/g%2Fr/issues/5/notes' or a full next-page URL -> '/projects/:id/issues/:iid/notes'."""
    path = urlparse(path).path
    if "/api/v4" in path:
        path = path.split("/api/v4", 1)[1]
    out: list[str] = []
    for seg in path.strip("/").split("/"):
        prev = out[-1] if out else ""
        if prev in _PLACEHOLDERS and seg not in _LITERALS:
            out.append(_PLACEHOLDERS[prev])
        elif seg.isdigit():
            out.append(":n")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def api_call_counter(route: str, method: str) -> Callable[[str], None]:
    """Counts one request's outcome in API_CALLS under its route class (a template, never a path)."""
    return lambda outcome: API_CALLS.labels(PLATFORM, INSTALLATION, route, method, outcome).inc()


def error_for(status: int, message: str, wait: float) -> PlatformError:
    if status == 404:
        return NotFound(message)
    if status in (401, 403):
        return Forbidden(message)
    if status == 409:
        return Conflict(message)
    if status == 429:
        return RateLimited(message, retry_after=wait)
    if status >= 500:
        return Transient(message)
    return Invalid(message)


def outcome(status: int) -> str:
    return {404: "not_found", 401: "forbidden", 403: "forbidden", 429: "rate_limited"}.get(
        status, "transient" if status >= 500 else "invalid"
    )


class RetryingGitlab(gitlab.Gitlab):
    """A `gitlab.Gitlab` whose `http_request` applies our policy; everything else is the library's."""

    def __init__(
        self,
        url: str,
        *,
        private_token: str,
        session: requests.Session,
        timeout: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        policy: RetryPolicy,
    ) -> None:
        # keep_base_url: a self-managed instance whose external_url differs from the URL we were
        # given (an internal address, a proxy) returns next-page links we must not follow blindly.
        super().__init__(
            url, private_token=private_token, session=session, timeout=timeout, keep_base_url=True
        )
        self._clock = clock
        self._sleep = sleep  # blocking: we run in a worker thread
        self.policy = policy
        self._not_before = 0.0  # from RateLimit-Remaining: 0 + RateLimit-Reset on any response
        self._last = threading.local()  # the last response seen by this thread (for its headers)
        session.hooks.setdefault("response", []).append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self._last.response = response
        self.observe(response.headers)
        return response

    def observe(self, headers: Mapping[str, str]) -> None:
        """An exhausted quota (REST or GraphQL: the same user's budget) holds the next request."""
        record_remaining(PLATFORM, INSTALLATION, headers.get("RateLimit-Remaining"))
        if headers.get("RateLimit-Remaining") == "0" and headers.get("RateLimit-Reset"):
            with contextlib.suppress(ValueError):
                self._not_before = max(self._not_before, float(headers["RateLimit-Reset"]))

    def wait_for_quota(self) -> None:
        if self._not_before > (now := self._clock()):
            self.wait(self._not_before - now, "rate limit exhausted (RateLimit-Remaining: 0)")

    def wait(self, seconds: float, why: str) -> None:
        """Sleep up to `max_rate_wait`; longer waits become RateLimited so the job is rescheduled."""
        if seconds > self.policy.max_rate_wait:
            raise RateLimited(f"GitLab {why}; retry in {seconds:.0f}s", retry_after=seconds)
        if seconds > 0:
            RATE_LIMIT_WAIT_SECONDS.labels(PLATFORM).inc(seconds)
            self._sleep(seconds)

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        # Our policy replaces the library's: never let it sleep or retry on its own.
        kwargs.update(obey_rate_limit=False, retry_transient_errors=False, max_retries=0)
        endpoint = endpoint_template(path)
        label = f"{verb.upper()} {endpoint}"
        count = api_call_counter(endpoint, verb.upper())
        # A POST that timed out or got a 5xx may have been applied (an issue created); repeating it
        # could duplicate content, so only 429s (rejected before processing) are retried for POST.
        idempotent = verb.lower() != "post"
        failures = rate_waits = 0
        while True:
            self.wait_for_quota()
            self._last.response = None
            try:
                response = super().http_request(verb, path, *args, **kwargs)
            except (gitlab.exceptions.GitlabHttpError, gitlab.exceptions.GitlabAuthenticationError) as exc:
                status = exc.response_code or 0
                count(outcome(status))
                last = getattr(self._last, "response", None)
                wait = rate_limit_wait(last.headers if last is not None else {}, self._clock())
                if status == 429 and rate_waits < self.policy.rate_retries:
                    rate_waits += 1
                    self.wait(wait, "rate limit (429)")
                    continue
                if status >= 500 and idempotent and failures + 1 < self.policy.attempts:
                    failures += 1
                    self._sleep(self.policy.backoff(failures))
                    continue
                raise error_for(status, f"{label}: {status} {exc.error_message}", wait) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                count("transient")
                safe = idempotent or isinstance(exc, requests.ConnectTimeout)
                if safe and failures + 1 < self.policy.attempts:
                    failures += 1
                    self._sleep(self.policy.backoff(failures))
                    continue
                raise Transient(f"{label}: {type(exc).__name__}") from None
            except gitlab.exceptions.GitlabError as exc:  # redirects on writes, parsing errors
                count("error")
                raise PlatformError(f"{label}: {exc.error_message}") from None
            except requests.RequestException as exc:
                count("error")
                raise PlatformError(f"{label}: {type(exc).__name__}") from None
            count("ok")
            return response

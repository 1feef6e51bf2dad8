"""GitLab's GraphQL endpoint (`POST /api/graphql`) over httpx, with the REST side's policy.

python-gitlab's `gitlab.GraphQL` needs the `gql` extra and sleeps inside its own retries, so this
is a thin blocking httpx client run in the same worker threads as python-gitlab: the same
`RetryPolicy`, injected clock and sleep, shared `RateLimit-*` quota (`RetryingGitlab.observe`),
every attempt counted in API_CALLS as `graphql:<operationName>`, errors mapped to
`bot.platforms.base` types. GitLab answers most GraphQL failures with HTTP 200 and an `errors`
list (unknown field, not allowed, resource not available): those become `GraphQLError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from bot.platforms.base import Invalid, PlatformError, Transient
from bot.platforms.gitlab.http import api_call_counter, error_for, outcome
from bot.platforms.http import rate_limit_wait

if TYPE_CHECKING:
    from bot.platforms.gitlab.http import RetryingGitlab


class GraphQLError(Invalid):
    """GitLab refused the operation (HTTP 200 with `errors`, or a mutation's own `errors`)."""

    def __init__(self, operation: str, messages: list[str]) -> None:
        self.operation = operation
        self.messages = messages
        super().__init__(f"GraphQL {operation}: {'; '.join(messages) or 'no data'}")


class GitLabGraphQL:
    """Blocking: call `execute` inside `GitLabClient.run`, never on the event loop."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        gl: RetryingGitlab,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = f"{url.rstrip('/')}/api/graphql"
        self._gl = gl  # shares the quota and the retry policy with REST
        self._clock = clock
        self._sleep = sleep
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=timeout, transport=transport
        )

    def execute(self, operation: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """`data` of a successful operation; mutations are idempotent here (set a type, set a
        parent), so like PUT they are retried after a 5xx or a timeout."""
        policy, count = self._gl.policy, api_call_counter(f"graphql:{operation}", "POST")
        body = {"operationName": operation, "query": query, "variables": dict(variables)}
        failures = rate_waits = 0
        while True:
            self._gl.wait_for_quota()
            try:
                response = self._http.post(self.url, json=body)
            except httpx.TransportError as exc:
                count("transient")
                if failures + 1 < policy.attempts:
                    failures += 1
                    self._sleep(policy.backoff(failures))
                    continue
                raise Transient(f"POST /api/graphql ({operation}): {type(exc).__name__}") from None
            self._gl.observe(response.headers)
            status = response.status_code
            if status >= 400:
                count(outcome(status))
                wait = rate_limit_wait(response.headers, self._clock())
                if status == 429 and rate_waits < policy.rate_retries:
                    rate_waits += 1
                    self._gl.wait(wait, "rate limit (429)")
                    continue
                if status >= 500 and failures + 1 < policy.attempts:
                    failures += 1
                    self._sleep(policy.backoff(failures))
                    continue
                raise error_for(status, f"POST /api/graphql ({operation}): {status}", wait) from None
            try:
                payload = response.json()
            except ValueError:
                count("error")
                raise PlatformError(f"POST /api/graphql ({operation}): not JSON") from None
            errors = payload.get("errors") if isinstance(payload, dict) else None
            if errors or not isinstance(payload, dict) or payload.get("data") is None:
                count("invalid")
                raise GraphQLError(operation, [_message(e) for e in errors or ()])
            count("ok")
            return payload["data"]

    def close(self) -> None:
        self._http.close()


def _message(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)

"""Which App permission each GitHub API route the adapter calls needs (GitHub's "permissions
required for GitHub Apps" tables). tests/setup/test_permissions.py checks that app.yml asks for
exactly these and that every route in bot/platforms/github*.py is listed; docs/security.md says why."""

from __future__ import annotations

# (method, path template as written in the adapter) -> (permission, level); None: App JWT, no permission
ROUTE_PERMISSIONS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("GET", "/app"): None,
    ("GET", "/repos/{owner}/{repo}/installation"): None,
    ("GET", "/installation/repositories"): ("metadata", "read"),
    ("GET", ""): ("metadata", "read"),  # /repos/{owner}/{repo}
    ("GET", "/branches/{branch}"): ("contents", "read"),
    ("GET", "/git/trees/{sha}"): ("contents", "read"),
    ("GET", "/contents/{path}"): ("contents", "read"),
    ("POST", "/graphql"): ("contents", "read"),  # blob texts at a commit
    ("GET", "/commits/{ref}/check-runs"): ("checks", "read"),
    ("POST", "/check-runs"): ("checks", "write"),
    ("GET", "/commits/{ref}/status"): ("statuses", "read"),
    ("POST", "/issues"): ("issues", "write"),
    ("GET", "/issues"): ("issues", "read"),
    ("GET", "/issues/{number}"): ("issues", "read"),
    ("PATCH", "/issues/{number}"): ("issues", "write"),
    ("GET", "/labels"): ("issues", "read"),
    ("POST", "/labels"): ("issues", "write"),
    ("POST", "/issues/{number}/sub_issues"): ("issues", "write"),
    ("DELETE", "/issues/{number}/sub_issue"): ("issues", "write"),
    ("GET", "/issues/{number}/sub_issues"): ("issues", "read"),
    ("POST", "/issues/{number}/comments"): ("issues", "write"),
    ("PATCH", "/issues/comments/{id}"): ("issues", "write"),
    ("GET", "/issues/{number}/comments"): ("issues", "read"),
    ("POST", "/issues/comments/{id}/reactions"): ("issues", "write"),
    ("GET", "/collaborators/{login}/permission"): ("metadata", "read"),
    ("GET", "/orgs/{org}/teams/{team_slug}/members"): ("members", "read"),  # owner teams -> assignees
}
LEVELS = {"read": 1, "write": 2}


def required_permissions() -> dict[str, str]:
    """The highest level each permission is needed at."""
    out: dict[str, str] = {}
    for need in ROUTE_PERMISSIONS.values():
        if need is not None and LEVELS[need[1]] > LEVELS.get(out.get(need[0], ""), 0):
            out[need[0]] = need[1]
    return out

"""`readiness gitlab connect` / `disconnect`: the bot's webhook on a GitLab project or group.

The hook carries one secret token the bot generated (and a Standard-Webhooks signing token where
the instance supports signed webhooks: it answers `signing_token_present`), both stored encrypted
so the receiver verifies deliveries. Hooks are found by their URL, so `connect` run twice changes
nothing and `disconnect` removes exactly what `connect` added. Group hooks need GitLab Premium: on
Free (403/404 on the group's hooks) every project of the group and its subgroups gets a project hook.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gitlab
from gitlab.exceptions import GitlabError

from bot.secrets import GITLAB_SIGNING_TOKEN, GITLAB_WEBHOOK_TOKEN, SecretStore

EVENTS = {
    "push_events": True,
    "tag_push_events": True,
    "issues_events": True,
    "note_events": True,
    "pipeline_events": True,
    "job_events": True,
    "merge_requests_events": False,
}


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    added: int = 0
    unchanged: int = 0
    removed: int = 0
    ok: bool = True

    def say(self, line: str) -> None:
        self.lines.append(line)


def _signing_token() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def _is_missing_feature(exc: GitlabError) -> bool:
    return exc.response_code in (403, 404)


class Connector:
    """One GitLab instance, one bot URL, one store (for the tokens)."""

    def __init__(self, gl: gitlab.Gitlab, hook_url: str, store: SecretStore | None) -> None:
        self.gl, self.hook_url, self.store = gl, hook_url, store

    def _owners(
        self, project: str | None, group: str | None, report: Report
    ) -> Iterator[tuple[str, Any, str]]:
        """(kind, manager of hooks, name) for every place the hook belongs."""
        if project:
            p = self.gl.projects.get(project)
            yield "project", p.hooks, p.path_with_namespace
            return
        assert group is not None
        g = self.gl.groups.get(group)
        try:
            g.hooks.list(get_all=False, per_page=1)
        except GitlabError as exc:
            if not _is_missing_feature(exc):
                raise
            report.say(f"group hooks need GitLab Premium: using a project hook on every project of {group}")
            for listed in g.projects.list(include_subgroups=True, iterator=True, per_page=100):
                proj = self.gl.projects.get(listed.id, lazy=True)
                yield "project", proj.hooks, listed.path_with_namespace
            return
        yield "group", g.hooks, g.full_path

    def _ours(self, hooks: Any) -> list[Any]:
        return [h for h in hooks.list(iterator=True) if h.url == self.hook_url]

    def connect(self, *, project: str | None, group: str | None) -> Report:
        report = Report()
        assert self.store is not None
        token = self.store.get(GITLAB_WEBHOOK_TOKEN)
        if token is None:
            self.store.put(GITLAB_WEBHOOK_TOKEN, secrets.token_urlsafe(32), only_if_absent=True)
            token = self.store.get(GITLAB_WEBHOOK_TOKEN)
        signing = self.store.get(GITLAB_SIGNING_TOKEN) or _signing_token()
        first_new: Any = None
        for kind, hooks, name in self._owners(project, group, report):
            if self._ours(hooks):
                report.unchanged += 1
                continue
            hook = hooks.create(
                {
                    "url": self.hook_url,
                    "token": token,
                    "signing_token": signing,
                    "enable_ssl_verification": True,
                }
                | EVENTS
            )
            if getattr(hook, "signing_token_present", False):
                self.store.put(GITLAB_SIGNING_TOKEN, signing, only_if_absent=True)
            report.added += 1
            report.say(f"added a {kind} hook to {name} (hook id {hook.id})")
            first_new = first_new or hook
        if report.added == 0:
            report.say(
                f"already connected: {report.unchanged} hook(s) point at {self.hook_url}; nothing changed"
            )
        elif report.unchanged:
            report.say(f"{report.unchanged} hook(s) were already there")
        if group and report.added + report.unchanged and first_new is not None:
            report.say(f"{report.added} hook(s) added for {group}")
        if first_new is not None:
            self._test(first_new, report)
        return report

    def _test(self, hook: Any, report: Report) -> None:
        """GitLab's test hook (a push event) to the bot; the answer GitLab got is the result."""
        try:
            hook.test("push_events")
        except GitlabError as exc:
            report.ok = False
            report.say(f"test hook FAILED: GitLab answered {exc.response_code}: {exc.error_message}")
            return
        report.say("test hook delivered: the bot accepted GitLab's test push event")

    def disconnect(self, *, project: str | None, group: str | None) -> Report:
        report = Report()
        for kind, hooks, name in self._owners(project, group, report):
            for hook in self._ours(hooks):
                hook.delete()
                report.removed += 1
                report.say(f"removed the {kind} hook {hook.id} from {name}")
        report.say(f"removed {report.removed} hook(s) pointing at {self.hook_url}")
        return report

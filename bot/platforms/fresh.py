"""Children of issues an adapter created itself, known without asking the platform.

An issue created moments ago through this adapter has exactly the children linked through it
since, so listing them (which a sync does before linking sections under a new epic) needs no
call: on onboarding that saves one read on GitHub and two on GitLab. Issues created elsewhere,
or by an earlier adapter (another sync), are always asked for.
"""

from __future__ import annotations

from bot.platforms.base import Issue


class FreshParents:
    def __init__(self) -> None:
        self._children: dict[int, list[Issue]] = {}  # issue number -> children linked through us

    def created(self, issue: Issue) -> None:
        self._children[issue.number] = []

    def linked(self, parent: Issue, child: Issue) -> None:
        known = self._children.get(parent.number)
        if known is not None and all(c.id != child.id for c in known):
            known.append(child)

    def unlinked(self, parent: Issue, child: Issue) -> None:
        known = self._children.get(parent.number)
        if known is not None:
            known[:] = [c for c in known if c.id != child.id]

    def children(self, parent: Issue) -> list[Issue] | None:
        """The children when `parent` is ours and fresh, else None (ask the platform)."""
        known = self._children.get(parent.number)
        return None if known is None else list(known)

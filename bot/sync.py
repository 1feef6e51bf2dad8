"""Sync one repository: gather observed state, call the pure core, apply the fewest writes.

Every trigger (push, CI, a person's tick, installation, schedule) ends here. Running it twice in
a row makes no writes the second time; a crash at any point is repaired by the next run (intent
rows are written before creates, and marked issues are adopted instead of duplicated).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import Engine

from bot.core import owners, tracker
from bot.core.decide import Expired, Regression, apply_human_ticks, decide
from bot.core.errors import InputError
from bot.core.pathindex import PathIndex
from bot.core.reconcile import Create, Retire, Update, plan
from bot.core.resolve import apply_ignore, without_own_inputs
from bot.core.rules import compile_checklist, evaluate_many, files_to_read, needs_ci, read_budget
from bot.core.scopes import Scopes
from bot.core.settings import (
    CONFIG_FILE,
    RepoConfig,
    ResolvedChecklist,
    config_data,
    parse_config,
    resolve_checklists,
)
from bot.core.snapshot import RepoSnapshot
from bot.core.state import ItemState
from bot.core.templates import Template
from bot.core.yamlload import READ_CAP
from bot.ownership import Ownership, gather_ownership
from bot.platforms.base import Annotation, CheckReport, Invalid, Issue, IssueUpdate, Platform, Tree
from bot.platforms.blobs import BlobCache
from bot.store import tracking
from bot.store.db import session_scope
from bot.store.models import OwnedIssue, Repository

log = structlog.get_logger(__name__)
TREE_CACHE_SIZE = 256  # trees kept per process (a tree is paths + blob shas)

CHECK_NAME = "readiness / configuration"
ReadOrgDefault = Callable[[], Awaitable[str | None]]


@dataclass
class SyncResult:
    outcome: str  # synced | no-config | config-error | skipped
    writes: int = 0
    changed_items: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Syncer:
    """Everything one sync needs; handlers build one per job (tests pass a MemoryPlatform)."""

    engine: Engine
    platform: Platform
    repository_id: int
    shipped: Mapping[str, Template]
    now: datetime
    read_org_default: ReadOrgDefault | None = None
    blobs: BlobCache | None = None  # file contents by blob sha, shared across syncs
    trees: dict[tuple[str, str], Tree] | None = None  # (repo, commit) -> tree, shared across syncs
    _writes: int = 0
    _checklists: dict[str, ResolvedChecklist] = field(default_factory=dict)
    _issue_opts: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    _ownership: Ownership = field(default_factory=Ownership)

    # ------------------------------------------------------------------------------ entry point

    async def run(self, *, commit: str | None = None) -> SyncResult:
        if commit is None:
            commit = (await self.platform.default_branch()).commit
        tree = await self._tree(commit)
        raw = await self._read(CONFIG_FILE, tree, commit)
        if raw is None:
            return await self._config_deleted()
        try:
            config, checklists = await self.load_config(raw, commit, tree=tree)
        except InputError as err:
            return await self._config_invalid(err, commit)
        await self._config_valid(commit)
        return await self._sync_checklists(config, checklists, commit, tree)

    async def _tree(self, commit: str) -> Tree:
        """The tree at a commit; a commit's tree never changes, so it is cached by sha."""
        key = (self.platform.full_name, commit)
        if self.trees is not None and key in self.trees:
            return self.trees[key]
        tree = await self.platform.tree(commit)
        if self.trees is not None:
            self.trees[key] = tree
            while len(self.trees) > TREE_CACHE_SIZE:
                del self.trees[next(iter(self.trees))]
        return tree

    async def _read(self, path: str, tree: Tree | None, commit: str) -> bytes | None:
        """One file, by blob sha from the cache when the tree names it (config, templates)."""
        if tree is not None and tree.complete and path not in tree.blobs and path not in tree.paths:
            return None  # not in the commit: no call needed
        sha = tree.blobs.get(path) if tree is not None else None
        hit, content = self._cached(sha)
        if not hit:
            content = await self.platform.file(path, commit)
            self._remember(sha, content)
        return content

    # ----------------------------------------------------------------------------- configuration

    async def load_config(
        self, raw: bytes, commit: str, *, tree: Tree | None = None
    ) -> tuple[RepoConfig, list[ResolvedChecklist]]:
        text = raw.decode("utf-8", errors="replace")
        base = None
        # The file is validated once, merged: it may refer to checklists and items that only the
        # organisation default brings in. The default is read even under `extends: false`, since
        # its `mandatory` and `approvers` bind every repository (parse_config merges or not).
        # Parsing, compiling and evaluating what a repository supplies runs in a thread: the event
        # loop (and /healthz, and every other tenant's webhooks) must never wait on it.
        await asyncio.to_thread(config_data, text)  # a file that is not a mapping fails before any read
        if self.read_org_default:
            org_text = await self.read_org_default()
            if org_text:
                base = await asyncio.to_thread(
                    config_data, org_text, filename=f"organization default {CONFIG_FILE}"
                )
        config = await asyncio.to_thread(parse_config, text, shipped_ids=self.shipped.keys(), base=base)
        custom: dict[str, bytes | None] = {}
        for choice in config.chosen:
            if choice.path:
                custom[choice.path] = await self._read(choice.path, tree, commit)
        return config, await asyncio.to_thread(
            resolve_checklists, config, shipped=self.shipped, read=custom.get
        )

    async def _config_invalid(self, err: InputError, commit: str) -> SyncResult:
        body = tracker.render_config_error(filename=err.file, error=str(err))
        desired = tracker.DesiredIssue(tracker.CONFIG_ERROR_KEY, tracker.CONFIG_ERROR_TITLE, body, "open")
        actions = plan([desired], self._recorded())
        if actions:  # a new or different error: say so on the commit, once
            await self.platform.report_check(
                CheckReport(
                    name=CHECK_NAME,
                    commit=commit,
                    conclusion="failure",
                    title=f"{err.file} is invalid",
                    summary=str(err),
                    annotations=(Annotation(err.file, err.line or 1, err.message),),
                )
            )
            self._writes += 1
            await self._apply(actions, labels=())
        self._set_repo(config_status="invalid", config_error=str(err))
        log.info("sync.config_invalid", error=str(err))
        return SyncResult("config-error", writes=self._writes, notes=[str(err)])

    async def _config_valid(self, commit: str) -> None:
        rec = self._recorded().get(tracker.CONFIG_ERROR_KEY)
        if rec is None or rec.state == "closed" or rec.number is None:
            return
        await self.platform.report_check(
            CheckReport(
                CHECK_NAME, commit, "success", f"{CONFIG_FILE} is valid", "The checklist is tracked again."
            )
        )
        self._writes += 1
        await self._apply(
            plan([], self._recorded(), retire={tracker.CONFIG_ERROR_KEY: f"Fixed in {commit[:7]}: closing."}),
            labels=(),
        )

    async def _config_deleted(self) -> SyncResult:
        msg = (
            f"`{CONFIG_FILE}` was removed from the default branch, so this checklist is no longer tracked. "
            "Item states are kept: restoring the file restores the checklist."
        )
        recorded = self._recorded()
        await self._apply(plan([], recorded, retire={tracker.EPIC_KEY: msg}), labels=())
        self._set_repo(config_status="deleted" if tracker.EPIC_KEY in recorded else "none", config_error=None)
        return SyncResult("no-config", writes=self._writes)

    # ---------------------------------------------------------------------------------- checklists

    async def _sync_checklists(
        self, config: RepoConfig, checklists: list[ResolvedChecklist], commit: str, tree: Tree
    ) -> SyncResult:
        compiled = await asyncio.to_thread(
            lambda: [compile_checklist(c.template, c.extra_rules) for c in checklists]
        )
        ci = await self.platform.ci_results(commit) if needs_ci(compiled) else []
        loop = asyncio.get_running_loop()
        fetched: dict[str, bytes | None] = {}

        def read(path: str) -> bytes | None:  # called from the evaluation thread
            if path in fetched:
                return fetched[path]
            hit, content = self._cached(tree.blobs.get(path))
            if not hit:
                content = asyncio.run_coroutine_threadsafe(self.platform.file(path, commit), loop).result()
                self._remember(tree.blobs.get(path), content)
            return content

        snapshot = RepoSnapshot(paths=tree.paths, read=read, ci=tuple(ci), commit=commit)
        snapshot = await asyncio.to_thread(lambda: apply_ignore(config, without_own_inputs(config, snapshot)))
        index = await asyncio.to_thread(PathIndex.build, snapshot.paths)
        scopes = Scopes.from_config(config.scopes)
        wanted = await asyncio.to_thread(files_to_read, compiled, index, scopes)
        fetched.update(await self._prefetch(wanted, tree.blobs, commit, read_budget(compiled)))
        verdicts = await asyncio.to_thread(evaluate_many, compiled, snapshot, index=index, scopes=scopes)

        with session_scope(self.engine) as s:
            before = tracking.load_states(s, repository_id=self.repository_id)
        states: dict[str, dict[str, ItemState]] = {}
        regressions: list[Regression] = []
        expired: list[Expired] = []
        changed = 0
        for c, v in zip(checklists, verdicts, strict=True):
            items = [i for _, i in c.template.items()]
            d = decide(
                checklist=c.template.id,
                item_ids=[i.id for i in items],
                automatic={i.id for i in items if i.rule is not None or i.id in c.extra_rules},
                verdicts=v,
                current=before.get(c.template.id, {}),
                skips=c.skips,
                skip_until=c.skip_until,
                ttl_days=c.ttl_days,
                policy=config.on_regression,
                now=self.now,
            )
            states[c.template.id] = d.states
            regressions += d.regressions
            expired += d.expired
            changed += len(d.changed)
        self._save(states, before)

        self._ownership = await gather_ownership(
            self.platform, checklists, lambda path: self._read(path, tree, commit)
        )
        labels = config.issues.labels
        assignees = config.issues.assignees
        templates = [c.template for c in checklists]
        sections = self._desired_sections(checklists, states, labels, assignees)
        wanted = {d.key for d in sections}
        retire = {
            key: "This section is no longer part of the configured checklists: closing it."
            for key in self._recorded()
            if key.startswith("section:") and key not in wanted
        }
        await self._apply(plan(sections, self._recorded(), retire=retire), labels=labels, states=states)

        recorded = self._recorded()
        numbers = {k: r.number for k, r in recorded.items() if r.number is not None}
        last = max(
            (s.changed_at for cs in states.values() for s in cs.values() if s.changed_at), default=None
        )
        epic = tracker.DesiredIssue(
            tracker.EPIC_KEY,
            tracker.epic_title(self.platform.full_name),
            tracker.render_epic(
                repo=self.platform.full_name,
                templates=templates,
                states=states,
                numbers=numbers,
                last_change=last,
            ),
            "open",
            labels,
            assignees,
        )
        await self._apply(plan([epic], self._recorded()), labels=labels)
        await self._link_sections(wanted)
        await self._report_regressions(regressions, checklists)
        await self._report_expired(expired, checklists)
        schedule = config.summary
        self._set_repo(
            config_status="valid",
            config_error=None,
            last_synced_commit=commit,
            summary_schedule=f"{schedule.day} {schedule.time} {schedule.timezone}" if schedule else None,
        )
        log.info("sync.done", commit=commit, writes=self._writes, changed_items=changed)
        return SyncResult("synced", writes=self._writes, changed_items=changed)

    async def _prefetch(
        self, paths: list[str], blobs: Mapping[str, str], commit: str, max_bytes: int
    ) -> dict[str, bytes | None]:
        """The files `contains` rules will read that the blob cache lacks, in one batched read
        (a push that leaves files alone reads nothing); `read` finds the cached ones itself."""
        missing = [path for path in paths if not self._cached(blobs.get(path))[0]]
        if not missing:
            return {}
        found = await self.platform.files(missing, commit, max_bytes=max(max_bytes, READ_CAP))
        for path, content in found.items():
            self._remember(blobs.get(path), content)
        return found

    def _cached(self, sha: str | None) -> tuple[bool, bytes | None]:
        """(hit, content) from the blob cache shared across syncs."""
        if sha is None or self.blobs is None:
            return False, None
        return self.blobs.get(self.platform.full_name, sha)

    def _remember(self, sha: str | None, content: bytes | None) -> None:
        if sha is not None and self.blobs is not None:
            self.blobs.put(self.platform.full_name, sha, content)

    def _desired_sections(
        self,
        checklists: list[ResolvedChecklist],
        states: Mapping[str, Mapping[str, ItemState]],
        labels: tuple[str, ...],
        assignees: tuple[str, ...],
    ) -> list[tracker.DesiredIssue]:
        self._checklists = {c.template.id: c for c in checklists}
        self._issue_opts = (labels, assignees)
        return [
            self._section(c.template.id, sec.id, states) for c in checklists for sec in c.template.sections
        ]

    def _section(
        self, checklist: str, section: str, states: Mapping[str, Mapping[str, ItemState]]
    ) -> tracker.DesiredIssue:
        c = self._checklists[checklist]
        t = c.template
        sec = next(s for s in t.sections if s.id == section)
        manual = {i.id for _, i in t.items() if i.rule is None and i.id not in c.extra_rules}
        st = states.get(t.id, {})
        done = bool(sec.items) and tracker.progress_of(st[i.id] for i in sec.items if i.id in st).complete
        labels, assignees = self._issue_opts
        return tracker.DesiredIssue(
            tracker.section_key(t.id, sec.id),
            tracker.section_title(t, sec),
            tracker.render_section(t, sec, st, manual=manual),
            "closed" if done else "open",
            labels,
            tuple(
                dict.fromkeys(
                    assignees + self._ownership.assignees.get(tracker.section_key(t.id, sec.id), ())
                )
            ),
        )

    # ------------------------------------------------------------------------------------ writing

    async def _apply(
        self,
        actions: list,
        *,
        labels: tuple[str, ...],
        states: dict[str, dict[str, ItemState]] | None = None,
    ) -> None:
        adopted: dict[str, Issue] | None = None
        for action in actions:
            if isinstance(action, Create):
                if adopted is None:
                    adopted = await self._adoptable()
                    if labels:
                        await self.platform.ensure_labels(labels)
                found = adopted.pop(action.issue.key, None)
                if found is not None:
                    await self._update(action.issue, found, states)
                else:
                    await self._create(action.issue)
            elif isinstance(action, Update):
                current = await self.platform.get_issue(action.number)  # re-read right before writing
                await self._update(action.issue, current, states)
            elif isinstance(action, Retire):
                await self._retire(action)

    async def _adoptable(self) -> dict[str, Issue]:
        """Marked issues the bot created earlier but has no complete record of (crash, lost DB)."""
        out: dict[str, Issue] = {}
        for issue in await self.platform.find_issues(tracker.MARKER_PREFIX):
            key = tracker.key_from_body(issue.body)
            if key and (key not in out or issue.state == "open"):
                out[key] = issue
        return out

    async def _create(self, want: tracker.DesiredIssue) -> None:
        with session_scope(self.engine) as s:
            tracking.record_intent(s, repository_id=self.repository_id, key=want.key)
        issue = await self.platform.create_issue(
            title=want.title,
            body=want.body,
            labels=want.labels,
            assignees=want.assignees,
            child=want.key.startswith(tracker.SECTION_PREFIX),
        )
        self._writes += 1
        if want.state == "closed":
            issue = await self.platform.update_issue(issue.number, IssueUpdate(state="closed"))
            self._writes += 1
        self._record(want.key, issue, want.digest, want.body)

    async def _update(
        self,
        want: tracker.DesiredIssue,
        current: Issue,
        states: dict[str, dict[str, ItemState]] | None,
    ) -> None:
        if states is not None and want.key.startswith("section:"):
            want = self._keep_human_ticks(want, current, states)
        change = IssueUpdate(
            title=want.title if current.title != want.title else None,
            body=want.body if current.body != want.body else None,
            state=want.state if current.state != want.state else None,
            labels=tuple(dict.fromkeys(current.labels + want.labels))
            if not set(want.labels) <= set(current.labels)
            else None,
            assignees=tuple(dict.fromkeys(current.assignees + want.assignees))
            if not set(want.assignees) <= set(current.assignees)
            else None,
        )
        if change != IssueUpdate():
            current = await self.platform.update_issue(current.number, change)
            self._writes += 1
        self._record(want.key, current, want.digest, want.body)

    def _keep_human_ticks(
        self,
        want: tracker.DesiredIssue,
        current: Issue,
        states: dict[str, dict[str, ItemState]],
    ) -> tracker.DesiredIssue:
        """Ticks a person made since our last write (whose webhook we have not seen yet) win."""
        with session_scope(self.engine) as s:
            row = tracking.owned_issues(s, repository_id=self.repository_id).get(want.key)
        last = row.body if row is not None else None
        if last is None:
            return want
        ticks = tracker.changed_boxes(tracker.parse_checkboxes(last), tracker.parse_checkboxes(current.body))
        if not ticks:
            return want
        flat = {(c, i): st for c, cs in states.items() for i, st in cs.items()}
        decided = apply_human_ticks(current=flat, ticks=ticks, actor=tracker.UNKNOWN_PERSON, now=self.now)
        if not decided:
            return want
        before = {c: dict(cs) for c, cs in states.items()}
        for (c, i), st in decided.items():
            states.setdefault(c, {})[i] = st
        self._save({c: states[c] for c in {c for c, _ in decided}}, before)
        checklist, section = want.key.split(":", 2)[1:]
        return self._section(checklist, section, states)

    async def _retire(self, action: Retire) -> None:
        await self.platform.create_comment(action.number, action.comment)
        issue = await self.platform.update_issue(action.number, IssueUpdate(state="closed"))
        self._writes += 2
        with session_scope(self.engine) as s:
            row = tracking.owned_issues(s, repository_id=self.repository_id)[action.key]
            tracking.record_issue(
                s,
                repository_id=self.repository_id,
                key=action.key,
                number=issue.number,
                platform_issue_id=issue.id,
                state="closed",
                digest=None,
                body=row.body,
            )

    async def _link_sections(self, wanted: set[str]) -> None:
        """Link new section issues under the epic. The ids come from our records (GitHub's
        sub-issue call takes the child's id, not its number), so linking costs no reads."""
        rows = self._owned()
        epic = rows.get(tracker.EPIC_KEY)
        pending = [r for k, r in rows.items() if k in wanted and not r.parent_linked and r.number is not None]
        if epic is None or epic.number is None or not pending:
            return
        parent = _stub(epic)
        children = {c.number for c in await self.platform.list_children(parent)}
        for row in pending:
            if row.number not in children:
                try:
                    await self.platform.link_child(parent, _stub(row))
                except Invalid as exc:  # e.g. GitHub's 100 sub-issues per parent: the table still lists it
                    log.warning("sync.link_refused", section=row.key, error=str(exc))
                else:
                    self._writes += 1
            with session_scope(self.engine) as s:
                r = tracking.owned_issues(s, repository_id=self.repository_id)[row.key]
                r.parent_linked = True
                s.add(r)

    async def _report_regressions(
        self, regressions: list[Regression], checklists: list[ResolvedChecklist]
    ) -> None:
        if not regressions:
            return
        titles = {
            (c.template.id, i.id): (sec.id, i.title) for c in checklists for sec, i in c.template.items()
        }
        rows = self._owned()
        by_section: dict[int, list[str]] = {}
        for r in regressions:
            sec_id, title = titles[(r.checklist, r.item_id)]
            row = rows.get(tracker.section_key(r.checklist, sec_id))
            if row is None or row.number is None:
                continue
            what = f" (was: {r.lost_evidence})" if r.lost_evidence else ""
            owned = self._ownership.of(r.checklist, r.item_id)
            cc = f" · cc {owners.mention(owned)}" if owned else ""  # owners hear of their own items only
            by_section.setdefault(row.number, []).append(
                f"- **{title}**: automatic evidence disappeared{what}{cc}"
            )
        for number, lines in by_section.items():
            body = "Reopened because evidence went away:\n\n" + "\n".join(lines)
            await self.platform.create_comment(number, body)
            self._writes += 1

    async def _report_expired(self, expired: list[Expired], checklists: list[ResolvedChecklist]) -> None:
        """One comment per section whose re-attested items ran out, naming who ticked them."""
        if not expired:
            return
        titles = {
            (c.template.id, i.id): (sec.id, i.title) for c in checklists for sec, i in c.template.items()
        }
        rows = self._owned()
        by_section: dict[int, list[str]] = {}
        for e in expired:
            sec_id, title = titles[(e.checklist, e.item_id)]
            row = rows.get(tracker.section_key(e.checklist, sec_id))
            if row is None or row.number is None:
                continue
            who = f"@{e.ticked_by}" if e.ticked_by and e.ticked_by != tracker.UNKNOWN_PERSON else "a person"
            when = f" on {e.ticked_at:%Y-%m-%d}" if e.ticked_at else ""
            owned = self._ownership.of(e.checklist, e.item_id)
            ask = f"{owners.mention(owned)}, please" if owned else "Please"  # the item's owners confirm
            by_section.setdefault(row.number, []).append(
                f"- **{title}** `{e.checklist}/{e.item_id}`: ticked by {who}{when}; it is re-attested "
                f"every {e.ttl_days} days. {ask} check it still holds and tick it again."
            )
        for number, lines in by_section.items():
            body = "Re-attestation due, so these items are open again:\n\n" + "\n".join(lines)
            await self.platform.create_comment(number, body)
            self._writes += 1

    # ------------------------------------------------------------------------------------ records

    def _owned(self) -> dict:
        with session_scope(self.engine) as s:
            return tracking.owned_issues(s, repository_id=self.repository_id)

    def _recorded(self) -> dict:
        return tracking.as_recorded(self._owned())

    def _record(self, key: str, issue: Issue, digest: str, body: str) -> None:
        with session_scope(self.engine) as s:
            tracking.record_issue(
                s,
                repository_id=self.repository_id,
                key=key,
                number=issue.number,
                platform_issue_id=issue.id,
                state=issue.state,
                digest=digest,
                body=body,
            )

    def _save(
        self, states: Mapping[str, Mapping[str, ItemState]], before: Mapping[str, Mapping[str, ItemState]]
    ) -> None:
        with session_scope(self.engine) as s:
            tracking.save_states(
                s,
                repository_id=self.repository_id,
                states=[st for cs in states.values() for st in cs.values()],
                previous={c: dict(v) for c, v in before.items()},
                now=self.now,
            )

    def _set_repo(self, **fields: object) -> None:
        with session_scope(self.engine) as s:
            repo = s.get(Repository, self.repository_id)
            if repo is None:
                return
            for k, v in fields.items():
                setattr(repo, k, v)
            if "last_synced_commit" in fields:
                repo.last_synced_at = self.now
            s.add(repo)


def _stub(row: OwnedIssue) -> Issue:
    """An Issue carrying just what link calls need (number and platform id) from our record."""
    assert row.number is not None and row.platform_issue_id is not None
    return Issue(number=row.number, id=row.platform_issue_id, title="", body="", state=row.state)

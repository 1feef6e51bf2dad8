"""Sync one repository: gather observed state, call the pure core, apply the fewest writes.

Every trigger (push, CI, a person's tick, installation, schedule) ends here. Running it twice in
a row makes no writes the second time; a crash at any point is repaired by the next run (intent
rows are written before creates, and marked issues are adopted instead of duplicated).

Database: one read transaction at the start (the repository row, owned issues, item states, the
organisation default's memory) and one write transaction at the end (the synced head, and the
organisation default's memory when it changed); between them the owned issues are kept in
memory and shared with the writer. Only real changes add transactions: changed item states are
saved before any write (so a regression comment is never posted for a state not yet saved), and
each issue the writer creates or edits is recorded as it goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from bot.apply import Apply
from bot.core import tracker
from bot.core.actions import Action
from bot.core.applicability import Facts, repository_facts
from bot.core.errors import InputError
from bot.core.pathindex import PathIndex
from bot.core.plan_sync import (
    Sections,
    States,
    plan_config_deleted,
    plan_config_invalid,
    plan_config_valid,
    plan_epic,
    plan_evidence_comments,
    plan_links,
    plan_sections,
    plan_states,
)
from bot.core.resolve import ResolvedChecklist, apply_ignore, resolve_checklists, without_own_inputs
from bot.core.rules import Verdict, compile_checklist, evaluate_many, files_to_read, needs_ci, read_budget
from bot.core.scopes import Scopes
from bot.core.settings import (
    CONFIG_FILE,
    RepoConfig,
    config_data,
    parse_config,
)
from bot.core.snapshot import RepoSnapshot
from bot.core.state import ItemState
from bot.core.templates import Template
from bot.core.yamlload import MAX_FILE_BYTES, READ_CAP
from bot.ownership import gather_ownership
from bot.platforms.base import Platform, Tree
from bot.platforms.blobs import BlobCache
from bot.store import item_owners, org_defaults, repos, tracking
from bot.store.db import session_scope
from bot.store.models import OwnedIssue, Repository
from bot.store.org_defaults import Remembered

log = structlog.get_logger(__name__)
TREE_CACHE_SIZE = 256  # trees kept per process (a tree is paths + blob shas)


@dataclass(frozen=True, slots=True)
class OrgDefaultSource:
    """Where a repository's organisation default lives, and how to read it given what the
    database remembers (returns the text, and what to remember now; None: unchanged)."""

    platform: str
    source: str
    read: Callable[[Remembered | None], Awaitable[tuple[str | None, Remembered | None]]]


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
    org_default: OrgDefaultSource | None = None
    blobs: BlobCache | None = None  # file contents by blob sha, shared across syncs
    trees: dict[tuple[str, str], Tree] | None = None  # (repo, commit) -> tree, shared across syncs
    dry_run: bool = False  # plan and describe every write, make none
    writer: Apply | None = None
    previous_head: str | None = field(default=None, init=False)  # as the last sync left it
    topics: tuple[str, ...] | None = field(default=None, init=False)  # as the last payload said
    head: str | None = field(default=None, init=False)  # as this sync leaves it
    _rows: dict[str, OwnedIssue] | None = field(default=None, init=False, repr=False)
    _salt: str = field(default="", init=False, repr=False)  # per repository: see tracker.derive_nonce
    _before: States = field(default_factory=dict, init=False, repr=False)
    _org: Remembered | None = field(default=None, init=False, repr=False)
    _org_changed: Remembered | None = field(default=None, init=False, repr=False)
    _owners: Mapping[tuple[str, str], Sequence[str]] | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------------------------ entry point

    async def run(self, *, commit: str | None = None) -> SyncResult:
        self._gather_stored()
        if commit is None:
            commit = (await self.platform.default_branch()).commit
        tree = await self._tree(commit)
        try:
            raw = await self._read(CONFIG_FILE, tree, commit)
        except InputError as err:  # larger than the limit: refused before it is downloaded
            return await self._config_invalid(err, commit)
        if raw is None:
            return await self._config_deleted(commit)
        try:
            config, checklists = await self.load_config(raw, commit, tree=tree)
        except InputError as err:
            return await self._config_invalid(err, commit)
        await self._apply(plan_config_valid(commit=commit, recorded=self._recorded()))
        return await self._sync_checklists(config, checklists, commit, tree)

    def _gather_stored(self) -> None:
        """Everything the database knows that a sync needs, in one read transaction."""
        with session_scope(self.engine, immediate=False) as s:
            self._rows = tracking.owned_issues(s, repository_id=self.repository_id)
            self._before = tracking.load_states(s, repository_id=self.repository_id)
            repo = s.get(Repository, self.repository_id)
            self.previous_head = self.head = repo.last_synced_commit if repo is not None else None
            self._salt = _nonce_salt(repo)
            self.topics = repos.repository_topics(repo) if repo is not None else None
            if self.org_default is not None:
                o = self.org_default
                self._org = org_defaults.get(s, platform=o.platform, source=o.source)

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
        """One file, by blob sha from the cache when the tree names it (config, templates).
        InputError, without a download, when the tree says it is larger than the one file limit
        (the loaders check the same limit on what a capped read returns, where no size is known)."""
        if tree is not None and tree.complete and path not in tree.blobs and path not in tree.paths:
            return None  # not in the commit: no call needed
        size = tree.sizes.get(path) if tree is not None else None
        if size is not None and size > MAX_FILE_BYTES:
            raise InputError(file=path, message=f"file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes")
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
        if self.org_default is not None:
            org_text = await self._read_org_default()
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

    async def _read_org_default(self) -> str | None:
        """The organisation default through its database memory: read with the sync's other
        records and written with its last write; outside a sync (a command or summary loading
        the config) in transactions of its own."""
        o = self.org_default
        assert o is not None
        in_run = self._rows is not None
        if not in_run:
            with session_scope(self.engine, immediate=False) as s:
                self._org = org_defaults.get(s, platform=o.platform, source=o.source)
        text, changed = await o.read(self._org)
        if changed is not None:
            self._org = self._org_changed = changed
            if not in_run:
                with session_scope(self.engine) as s:
                    self._store_org(s)
        return text

    def _store_org(self, session: Session) -> None:
        if self._org_changed is not None and self.org_default is not None:
            o = self.org_default
            org_defaults.put(
                session, platform=o.platform, source=o.source, remembered=self._org_changed, now=self.now
            )
            self._org_changed = None

    async def _config_invalid(self, err: InputError, commit: str) -> SyncResult:
        actions = plan_config_invalid(
            file=err.file,
            line=err.line,
            message=err.message,
            error=str(err),
            commit=commit,
            recorded=self._recorded(),
            nonces=self._nonces(),
        )
        await self._apply(actions)
        self._set_repo(config_status="invalid", config_error=str(err))
        log.info("sync.config_invalid", error=str(err))
        return SyncResult("config-error", writes=self._writes, notes=[str(err)])

    async def _config_deleted(self, commit: str) -> SyncResult:
        recorded = self._recorded()
        await self._apply(plan_config_deleted(recorded=recorded))
        # the head is recorded so dispatch knows the repository has no configuration at it
        self._set_repo(
            config_status="deleted" if tracker.EPIC_KEY in recorded else "none",
            config_error=None,
            last_synced_commit=commit,
        )
        return SyncResult("no-config", writes=self._writes)

    # ---------------------------------------------------------------------------------- checklists

    async def _sync_checklists(
        self, config: RepoConfig, checklists: list[ResolvedChecklist], commit: str, tree: Tree
    ) -> SyncResult:
        verdicts, facts = await self._evaluate(config, checklists, commit, tree)
        before = self._before
        decided = plan_states(
            checklists, verdicts, before, policy=config.on_regression, now=self.now, facts=facts
        )
        states = decided.states
        self._save(states, before)

        # owners (reads only: CODEOWNERS, owner teams' members) are decided in bot.core.owners and
        # reach the platform as the section issues' assignees and the comments' cc's
        ownership = await gather_ownership(
            self.platform, checklists, lambda path: self._read(path, tree, commit)
        )
        self._owners = ownership.items  # stored with the sync's last write: summaries mention them
        issues = config.issues
        sections = Sections(
            tuple(checklists),
            issues.labels,
            issues.assignees,
            issues.layout,
            self.platform.full_name,
            owner_assignees=ownership.assignees,
            nonces=self._nonces(),
        )
        # phase 1: section issues (and retirements); phase 2: the epic, whose table needs their
        # numbers; phase 3: links under the epic and the comments, by the numbers now recorded
        await self._apply(plan_sections(sections, states, self._recorded()), sections=sections, states=states)
        await self._apply(
            plan_epic(
                repo=self.platform.full_name, sections=sections, states=states, recorded=self._recorded()
            ),
            sections=sections,
            states=states,
        )
        owned = self._owned()
        numbered = {k: r.parent_linked for k, r in owned.items() if r.number is not None}
        epic = owned.get(tracker.EPIC_KEY)
        await self._apply(
            plan_links(
                sections.keys(), numbered=numbered, has_epic=epic is not None and epic.number is not None
            )
            + plan_evidence_comments(
                regressions=decided.regressions,
                expired=decided.expired,
                checklists=checklists,
                numbers={k: r.number for k, r in owned.items() if r.number is not None},
                owners=ownership.items,
            )
        )
        schedule = config.summary
        self._set_repo(
            config_status="valid",
            config_error=None,
            last_synced_commit=commit,
            summary_schedule=f"{schedule.day} {schedule.time} {schedule.timezone}" if schedule else None,
        )
        log.info("sync.done", commit=commit, writes=self._writes, changed_items=decided.changed)
        return SyncResult("synced", writes=self._writes, changed_items=decided.changed)

    async def _evaluate(
        self, config: RepoConfig, checklists: list[ResolvedChecklist], commit: str, tree: Tree
    ) -> tuple[list[dict[str, Verdict]], Facts]:
        """Every chosen checklist's verdicts at `commit` (reads CI results only for `ci` rules), and
        the repository facts `applies_when` is decided on."""
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
        wanted = await asyncio.to_thread(files_to_read, compiled, index, scopes, tree.sizes)
        fetched.update(await self._prefetch(wanted, tree.blobs, commit, read_budget(compiled)))
        verdicts = await asyncio.to_thread(evaluate_many, compiled, snapshot, index=index, scopes=scopes)
        # topics as the last webhook stated them (GitHub); None (GitLab, none seen yet) rules nothing out
        facts = await asyncio.to_thread(repository_facts, index, profile=config.profile, topics=self.topics)
        return verdicts, facts

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

    # ------------------------------------------------------------------------------------ writing

    async def _apply(
        self, actions: list[Action], *, sections: Sections | None = None, states: States | None = None
    ) -> None:
        """Hand a plan to the single writer (nothing here calls a platform write method). One
        writer per sync, so labels are ensured and marked issues looked up once."""
        if not actions:
            return
        if self.writer is None:
            self.writer = Apply(
                self.platform,
                self.now,
                engine=self.engine,
                repository_id=self.repository_id,
                dry=self.dry_run,
                owned=self._owned(),
            )
        self.writer.sections, self.writer.states = sections, states
        await self.writer(actions)

    @property
    def _writes(self) -> int:
        return self.writer.writes if self.writer is not None else 0

    @property
    def planned(self) -> list[str]:
        """What a dry run would have written, one line per write."""
        return self.writer.planned if self.writer is not None else []

    # ------------------------------------------------------------------------------------ records

    def _owned(self) -> dict[str, OwnedIssue]:
        """The owned issues read at the start, kept current by the writer (which shares them)."""
        if self._rows is None:
            with session_scope(self.engine, immediate=False) as s:
                self._rows = tracking.owned_issues(s, repository_id=self.repository_id)
        return self._rows

    def _recorded(self) -> dict:
        return tracking.as_recorded(self._owned())

    def _nonces(self) -> tracker.Nonces:
        """Each owned issue's nonce, read back from the body the bot last wrote (pure: core)."""
        bodies = {k: r.body for k, r in self._owned().items()}
        return tracker.Nonces.read_back(repo=self.platform.full_name, salt=self._salt, bodies=bodies)

    def _save(
        self, states: Mapping[str, Mapping[str, ItemState]], before: Mapping[str, Mapping[str, ItemState]]
    ) -> None:
        """Changed states, in a transaction of their own before any platform write; none when
        nothing changed."""
        flat = [st for cs in states.values() for st in cs.values()]
        if not tracking.any_changed(flat, {c: dict(v) for c, v in before.items()}):
            return
        with session_scope(self.engine) as s:
            tracking.save_states(
                s,
                repository_id=self.repository_id,
                states=[st for cs in states.values() for st in cs.values()],
                previous={c: dict(v) for c, v in before.items()},
                now=self.now,
            )

    def _set_repo(self, **fields: object) -> None:
        """The sync's last write transaction: the repository row, the item owners the sync
        resolved, and the organisation default's memory when it changed."""
        with session_scope(self.engine) as s:
            self._store_org(s)
            if self._owners is not None:  # the weekly summary mentions them from here
                item_owners.save_owners(s, repository_id=self.repository_id, owners=self._owners)
            repo = s.get(Repository, self.repository_id)
            if repo is None:
                return
            for k, v in fields.items():
                setattr(repo, k, v)
            if "last_synced_commit" in fields:
                repo.last_synced_at = self.now
                self.head = repo.last_synced_commit
            s.add(repo)


def _nonce_salt(repo: Repository | None) -> str:
    """A value the database holds for the repository from its first sync on and the repository
    cannot see (its row's id and creation time), so its text cannot predict a new issue's nonce."""
    if repo is None:
        return ""
    created = repo.created_at.replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"{repo.id}:{created}"

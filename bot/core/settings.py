"""`.readiness.yml`, the repository configuration: the model and a parser with precise errors.

Pure: the caller passes the file text (and the organisation default's data, if any). Resolving
the chosen checklists against templates is the next step, in `bot.core.resolve` (which depends on
this model, never the other way round): `parse_config`, then `resolve.resolve_checklists`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.core import settings_errors, settings_schema, yamlload
from bot.core.codeowners import OWNER_EXPECTED, is_owner
from bot.core.durations import TTL_EXPECTED, parse_ttl
from bot.core.errors import ConfigError
from bot.core.pathindex import GlobError, compile_glob
from bot.core.rule_syntax import Rule, parse_rule
from bot.core.scopes import VENDORED_DIRS, ScopeKind
from bot.core.state import RegressionPolicy
from bot.core.yamlload import suggest_id

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_CHECKLISTS",
    "ChecklistChoice",
    "IssueSettings",
    "ItemOverride",
    "RepoConfig",
    "SummarySchedule",
    "config_data",
    "config_json_schema",
    "merge_config_data",
    "parse_config",
    "parse_extra_rule",
    "suggest_id",
]

CONFIG_FILE = ".readiness.yml"
DEFAULT_CHECKLISTS: tuple[str, ...] = ("production-readiness",)
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def _owner(value: str) -> str:
    if not is_owner(value.strip()):
        raise PydanticCustomError("config", OWNER_EXPECTED.replace(" (or a list of them)", ""))
    return value.strip()


def _glob(value: str) -> str:
    if value.startswith("!"):
        raise PydanticCustomError("config", "negated globs ('!') are not supported in `ignore`")
    try:
        compile_glob(value)
    except GlobError as exc:
        raise PydanticCustomError(
            "config", "glob {glob}: {reason}", {"glob": repr(value), "reason": str(exc)}
        ) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistChoice(_Model):
    """One chosen checklist: a shipped id, or a custom template by path inside the repository."""

    id: str | None = Field(None, description="Id of a shipped checklist (see `readiness templates`).")
    path: str | None = Field(
        None, description="Repository-relative path of a custom template (`.yml`/`.yaml`)."
    )
    exclude_sections: tuple[str, ...] = Field((), description="Section ids of this checklist to leave out.")
    exclude_items: tuple[str, ...] = Field((), description="Item ids of this checklist to leave out.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"id": data} if isinstance(data, str) else data

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value or value.startswith("/") or "\\" in value or ".." in value.split("/"):
            raise PydanticCustomError(
                "config", "expected a relative path inside the repository, like `.github/readiness/team.yml`"
            )
        if not value.endswith((".yml", ".yaml")):
            raise PydanticCustomError("config", "expected a YAML file ending in .yml or .yaml")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ChecklistChoice:
        if (self.id is None) == (self.path is None):
            raise PydanticCustomError(
                "config", "give exactly one of `id` (a shipped checklist) or `path` (a custom template)"
            )
        return self


class ItemOverride(_Model):
    """Per-item override: skip it (with a reason), or accept extra evidence (OR'ed with the template's)."""

    skip: str | None = Field(
        None, description="Why this item does not apply; a non-empty reason is required."
    )
    ttl: str | None = Field(
        None, description="Re-attest a manual item: a person's tick expires after this long (90d, 12w, 1y)."
    )
    until: date | None = Field(
        None,
        description="The last day the skip holds (YYYY-MM-DD); the day after, the item is tracked again.",
    )
    evidence: Any = Field(  # validated by rules.parse_rule, which words rule errors best
        None,
        description="An extra evidence rule (same syntax as in templates), OR'ed with the template's rule.",
    )
    mandatory: bool = Field(
        False,
        strict=True,
        description="Organisation default only: a repository's file cannot skip this item.",
    )
    approvers: tuple[Annotated[str, AfterValidator(_owner)], ...] = Field(
        (),
        description="Organisation default only: who confirms a skip by comment "
        '(`/readiness approve <item>`), e.g. "@org/sre" or a list of users.',
    )

    @field_validator("approvers", mode="before")
    @classmethod
    def _one_approver_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ttl", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is not None and parse_ttl(value) is None:
            raise PydanticCustomError("config", TTL_EXPECTED)
        return value

    @field_validator("skip", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> Any:
        if value is None or value is True or value is False or (isinstance(value, str) and not value.strip()):
            raise PydanticCustomError(
                "config", 'skip needs a reason, e.g. skip: "Batch job with no user traffic"'
            )
        return value

    @model_validator(mode="after")
    def _something(self) -> ItemOverride:
        if (
            self.skip is None
            and self.evidence is None
            and self.ttl is None
            and not self.mandatory
            and not self.approvers
        ):
            raise PydanticCustomError(
                "config",
                "expected `skip: <reason>`, `evidence: <rule>`, `ttl: <duration>`, "
                "`mandatory: true` or `approvers: [...]`",
            )
        if self.until is not None and self.skip is None:
            raise PydanticCustomError("config", "`until` ends a skip: give `skip: <reason>` with it")
        return self


class IssueSettings(_Model):
    """How the bot files its issues."""

    labels: tuple[str, ...] = Field(("readiness",), description="Labels on every issue the bot opens.")
    assignees: tuple[str, ...] = Field((), description="Users assigned to every issue the bot opens.")
    layout: Literal["sections", "single"] = Field(
        "sections",
        description="`sections`: an epic with one issue per section; `single`: the whole checklist in "
        "one issue, a heading per section (fewer writes for organisations with many repositories).",
    )

    @field_validator("labels", "assignees", mode="before")
    @classmethod
    def _one_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("labels", "assignees")
    @classmethod
    def _non_empty(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not value.strip():
                raise PydanticCustomError("config", "expected non-empty names")
            if len(value) > 50:
                raise PydanticCustomError("config", "names are at most 50 characters long")
        return values


class SummarySchedule(_Model):
    """When the weekly summary is posted on the epic."""

    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        "monday", description="Day of the week."
    )
    time: str = Field("09:00", description='Local time, "HH:MM" on a 24-hour clock.')
    timezone: str = Field("UTC", description="IANA time zone name, e.g. Europe/Berlin.")

    @field_validator("day", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("time", mode="before")
    @classmethod
    def _hhmm(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _TIME.match(value):
            raise PydanticCustomError(
                "config", "expected a time HH:MM on a 24-hour clock, e.g. 09:00 or 17:30"
            )
        return value.zfill(5)  # 9:30 -> 09:30

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
            raise PydanticCustomError(
                "timezone",
                "unknown time zone {zone}; expected an IANA name like Europe/Berlin",
                {"zone": repr(value)},
            ) from None
        return value


class RepoConfig(_Model):
    """`.readiness.yml`: which checklists apply to this repository, and how the bot tracks them."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="readiness-bot repository configuration")

    extends: Literal["organization", False] = Field(
        "organization",
        description="`organization`: merge the organisation's default config under this file; "
        "`false`: this file stands alone.",
    )
    checklists: tuple[ChecklistChoice, ...] = Field(
        (), description=f"Checklists to track (default: {', '.join(DEFAULT_CHECKLISTS)})."
    )
    items: dict[str, ItemOverride] = Field(
        {}, description='Per-item overrides keyed "<checklist>/<item>" (or "<item>" when unique).'
    )
    ignore: tuple[Annotated[str, AfterValidator(_glob)], ...] = Field(
        (),
        description="Paths the evidence rules never look at (gitignore-style globs): vendored code, "
        "fixtures or docs that would otherwise tick items falsely.",
    )
    ignore_vendored: bool = Field(
        True,
        strict=True,  # YAML's 0 or 1 is not a boolean here (the JSON Schema says the same)
        description="Leave out dependency directories committed into the repository, at any depth: "
        + ", ".join(f"`{d}/`" for d in VENDORED_DIRS)
        + ". What third parties wrote is not this service's evidence.",
    )
    scopes: dict[ScopeKind, tuple[Annotated[str, AfterValidator(_glob)], ...]] = Field(
        {},
        description="Globs added to the scope conventions of evidence rules (docs/templates.md): "
        "`tests`, `docs`, `excluded` (benchmarks, examples: never `code`) or `code` (wins over all).",
    )
    profile: Literal["service", "library", "worker", "frontend", "cli"] | None = Field(
        None,
        description="What this repository is: items whose `applies_when` names other profiles do not "
        "apply (a library is not asked for health endpoints). Unset: every item applies.",
    )
    owners: dict[str, tuple[Annotated[str, AfterValidator(_owner)], ...]] = Field(
        {},
        description='Owners keyed by section id or item key ("<checklist>/<item>" or "<item>"), e.g. '
        '`observability: "@org/sre"`; they win over the template\'s `owner:` and CODEOWNERS.',
    )
    issues: IssueSettings = Field(IssueSettings(), description="Labels and assignees for the issues.")
    summary: SummarySchedule | None = Field(
        SummarySchedule(), description="Weekly summary schedule, or `off`."
    )
    on_regression: RegressionPolicy = Field(
        RegressionPolicy.REOPEN, description="What happens when an item's automatic evidence disappears."
    )
    _positions: yamlload.Positions | None = PrivateAttr(default=None)
    _filename: str = PrivateAttr(default=CONFIG_FILE)
    _governance: dict[str, Governance] = PrivateAttr(default_factory=dict)
    _own_skips: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if v is not None}
            summary = data.get("summary")
            if summary is False or summary == "off":  # `is`: 0 and 1 are not booleans here
                data["summary"] = None
            elif summary is True or summary == "on":
                data["summary"] = {}
        return data

    @field_validator("extends", mode="before")
    @classmethod
    def _no_number_for_false(cls, value: Any) -> Any:
        if not isinstance(value, str | bool):  # pydantic's lax literal takes 0 for False
            raise PydanticCustomError("config", "expected 'organization' or false")
        return value

    @field_validator("ignore", mode="before")
    @classmethod
    def _one_glob_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("owners", mode="before")
    @classmethod
    def _one_owner_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("checklists", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise PydanticCustomError(
                "config", "choose at least one checklist, or leave `checklists` out for the default"
            )
        return value

    @property
    def chosen(self) -> tuple[ChecklistChoice, ...]:
        """The checklists to track: the configured ones, or DEFAULT_CHECKLISTS."""
        return self.checklists or tuple(ChecklistChoice(id=i) for i in DEFAULT_CHECKLISTS)

    @property
    def filename(self) -> str:
        return self._filename

    @property
    def governance(self) -> Mapping[str, Governance]:
        """Item key -> `mandatory` / `approvers`, from the organisation default (even when this
        file says `extends: false`: a repository cannot leave its organisation's rules)."""
        return self._governance

    @property
    def own_skips(self) -> frozenset[str]:
        """Item keys this file itself skips (not the organisation default)."""
        return self._own_skips

    @property
    def positions(self) -> yamlload.Positions | None:
        """Where each key path was written (None when the config was built in code)."""
        return self._positions

    def locate(self, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of `path`'s value (or key) in the parsed file; (None, None) when built in code."""
        if self._positions is None:
            return None, None
        return self._positions.lookup(path, value=not key)

    def written(self, path: tuple[str | int, ...]) -> bool:
        """Whether the file spells out exactly this path (not just a parent of it)."""
        return self._positions is not None and path in self._positions.values

    def error(
        self, path: tuple[str | int, ...], message: str, suggestion: str | None = None, *, key: bool = False
    ) -> ConfigError:
        """An error pointing at `path` (its value, or with key=True the key itself) in this file."""
        line, column = self.locate(path, key=key)
        return ConfigError(
            self._filename,
            message,
            line=line,
            column=column,
            path=yamlload.format_path(path) or None,
            suggestion=suggestion,
        )


# ------------------------------------------------------------------------------------------- parsing


def parse_config(
    text: str | bytes,
    *,
    filename: str = CONFIG_FILE,
    shipped_ids: Collection[str],
    base: Mapping[str, Any] | None = None,
) -> RepoConfig:
    """Parse and validate `.readiness.yml`; `base` is the organisation default merged underneath.

    Raises ConfigError naming file, line, column, key path and what was expected.
    """
    doc = yamlload.load_yaml(text, filename=filename, error=ConfigError)
    data = doc.value if doc.value is not None else {}
    if not isinstance(data, dict):
        raise doc.error((), "expected a mapping of settings (e.g. `checklists: [...]`)", error=ConfigError)
    own = data
    if base:
        _check_not_governing(doc, own, filename)
        if data.get("extends", "organization") is not False:
            data = merge_config_data(base, data)
    try:
        config = RepoConfig.model_validate(data)
    except ValidationError as exc:
        raise settings_errors.translate(
            exc, filename=filename, positions=doc.positions, keys_at=_keys_at
        ) from None
    config._positions = doc.positions
    config._filename = filename
    config._governance = governance_of(base if base else data, filename=ORG_DEFAULT if base else filename)
    own_items = own.get("items")
    own_items = own_items if isinstance(own_items, dict) else {}
    config._own_skips = frozenset(k for k, v in own_items.items() if isinstance(v, dict) and "skip" in v)
    _check_choices(config, shipped_ids)
    _check_overrides(config)
    return config


ORG_DEFAULT = f"organization default {CONFIG_FILE}"
GOVERNING = ("mandatory", "approvers")


class Governance(_Model):
    """What the organisation decides about one item, whatever the repository's file says."""

    mandatory: bool = False
    approvers: tuple[str, ...] = ()


def governance_of(data: Mapping[str, Any], *, filename: str) -> dict[str, Governance]:
    """`items.<key>.mandatory` / `.approvers` of a config mapping, checked."""
    items = data.get("items")
    out: dict[str, Governance] = {}
    for key, value in items.items() if isinstance(items, Mapping) else ():
        if not isinstance(value, Mapping) or not any(k in value for k in GOVERNING):
            continue
        mandatory = value.get("mandatory", False)
        if not isinstance(mandatory, bool):
            raise ConfigError(filename, "expected true or false", path=f"items.{key}.mandatory")
        approvers = value.get("approvers") or ()
        approvers = [approvers] if isinstance(approvers, str) else approvers
        if not isinstance(approvers, list | tuple) or not all(
            isinstance(a, str) and is_owner(a.strip()) for a in approvers
        ):
            expected = 'expected approvers such as "@org/sre" or a list of users'
            raise ConfigError(filename, expected, path=f"items.{key}.approvers")
        out[str(key)] = Governance(mandatory=mandatory, approvers=tuple(a.strip() for a in approvers))
    return out


def _check_not_governing(doc: yamlload.Node, own: Mapping[str, Any], filename: str) -> None:
    """Under an organisation default, only the organisation marks items mandatory or names approvers."""
    items = own.get("items")
    for key, value in items.items() if isinstance(items, Mapping) else ():
        for name in GOVERNING:
            if isinstance(value, Mapping) and name in value:
                raise doc.error(
                    ("items", key, name),
                    f"`{name}` is set by the organisation default, not in a repository's {CONFIG_FILE}",
                    value=False,
                    error=ConfigError,
                )


def config_data(text: str | bytes, *, filename: str = CONFIG_FILE) -> dict[str, Any]:
    """The raw mapping of a config file (for the organisation default passed as `base`)."""
    data = yamlload.load_yaml(text, filename=filename, error=ConfigError).value
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(filename, "expected a mapping of settings (e.g. `checklists: [...]`)")
    return data


def merge_config_data(org: Mapping[str, Any], repo: Mapping[str, Any]) -> dict[str, Any]:
    """`extends: organization`: the repository wins; mappings merge, lists and scalars replace.

    An empty value in the repository (`issues:` with nothing under it) keeps the organisation's.
    """
    merged = dict(org)
    for key, value in repo.items():
        if value is None and key in merged:
            continue
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config_data(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_choices(config: RepoConfig, shipped_ids: Collection[str]) -> None:
    seen: dict[str, int] = {}
    for i, choice in enumerate(config.checklists):
        if choice.id is not None:
            if choice.id not in shipped_ids:
                raise config.error(
                    _id_path(config, i),
                    f"unknown checklist '{choice.id}'; shipped checklists: {', '.join(sorted(shipped_ids))}",
                    suggest_id(choice.id, shipped_ids),
                )
            key = choice.id
        else:
            key = f"path:{choice.path}"
        if key in seen:
            raise config.error(
                ("checklists", i),
                f"'{choice.id or choice.path}' is listed twice (first at checklists[{seen[key]}])",
            )
        seen[key] = i


def _id_path(config: RepoConfig, index: int) -> tuple[str | int, ...]:
    """`checklists[1].id` when written as a mapping, `checklists[1]` when written as a bare id."""
    path: tuple[str | int, ...] = ("checklists", index, "id")
    if config.written(path):
        return path
    return path[:2]


_ITEM_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)?$")


def parse_extra_rule(config: RepoConfig, key: str, data: Any) -> Rule:
    """An `items.<key>.evidence` rule, with errors pointing into the config file."""
    return parse_rule(
        data,
        where=config.positions or (lambda _path: (None, None)),
        filename=config.filename,
        path=("items", key, "evidence"),
        error=ConfigError,
    )


def _check_overrides(config: RepoConfig) -> None:
    for key, names in config.owners.items():
        if not _ITEM_KEY.match(key):
            raise config.error(
                ("owners", key),
                "expected a section id or item key like 'observability' or 'backend-build/runbooks', "
                f"got '{key}'",
                key=True,
            )
        if not names:
            raise config.error(("owners", key), OWNER_EXPECTED)
    for key, override in config.items.items():
        if not _ITEM_KEY.match(key):
            raise config.error(
                ("items", key),
                f"expected an item key like 'backend-build/load-testing' or 'load-testing', got '{key}'",
                key=True,
            )
        if override.evidence is not None:
            parse_extra_rule(config, key, override.evidence)


# ------------------------------------------------------------------------------------------- errors


def _keys_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping at `loc` (for "unknown key" errors)."""
    models: dict[str, type[BaseModel]] = {
        "checklists": ChecklistChoice,
        "items": ItemOverride,
        "issues": IssueSettings,
        "summary": SummarySchedule,
    }
    model = models.get(str(loc[0]), RepoConfig) if loc else RepoConfig
    return list(model.model_fields)


# ------------------------------------------------------------------------------------------- schema


def config_json_schema(
    *, shipped_ids: Collection[str] = (), timezones: Collection[str] = ()
) -> dict[str, Any]:
    """JSON Schema (2020-12) for `.readiness.yml`; the shipped ids and time zones become enums."""
    return settings_schema.refine(
        RepoConfig.model_json_schema(),
        shipped_ids=shipped_ids,
        item_key=_ITEM_KEY.pattern,
        time=_TIME.pattern,
        timezones=timezones,
    )

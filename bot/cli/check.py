"""`readiness check`, `validate`, `templates` and `schema`: the offline commands (no network, no database).

User mistakes (bad YAML, unknown checklist, missing file) print one line on stderr and exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zoneinfo
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot.cli import app
from bot.core import pathscan, resolve, rules, settings, templates, yamlload
from bot.core.applicability import repository_facts
from bot.core.errors import InputError
from bot.core.pathindex import PathIndex
from bot.core.resolve import vendored, without_own_inputs
from bot.core.scopes import Scopes
from bot.core.snapshot import CIResult, RepoSnapshot
from bot.core.templates import not_applicable
from bot.local import GlobDatabaseFiles, LocalCheckout, load_ci_results, read_capped, scan_local
from bot.report import (
    RENDERERS,
    ChecklistResult,
    Report,
    SectionResult,
    item_results,
    render_text,
    sarif_error_data,
    terminal_safe,
)
from bot.resources import load_shipped

EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {terminal_safe(message)}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _read_input(path: Path) -> bytes:
    """At most one byte more than the size limit (`/dev/zero` or a 2 GiB file is never read whole):
    the loaders then report the file as too big, with its name."""
    try:
        with path.open("rb") as fh:
            return fh.read(yamlload.READ_CAP)
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return _read_input(path)
    except InputError as exc:
        _fail(str(exc))


def _shipped() -> dict[str, templates.Template]:
    return load_shipped()


def evaluate(
    resolved: list[resolve.ResolvedChecklist],
    snapshot: RepoSnapshot,
    scopes: Scopes | None = None,
    profile: str | None = None,
    topics: Sequence[str] | None = None,
) -> list[ChecklistResult]:
    """Compile each checklist once, evaluate them on one path index, and apply the configured
    skips and the templates' `applies_when` (topics only from `--topic`: a local checkout has
    none, and unknown topics rule nothing out)."""
    compiled = [rules.compile_checklist(r.template, extra=r.extra_rules) for r in resolved]
    index = PathIndex.build(snapshot.paths)
    all_verdicts = rules.evaluate_many(compiled, snapshot, scopes=scopes, index=index)
    facts = repository_facts(index, profile=profile, topics=topics)
    results = []
    for chosen, verdicts in zip(resolved, all_verdicts, strict=True):
        plain = {item_id: (v.passed, "; ".join(v.evidence) or None) for item_id, v in verdicts.items()}
        ruled_out = not_applicable(chosen.template, facts)
        sections = []
        for section in chosen.template.sections:
            items = [(i.id, i.title, i.id not in verdicts, i.why) for i in section.items]
            results_ = item_results(items, plain, chosen.skips, ruled_out)
            sections.append(SectionResult(section.id, section.title, tuple(results_)))
        results.append(
            ChecklistResult(chosen.template.id, chosen.template.title, tuple(sections), chosen.source)
        )
    return results


@app.command()
def check(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="Checkout to evaluate: its tracked files if it is a git work tree."
        ),
    ] = Path("."),
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file to use instead of PATH/.readiness.yml.", dir_okay=False
        ),
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    fail_under: Annotated[
        float | None,
        typer.Option(
            "--fail-under",
            min=0,
            max=100,
            metavar="PERCENT",
            help="Exit 1 when overall readiness is below PERCENT.",
        ),
    ] = None,
    checklist: Annotated[
        list[str] | None,
        typer.Option("--checklist", metavar="ID", help="Only evaluate this checklist (repeatable)."),
    ] = None,
    ci_results: Annotated[
        Path | None,
        typer.Option(
            "--ci-results",
            metavar="FILE",
            dir_okay=False,
            help='JSON list of CI results for `ci` rules: [{"name": "test", "conclusion": "success"}].',
        ),
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            metavar="TOPIC",
            help="A topic of the repository, for `applies_when: {topics: [...]}` (repeatable; "
            "none given: topics are unknown and rule nothing out).",
        ),
    ] = None,
) -> None:
    """Evaluate a local checkout against its checklists and print a readiness report.

    Uses PATH/.readiness.yml (or --config FILE), or the default checklists when there is none.
    Exit codes: 0 ok, 1 below --fail-under, 2 usage or configuration error. No network access.
    """
    if pathscan.store is None:
        pathscan.store = GlobDatabaseFiles.default()
    try:
        report = build_report(
            path, config_file=config, only=checklist or [], ci_file=ci_results, topics=topic
        )
    except (InputError, NotADirectoryError) as exc:
        if output_format is Format.sarif:  # an upload step still gets a valid file, showing the error
            where = exc if isinstance(exc, InputError) else InputError(str(path), str(exc))
            data = sarif_error_data(str(exc), file=where.file, line=where.line, column=where.column)
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        _fail(str(exc))
    if output_format is Format.text:
        color = sys.stdout.isatty()
        width = min(shutil.get_terminal_size((100, 24)).columns, 120) if color else 100
        typer.echo(render_text(report, color=color, width=width), nl=False, color=color)
    else:
        typer.echo(RENDERERS[output_format.value](report), nl=False)
    percent = report.tally.percent
    if fail_under is not None and percent < fail_under:
        typer.echo(f"readiness {percent:.1f}% is below --fail-under {fail_under:g}%", err=True)
        raise typer.Exit(EXIT_BELOW_THRESHOLD)


def build_report(
    path: Path,
    *,
    config_file: Path | None,
    only: list[str],
    ci_file: Path | None,
    topics: Sequence[str] | None = None,
) -> Report:
    ci: list[CIResult] = []
    if ci_file is not None:
        raw = _read_input(ci_file)
        ci = load_ci_results(raw.decode("utf-8", "replace"), filename=str(ci_file))
    checkout = scan_local(path, ci=ci)
    shipped = _shipped()
    notes: list[str] = []
    config, config_label = _load_config(checkout, config_file, shipped, notes)
    if only:
        config = _restrict(config, only, shipped)
    resolved = resolve.resolve_checklists(config, shipped=shipped, read=checkout.snapshot.read)
    if only:
        have = [r.template.id for r in resolved]
        for wanted in only:
            if wanted not in have:
                suggestion = settings.suggest_id(wanted, [*have, *shipped])
                hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
                raise InputError("--checklist", f"unknown checklist '{wanted}'{hint}")
        resolved = [r for r in resolved if r.template.id in only]
    notes.append(f"looked at {checkout.description}")
    if checkout.mode == "git":
        tracked = set(checkout.snapshot.paths)
        for choice in config.chosen:
            if choice.path and choice.path not in tracked:
                notes.append(
                    f"{choice.path} is not tracked by git: the bot will not see it until it is committed"
                )
    own_removed = without_own_inputs(config, checkout.snapshot)
    snapshot = resolve.apply_ignore(config, own_removed)
    removed = set(own_removed.paths).difference(snapshot.paths)
    third_party = len(vendored(sorted(removed))) if config.ignore_vendored and removed else 0
    if third_party:
        notes.append(
            f"{third_party} of them in vendored dependency directories (node_modules/, vendor/, …) "
            "not looked at (`ignore_vendored: false` includes them)"
        )
    if hidden := len(own_removed.paths) - len(snapshot.paths) - third_party:
        notes.append(f"{hidden} of them not looked at, as `ignore:` asks")
    if ci_file is None:
        notes.append("no CI results locally: `ci` rules cannot pass (pass --ci-results FILE to supply them)")
    return Report(
        checklists=tuple(
            evaluate(resolved, snapshot, Scopes.from_config(config.scopes), config.profile, topics)
        ),
        notes=tuple(notes),
        target=str(path),
        commit=checkout.snapshot.commit,
        files=len(checkout.snapshot.paths),
        config_file=config_label,
    )


def _load_config(
    checkout: LocalCheckout,
    config_file: Path | None,
    shipped: dict[str, templates.Template],
    notes: list[str],
) -> tuple[settings.RepoConfig, str | None]:
    candidate = config_file or checkout.root / settings.CONFIG_FILE
    if config_file is None and not candidate.is_file():
        notes.append(
            f"no {settings.CONFIG_FILE} in {checkout.root.name or checkout.root}: using the default "
            f"checklist(s) {', '.join(settings.DEFAULT_CHECKLISTS)}"
        )
        return settings.RepoConfig(), None
    label = str(config_file) if config_file else settings.CONFIG_FILE
    if config_file is not None:
        resolved = Path(os.path.realpath(config_file))
        if resolved.is_relative_to(checkout.root):
            label = resolved.relative_to(checkout.root).as_posix()
    config = settings.parse_config(_read_input(candidate), filename=label, shipped_ids=shipped)
    if config.extends == "organization":
        notes.append(
            "`extends: organization` is ignored locally: the bot merges your organisation's default "
            "config underneath; set `extends: false` to silence this note"
        )
    return config, label


def _restrict(
    config: settings.RepoConfig, only: list[str], shipped: dict[str, templates.Template]
) -> settings.RepoConfig:
    """--checklist: evaluate these ids; configured entries keep their exclusions and paths."""
    chosen = list(config.checklists)
    known = {c.id for c in chosen if c.id}
    if not config.checklists:
        chosen = []
    chosen += [settings.ChecklistChoice(id=i) for i in only if i not in known and i in shipped]
    if not chosen:
        return config
    return config.model_copy(update={"checklists": tuple(chosen)})


@app.command()
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="Config or template file to validate (default: ./.readiness.yml, or the defaults).",
        ),
    ] = None,
    template: Annotated[
        bool, typer.Option("--template", help="FILE is a checklist template (detected by a `sections:` key).")
    ] = False,
) -> None:
    """Validate a .readiness.yml (and the custom templates it names) or a checklist template.

    Prints OK, or the first problem with its file, line, column and key path (exit 2).
    Custom template paths in a config are read relative to the config file's directory.
    Without FILE and without ./.readiness.yml, the defaults (what the bot uses then) are validated.
    """
    if file is None:
        file = Path(settings.CONFIG_FILE)
        if not file.exists():
            _validate_defaults()
            return
    raw = _read_bytes(file)
    try:
        if template or _looks_like_template(raw, str(file)):
            parsed = templates.parse_template(raw, filename=str(file))
            rules.compile_checklist(parsed)
            typer.echo(f"OK: {file} is a valid template '{parsed.id}' ({_count_items([parsed])} items)")
            return
        shipped = _shipped()
        config = settings.parse_config(raw, filename=str(file), shipped_ids=shipped)
        root = Path(os.path.realpath(file)).parent
        resolved = resolve.resolve_checklists(config, shipped=shipped, read=lambda p: _read_under(root, p))
        for chosen in resolved:
            rules.compile_checklist(chosen.template, extra=dict(chosen.extra_rules))
    except InputError as exc:
        _fail(str(exc))
    ids = ", ".join(r.template.id for r in resolved)
    count = _count_items([r.template for r in resolved])
    typer.echo(f"OK: {file} ({len(resolved)} checklist(s): {ids}; {count} items)")


def _validate_defaults() -> None:
    """No config file: check that the default checklists exist and compile (a broken install fails here)."""
    shipped = _shipped()
    try:
        config = settings.parse_config(b"", filename=settings.CONFIG_FILE, shipped_ids=shipped)
        resolved = resolve.resolve_checklists(config, shipped=shipped, read=lambda _p: None)
        for chosen in resolved:
            rules.compile_checklist(chosen.template, extra=dict(chosen.extra_rules))
    except InputError as exc:
        _fail(str(exc))
    ids = ", ".join(r.template.id for r in resolved)
    typer.echo(
        f"OK: no {settings.CONFIG_FILE} here; the defaults are valid ({len(resolved)} checklist(s): "
        f"{ids}; {_count_items([r.template for r in resolved])} items)"
    )


def _looks_like_template(raw: bytes, filename: str) -> bool:
    try:
        data = yamlload.load_yaml(raw, filename=filename).value
    except InputError:
        return False  # let the config parser report it
    return isinstance(data, dict) and "sections" in data


def _read_under(root: Path, rel: str) -> bytes | None:
    return read_capped(root, rel)


def _count_items(chosen: list[templates.Template]) -> int:
    return sum(len(s.items) for t in chosen for s in t.sections)


templates_app = typer.Typer(
    help="Without a command: list the shipped checklist templates. `show ID`: print one.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(templates_app, name="templates")


@templates_app.callback()
def templates_list(ctx: typer.Context) -> None:
    """List the shipped checklist templates: id, title, sections, items and automatic items."""
    if ctx.invoked_subcommand is not None:
        return
    shipped = _shipped()
    width = max((len(i) for i in shipped), default=2)
    typer.echo(f"{'ID':<{width}}  {'SECTIONS':>8}  {'ITEMS':>5}  {'AUTO':>4}  TITLE")
    for template_id, t in sorted(shipped.items()):
        items = [i for s in t.sections for i in s.items]
        auto = sum(not i.manual for i in items)
        typer.echo(f"{template_id:<{width}}  {len(t.sections):>8}  {len(items):>5}  {auto:>4}  {t.title}")


@templates_app.command("show")
def templates_show(
    template_id: Annotated[str, typer.Argument(metavar="ID", help="A shipped template id.")],
) -> None:
    """Print a shipped template's sections and items (`auto` items carry evidence rules)."""
    shipped = _shipped()
    if template_id not in shipped:
        suggestion = settings.suggest_id(template_id, list(shipped))
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        _fail(f"unknown template '{template_id}'{hint}; shipped: {', '.join(sorted(shipped))}")
    t = shipped[template_id]
    typer.echo(f"{t.title} [{t.id}]")
    if t.description:
        typer.echo(t.description)
    for section in t.sections:
        typer.echo(f"\n{section.title} [{section.id}]")
        for item in section.items:
            kind = "manual" if item.manual else "auto  "
            typer.echo(f"  {kind} {item.id}: {item.title}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of .readiness.yml (point your editor's YAML plugin at it)."""
    zones = zoneinfo.available_timezones()
    schema_ = settings.config_json_schema(shipped_ids=sorted(_shipped()), timezones=zones)
    typer.echo(json.dumps(schema_, indent=2))

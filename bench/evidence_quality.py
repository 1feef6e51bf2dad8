"""Evidence quality: how often the shipped templates tick what a careful reader would tick.

Run: `.venv/bin/python bench/evidence_quality.py [--repos owner/name ...] [--cache DIR] [--json]`

The labelled set lives in `bench/evidence/`: `concepts.yaml` names about thirty readiness concepts
and the template items (`<checklist>/<item>`) that should tick for each; `labels/*.yaml` holds, per
public repository and commit, a hand-written true/false per concept (written before the bot ran on
it). This script checks each labelled commit out of a local bare mirror into a cache (nothing
networked: a missing mirror is reported with the command that brings it), runs `readiness check
PATH --format json` with every shipped checklist (the same code path a user runs), and scores:

- a concept is *predicted* true when any of its items ticks (what a reader of the checklist sees);
- strict labels and borderline labels are scored apart;
- precision, recall and F1 overall, per concept and per ecosystem, also per item (each item judged
  against its concept's label), then every false tick (with the evidence the bot cited) and every
  miss (with the evidence the label names).

Mirrors are looked up as `MIRRORS/<owner>+<name>/repo` (default `/work/.mirror`, `--mirrors`) or
`MIRRORS/<owner>+<name>.git`; checkouts go to `~/.cache/readiness-evidence/` (`--cache`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
EVIDENCE_DIR = HERE / "evidence"
DEFAULT_MIRRORS = Path("/work/.mirror")
DEFAULT_CACHE = Path.home() / ".cache" / "readiness-evidence"


# ---------------------------------------------------------------- scoring (pure, unit-tested)


@dataclass
class Counts:
    """Confusion counts of one slice; precision/recall/F1 are None when undefined (0/0)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, label: bool, predicted: bool) -> None:
        if label and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class Outcome:
    """One (repository, concept) judgement: the label, the prediction and why."""

    repo: str
    ecosystem: str
    concept: str
    label: bool
    predicted: bool
    borderline: bool
    ticked: dict[str, str]  # item key -> evidence the bot cited
    label_evidence: list[str] = field(default_factory=list)
    note: str | None = None


def item_statuses(report: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    """`<checklist>/<item>` -> (status, evidence) from a readiness-report/v1 JSON document."""
    out: dict[str, tuple[str, str | None]] = {}
    for checklist in report.get("checklists", []):
        for section in checklist.get("sections", []):
            for item in section.get("items", []):
                out[f"{checklist['id']}/{item['id']}"] = (item.get("status", "open"), item.get("evidence"))
    return out


def judge(
    repo: str,
    ecosystem: str,
    concepts: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, Mapping[str, Any]],
    statuses: Mapping[str, tuple[str, str | None]],
) -> list[Outcome]:
    """Judge every labelled concept of one repository: predicted when any mapped item is ticked."""
    outcomes = []
    for concept, spec in concepts.items():
        if concept not in labels:
            continue
        lab = labels[concept]
        ticked = {
            key: statuses[key][1] or ""
            for key in spec.get("items", [])
            if key in statuses and statuses[key][0] == "auto"
        }
        outcomes.append(
            Outcome(
                repo=repo,
                ecosystem=ecosystem,
                concept=concept,
                label=bool(lab["value"]),
                predicted=bool(ticked),
                borderline=bool(lab.get("borderline", False)),
                ticked=ticked,
                label_evidence=list(lab.get("evidence", [])),
                note=lab.get("note"),
            )
        )
    return outcomes


def item_counts(
    outcomes: Iterable[Outcome],
    concepts: Mapping[str, Mapping[str, Any]],
    statuses_by_repo: Mapping[str, Mapping[str, tuple[str, str | None]]],
) -> dict[str, Counts]:
    """Per item key, strict labels only: each item is judged against its concept's label."""
    counts: dict[str, Counts] = defaultdict(Counts)
    for o in outcomes:
        if o.borderline:
            continue
        statuses = statuses_by_repo.get(o.repo, {})
        for key in concepts[o.concept].get("items", []):
            if key in statuses and statuses[key][0] != "skipped":
                counts[key].add(o.label, statuses[key][0] == "auto")
    return dict(counts)


def total(counts: Iterable[Counts]) -> Counts:
    """The sum of several slices (e.g. every item's counts: the item-level overall figure)."""
    out = Counts()
    for c in counts:
        out.tp, out.fp, out.fn, out.tn = out.tp + c.tp, out.fp + c.fp, out.fn + c.fn, out.tn + c.tn
    return out


def tally(outcomes: Iterable[Outcome], *, borderline: bool) -> dict[str, Any]:
    """Overall, per-concept and per-ecosystem counts over the strict (or the borderline) labels."""
    overall = Counts()
    per_concept: dict[str, Counts] = defaultdict(Counts)
    per_ecosystem: dict[str, Counts] = defaultdict(Counts)
    for o in outcomes:
        if o.borderline != borderline:
            continue
        overall.add(o.label, o.predicted)
        per_concept[o.concept].add(o.label, o.predicted)
        per_ecosystem[o.ecosystem].add(o.label, o.predicted)
    return {"overall": overall, "concepts": dict(per_concept), "ecosystems": dict(per_ecosystem)}


# ---------------------------------------------------------------- loading and checking out


# The rules were tuned on `labels/`; `holdout/` was labelled and committed before the bot ever ran on
# it and must never be used to tune rules, so its figures stay an honest estimate of unseen repositories.
LABEL_SETS = {"tuned": "labels", "holdout": "holdout", "holdout2": "holdout2", "holdout3": "holdout3"}


def load_concepts(path: Path) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"error: {path}: expected a mapping of concept -> {{description, items}}")
    return data


def load_labels(directory: Path, only: set[str] | None) -> list[dict[str, Any]]:
    out = []
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("repo", "commit", "ecosystem", "kind", "labels"):
            if key not in doc:
                raise SystemExit(f"error: {path}: missing '{key}'")
        if only is None or doc["repo"] in only:
            out.append(doc)
    return out


def find_mirror(mirrors: Path, repo: str) -> Path | None:
    owner, name = repo.split("/", 1)
    for candidate in (
        mirrors / f"{owner}+{name}" / "repo",
        mirrors / f"{owner}+{name}.git",
        mirrors / f"{owner}__{name}.git",
    ):
        if (candidate / "HEAD").exists() or (candidate / "objects").is_dir():
            return candidate
    return None


def checkout(mirror: Path, repo: str, commit: str, cache: Path) -> Path:
    """A git work tree of `commit` in the cache (a shared clone: the mirror is only read)."""
    target = cache / f"{repo.replace('/', '__')}-{commit[:12]}"
    if (target / ".git").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(target)], check=True, env=env
    )
    subprocess.run(["git", "-C", str(target), "checkout", "-q", "--detach", commit], check=True, env=env)
    return target


def readiness_command() -> list[str]:
    exe = Path(sys.executable).with_name("readiness")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("readiness")
    if found:
        return [found]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def shipped_ids() -> list[str]:
    from bot.resources import load_shipped

    return sorted(load_shipped())


def run_check(path: Path, config: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [*readiness_command(), "check", str(path), "--format", "json", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"readiness check {path} exited {proc.returncode}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


# ---------------------------------------------------------------- reporting


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _row(name: str, c: Counts) -> str:
    return (
        f"  {name:<46} P {_fmt(c.precision)}  R {_fmt(c.recall)}  F1 {_fmt(c.f1)}"
        f"   tp {c.tp:>3} fp {c.fp:>3} fn {c.fn:>3} tn {c.tn:>3}"
    )


def print_report(result: dict[str, Any], outcomes: list[Outcome], items: dict[str, Counts]) -> None:
    strict, border = result["strict"], result["borderline"]
    print(f"Set: {result['set']}; repositories: {', '.join(result['repos'])}")
    print("\nStrict labels")
    print(_row("overall", strict["overall"]))
    print(_row("overall, per item", total(items.values())))
    print("\nBorderline labels (scored apart)")
    print(_row("overall", border["overall"]))
    print("\nPer ecosystem (strict)")
    for name, c in sorted(strict["ecosystems"].items()):
        print(_row(name, c))
    print("\nPer concept (strict)")
    for name, c in sorted(strict["concepts"].items()):
        print(_row(name, c))
    print("\nPer item (strict; each item judged against its concept's label)")
    for name, c in sorted(items.items()):
        print(_row(name, c))
    print("\nFalse ticks")
    for o in outcomes:
        if o.predicted and not o.label:
            tag = " [borderline]" if o.borderline else ""
            print(f"  {o.repo}  {o.concept}{tag}" + (f"  (label: {o.note})" if o.note else ""))
            for key, ev in o.ticked.items():
                print(f"      {key}: {ev}")
    print("\nMisses")
    for o in outcomes:
        if o.label and not o.predicted:
            tag = " [borderline]" if o.borderline else ""
            where = ", ".join(o.label_evidence) or "-"
            print(
                f"  {o.repo}  {o.concept}{tag}  label evidence: {where}" + (f"  ({o.note})" if o.note else "")
            )


def to_json(result: dict[str, Any], outcomes: list[Outcome], items: dict[str, Counts]) -> dict[str, Any]:
    def slices(t: dict[str, Any]) -> dict[str, Any]:
        return {
            "overall": t["overall"].as_dict(),
            "concepts": {k: v.as_dict() for k, v in sorted(t["concepts"].items())},
            "ecosystems": {k: v.as_dict() for k, v in sorted(t["ecosystems"].items())},
        }

    return {
        "set": result["set"],
        "repos": result["repos"],
        "missing": result["missing"],
        "strict": slices(result["strict"]),
        "borderline": slices(result["borderline"]),
        "items_overall": total(items.values()).as_dict(),
        "items": {k: v.as_dict() for k, v in sorted(items.items())},
        "false_ticks": [o.__dict__ for o in outcomes if o.predicted and not o.label],
        "misses": [o.__dict__ for o in outcomes if o.label and not o.predicted],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", nargs="*", help="only these owner/name repositories")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where checkouts are kept")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="where the bare mirrors are")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--set",
        choices=[*sorted(LABEL_SETS), "all"],
        default="tuned",
        help="which labelled set: tuned (rules tuned on it), holdout, holdout2 and holdout3 (held out), all",
    )
    args = parser.parse_args(argv)

    concepts = load_concepts(EVIDENCE_DIR / "concepts.yaml")
    only = set(args.repos) if args.repos else None
    names = sorted(LABEL_SETS) if args.set == "all" else [args.set]
    docs = [doc for name in names for doc in load_labels(EVIDENCE_DIR / LABEL_SETS[name], only)]
    if not docs:
        print("error: no labelled repositories match", file=sys.stderr)
        return 2
    missing = [d["repo"] for d in docs if find_mirror(args.mirrors, d["repo"]) is None]
    if missing:
        print(f"missing mirrors under {args.mirrors} (nothing is fetched by this script):", file=sys.stderr)
        for repo in missing:
            owner, name = repo.split("/", 1)
            print(
                f"  {repo}: git clone --bare https://github.com/{repo} {args.mirrors}/{owner}+{name}/repo",
                file=sys.stderr,
            )
        docs = [d for d in docs if d["repo"] not in missing]
        if not docs:
            return 2

    outcomes: list[Outcome] = []
    statuses_by_repo: dict[str, dict[str, tuple[str, str | None]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "readiness.yml"
        config.write_text(yaml.safe_dump({"extends": False, "checklists": shipped_ids()}), encoding="utf-8")
        for doc in docs:
            mirror = find_mirror(args.mirrors, doc["repo"])
            assert mirror is not None
            path = checkout(mirror, doc["repo"], doc["commit"], args.cache)
            statuses = item_statuses(run_check(path, config))
            statuses_by_repo[doc["repo"]] = statuses
            outcomes += judge(doc["repo"], doc["ecosystem"], concepts, doc["labels"], statuses)

    result = {
        "set": args.set,
        "repos": [d["repo"] for d in docs],
        "missing": missing,
        "strict": tally(outcomes, borderline=False),
        "borderline": tally(outcomes, borderline=True),
    }
    items = item_counts(outcomes, concepts, statuses_by_repo)
    if args.json:
        print(json.dumps(to_json(result, outcomes, items), indent=2))
    else:
        print_report(result, outcomes, items)
    return 0


if __name__ == "__main__":
    sys.exit(main())

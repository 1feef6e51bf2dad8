"""The evidence-quality benchmark's scoring: the figures it reports must be the textbook ones."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("evidence_quality", ROOT / "bench" / "evidence_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["evidence_quality"] = module
    spec.loader.exec_module(module)
    return module


eq = _load()

CONCEPTS = {
    "health": {"items": ["pr/health", "bb/health"]},
    "cors": {"items": ["bp/cors"]},
    "jobs": {"items": ["pr/queue"]},
}


def test_precision_recall_f1_are_the_textbook_ones() -> None:
    c = eq.Counts()
    for label, predicted in [
        (True, True),
        (True, True),
        (True, True),
        (False, True),
        (True, False),
        (False, False),
    ]:
        c.add(label, predicted)
    assert (c.tp, c.fp, c.fn, c.tn) == (3, 1, 1, 1)
    assert c.precision == pytest.approx(0.75)
    assert c.recall == pytest.approx(0.75)
    assert c.f1 == pytest.approx(0.75)


def test_undefined_ratios_are_none_not_zero_or_a_crash() -> None:
    c = eq.Counts()
    c.add(False, False)
    assert c.precision is None and c.recall is None and c.f1 is None
    c.add(True, False)
    assert c.recall == 0.0 and c.f1 is None


def test_a_concept_is_predicted_when_any_of_its_items_ticks_and_cites_the_evidence() -> None:
    statuses = {
        "pr/health": ("open", None),
        "bb/health": ("auto", "`app.py:3` matches `/healthz`"),
        "bp/cors": ("open", None),
        "pr/queue": ("skipped", None),
    }
    labels = {
        "health": {"value": True},
        "cors": {"value": True, "evidence": ["main.ts"]},
        "jobs": {"value": False},
    }
    out = {o.concept: o for o in eq.judge("o/r", "python", CONCEPTS, labels, statuses)}
    assert out["health"].predicted and out["health"].ticked == {"bb/health": "`app.py:3` matches `/healthz`"}
    assert not out["cors"].predicted and out["cors"].label_evidence == ["main.ts"]
    assert not out["jobs"].predicted  # a skipped item is not a tick


def test_borderline_labels_are_scored_apart_and_tallied_per_concept_and_ecosystem() -> None:
    statuses = {
        "pr/health": ("auto", "x"),
        "bb/health": ("open", None),
        "bp/cors": ("auto", "y"),
        "pr/queue": ("open", None),
    }
    labels = {
        "health": {"value": True},
        "cors": {"value": False, "borderline": True},
        "jobs": {"value": True},
    }
    outcomes = eq.judge("o/r", "go", CONCEPTS, labels, statuses)
    strict = eq.tally(outcomes, borderline=False)
    border = eq.tally(outcomes, borderline=True)
    assert (strict["overall"].tp, strict["overall"].fp, strict["overall"].fn) == (1, 0, 1)
    assert strict["concepts"]["jobs"].recall == 0.0
    assert strict["ecosystems"]["go"].precision == 1.0
    assert (border["overall"].fp, border["overall"].tp) == (1, 0)
    items = eq.item_counts(outcomes, CONCEPTS, {"o/r": statuses})
    assert items["pr/health"].tp == 1 and items["bb/health"].fn == 1
    assert "bp/cors" not in items  # borderline labels stay out of the per-item figures


def test_report_items_are_keyed_checklist_slash_item() -> None:
    report = {
        "checklists": [
            {
                "id": "production-readiness",
                "sections": [
                    {"items": [{"id": "health-check-endpoints", "status": "auto", "evidence": "e"}]}
                ],
            }
        ]
    }
    assert eq.item_statuses(report) == {"production-readiness/health-check-endpoints": ("auto", "e")}


def test_the_labelled_set_names_only_known_concepts_and_shipped_items() -> None:
    from bot.resources import load_shipped

    shipped = load_shipped()
    keys = {f"{tid}/{item.id}" for tid, t in shipped.items() for s in t.sections for item in s.items}
    concepts = eq.load_concepts(ROOT / "bench" / "evidence" / "concepts.yaml")
    for name, spec in concepts.items():
        assert spec["description"], name
        assert set(spec["items"]) <= keys, name
    tuned = eq.load_labels(ROOT / "bench" / "evidence" / "labels", None)
    holdout = eq.load_labels(ROOT / "bench" / "evidence" / "holdout", None)
    holdout2 = eq.load_labels(ROOT / "bench" / "evidence" / "holdout2", None)
    holdout3 = eq.load_labels(ROOT / "bench" / "evidence" / "holdout3", None)
    assert len(tuned) >= 15 and len(holdout) >= 5 and len(holdout2) >= 5 and len(holdout3) >= 5
    # a held-out repository that is also in another set would no longer be held out
    sets = [{d["repo"] for d in docs} for docs in (tuned, holdout, holdout2, holdout3)]
    assert sum(map(len, sets)) == len(set().union(*sets))
    for doc in tuned + holdout + holdout2 + holdout3:
        assert doc["kind"] in ("service", "library")
        assert len(doc["commit"]) == 40
        assert set(doc["labels"]) <= set(concepts), doc["repo"]
        assert all(isinstance(v["value"], bool) for v in doc["labels"].values())
    assert yaml.safe_load((ROOT / "bench" / "evidence" / "concepts.yaml").read_text())


def test_the_item_level_overall_is_the_sum_of_the_items() -> None:
    a, b = eq.Counts(tp=2, fp=1), eq.Counts(fn=3, tn=4)
    t = eq.total([a, b])
    assert (t.tp, t.fp, t.fn, t.tn) == (2, 1, 3, 4)
    assert t.precision == pytest.approx(2 / 3) and t.recall == pytest.approx(0.4)

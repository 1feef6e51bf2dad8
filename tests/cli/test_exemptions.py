"""`readiness exemptions`: the auditor's list of current skips."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from typer.testing import CliRunner

import bot.cli.exemptions  # noqa: F401  (registers the command)
from bot.cli import app
from bot.core.state import ItemState, Status
from bot.store import tracking
from bot.store.db import session_scope
from bot.store.models import Repository

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
runner = CliRunner()


def seed(engine: Engine) -> None:
    with session_scope(engine) as s:
        repos = {}
        for platform, name, active in [
            ("github", "acme/api", True),
            ("github", "acme/web", True),
            ("gitlab", "other/tools", True),
            ("github", "acme/gone", False),
        ]:
            r = Repository(platform=platform, full_name=name, active=active)
            s.add(r)
            s.flush()
            repos[name] = r.id
        states = {
            "acme/api": [
                ItemState(
                    "backend-build",
                    "load-testing",
                    Status.SKIPPED,
                    actor="maria",
                    reason="batch job, no traffic",
                    until=date(2027, 3, 1),
                ),
                ItemState("backend-build", "runbooks", Status.DONE, actor="maria"),
                ItemState(
                    "backend-build",
                    "sbom",
                    Status.PENDING,
                    actor="maria",
                    reason="internal tool",
                    approvers=("@acme/sre", "@lead"),
                ),
                ItemState(
                    "backend-build",
                    "tracing",
                    Status.SKIPPED,
                    actor="maria",
                    reason="no requests to trace",
                    approved_by="lead",
                    approvers=("@lead",),
                ),
            ],
            "acme/web": [
                ItemState(
                    "production-readiness",
                    "oncall",
                    Status.SKIPPED,
                    actor=".readiness.yml",
                    reason="platform team pages",
                )
            ],
            "other/tools": [
                ItemState(
                    "backend-build", "sbom", Status.SKIPPED, actor="li", reason='quoted "reason", with comma'
                )
            ],
            "acme/gone": [
                ItemState("backend-build", "sbom", Status.SKIPPED, actor="x", reason="removed repository")
            ],
        }
        for name, items in states.items():
            tracking.save_states(s, repository_id=repos[name], states=items, previous={}, now=T0)


def run(db_url: str, *args: str):
    return runner.invoke(app, ["exemptions", *args], env={"READINESS_DATABASE_URL": db_url})


def test_json_lists_every_current_skip_with_reason_author_and_end(engine: Engine, db_url: str) -> None:
    seed(engine)
    result = run(db_url, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["repository"], r["item"]) for r in rows] == [
        ("acme/api", "backend-build/load-testing"),
        ("acme/api", "backend-build/sbom"),
        ("acme/api", "backend-build/tracing"),
        ("acme/web", "production-readiness/oncall"),
        ("other/tools", "backend-build/sbom"),
    ]  # done items and removed repositories are not exemptions
    assert rows[0] | {"since": None} == {
        "platform": "github",
        "repository": "acme/api",
        "item": "backend-build/load-testing",
        "reason": "batch job, no traffic",
        "skipped_by": "maria",
        "since": None,
        "until": "2027-03-01",
        "status": "skipped",
        "approved_by": None,
        "approvers": None,
    }
    assert rows[3]["skipped_by"] == ".readiness.yml" and rows[3]["until"] is None


def test_governed_skips_show_their_approver_or_that_they_are_pending(engine: Engine, db_url: str) -> None:
    seed(engine)
    rows = {r["item"]: r for r in json.loads(run(db_url, "--format", "json", "--org", "acme").stdout)}
    pending, approved = rows["backend-build/sbom"], rows["backend-build/tracing"]
    assert (pending["status"], pending["approvers"], pending["approved_by"]) == (
        "pending",
        "@acme/sre @lead",
        None,
    )
    assert (approved["status"], approved["approved_by"]) == ("skipped", "lead")
    text = run(db_url, "--org", "acme").stdout.splitlines()
    assert (
        "github:acme/api  backend-build/sbom  by maria [pending: needs @acme/sre @lead]: internal tool"
        in text
    )
    assert "github:acme/api  backend-build/tracing  by maria [approved by lead]: no requests to trace" in text


def test_csv_and_org_filter(engine: Engine, db_url: str) -> None:
    seed(engine)
    result = run(db_url, "--format", "csv", "--org", "ACME")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["repository"] for r in rows] == ["acme/api", "acme/api", "acme/api", "acme/web"]
    everything = list(csv.DictReader(io.StringIO(run(db_url, "--format", "csv").stdout)))
    assert everything[-1]["reason"] == 'quoted "reason", with comma'


def test_text_is_one_line_per_exemption(engine: Engine, db_url: str) -> None:
    seed(engine)
    result = run(db_url, "--org", "other")
    assert result.exit_code == 0
    assert result.stdout == 'gitlab:other/tools  backend-build/sbom  by li: quoted "reason", with comma\n'

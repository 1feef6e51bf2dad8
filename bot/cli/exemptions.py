"""`readiness exemptions`: every current skip with its reason, who decided and when it ends.

What an auditor asks for; it reads the database only, so it works on a bot whose platforms are
down and costs no API calls. Rows are streamed, so ten thousand repositories print in bounded memory.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from bot.cli import app
from bot.cli.deliveries import _database, _settings

FIELDS = (
    "platform",
    "repository",
    "item",
    "reason",
    "skipped_by",
    "since",
    "until",
    "status",
    "approved_by",
    "approvers",
)


class Format(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@app.command()
def exemptions(
    org: Annotated[
        str | None, typer.Option(help="Only repositories of this organisation or group (OWNER, or a/b).")
    ] = None,
    format: Annotated[Format, typer.Option("--format", help="text, json (one array) or csv.")] = Format.text,
) -> None:
    """List current exemptions (skipped items, and skips pending approval) with their reasons,
    approvers and end dates."""
    from bot.store.db import session_scope
    from bot.store.tracking import current_exemptions

    settings = _settings()
    with _database(settings) as engine, session_scope(engine) as session:
        rows = (
            {
                "platform": e.platform,
                "repository": e.repository,
                "item": e.item,
                "reason": e.reason,
                "skipped_by": e.skipped_by,
                "since": e.since.isoformat() if e.since else None,
                "until": e.until.isoformat() if e.until else None,
                "status": e.status,
                "approved_by": e.approved_by,
                "approvers": " ".join(e.approvers) or None,
            }
            for e in current_exemptions(session, org=org)
        )
        if format is Format.csv:
            writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        elif format is Format.json:
            sys.stdout.write("[")
            for n, row in enumerate(rows):
                sys.stdout.write(("," if n else "") + "\n  " + json.dumps(row, ensure_ascii=False))
            sys.stdout.write("\n]\n")
        else:
            count = 0
            for row in rows:
                count += 1
                end = f" until {row['until']}" if row["until"] else ""
                who = row["skipped_by"] or "?"
                if row["status"] == "pending":
                    gov = f" [pending: needs {row['approvers'] or 'an approver'}]"
                else:
                    gov = f" [approved by {row['approved_by']}]" if row["approved_by"] else ""
                where = f"{row['platform']}:{row['repository']}"
                typer.echo(f"{where}  {row['item']}  by {who}{end}{gov}: {row['reason']}")
            typer.echo(f"{count} exemption{'s' if count != 1 else ''}", err=True)

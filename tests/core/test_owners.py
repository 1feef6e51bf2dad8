"""Owners: CODEOWNERS parsing and matching, and who owns each item (template, config, CODEOWNERS)."""

from __future__ import annotations

import pytest

from bot.core.codeowners import find_codeowners, parse_codeowners
from bot.core.errors import ConfigError, TemplateError
from bot.core.owners import assignees, evidence_paths, item_owners
from bot.core.resolve import resolve_checklists
from bot.core.rules import parse_rule
from bot.core.settings import parse_config
from bot.core.templates import parse_template
from bot.platforms.registry import GITHUB, GITLAB

TEMPLATE = """
id: svc
title: Service basics
sections:
  - id: build
    title: Build
    items:
      - id: container
        title: Container image
        why: Reproducible deploys
        evidence: {files: [Dockerfile]}
      - id: manifests
        title: Deployment manifests
        why: Deploys are reviewed
        evidence: {contains: {files: "deploy/**/*.yaml", pattern: "kind:"}}
  - id: observability
    title: Observability
    owner: "@octo-org/sre"
    items:
      - id: dashboards
        title: Dashboards
        why: See the service
        evidence: {files: [dashboards/]}
      - id: runbooks
        title: Runbooks
        why: On-call knows what to do
        owner: ["@alice", "@bob"]
        manual: true
"""
CODEOWNERS = """\
# everything else belongs to the platform team
*                   @octo-org/platform
/deploy/            @octo-org/sre   @carol
Dockerfile          @dave
/dashboards/        # no owner: nobody owns it
"""


def resolved(config: str = "checklists: [svc]\n"):
    template = parse_template(TEMPLATE, filename="svc.yaml")
    parsed = parse_config(config, shipped_ids=["svc"])
    [checklist] = resolve_checklists(parsed, shipped={"svc": template}, read=lambda _p: None)
    return checklist


def test_the_last_matching_codeowners_rule_wins_and_an_empty_rule_unowns() -> None:
    owners = parse_codeowners(CODEOWNERS, filename="CODEOWNERS")
    assert owners.owners_of("deploy/k8s/app.yaml") == ("@octo-org/sre", "@carol")
    assert owners.owners_of("services/api/Dockerfile") == ("@dave",)
    assert owners.owners_of("src/app.py") == ("@octo-org/platform",)
    assert owners.owners_of("dashboards/") == ()
    assert [r.line for r in owners.rules] == [2, 3, 4, 5]


def test_codeowners_skips_lines_it_cannot_use_and_keeps_gitlab_section_owners() -> None:
    text = (
        "!negated @x\n"
        "docs/   user@example.com @writer\n"
        "[Backend] @octo-org/backend\n"
        "api/\n"
        "^[Optional][2] @opt\n"
        "docs/\\#notes @hash\n"
    )
    owners = parse_codeowners(text, filename=".gitlab/CODEOWNERS")
    assert [r.pattern for r in owners.rules] == ["docs/", "api/", "docs/\\#notes"]
    assert owners.owners_of("docs/index.md") == ("@writer",)  # e-mail addresses cannot be assigned
    assert owners.owners_of("api/main.go") == ("@octo-org/backend",)  # the section's default owners


def test_each_platform_reads_its_own_codeowners_locations_first() -> None:
    files = {"CODEOWNERS": "* @root\n", ".github/CODEOWNERS": "* @github\n", ".gitlab/CODEOWNERS": "* @lab\n"}
    github = find_codeowners(GITHUB.codeowners_locations, files)
    gitlab = find_codeowners(
        GITLAB.codeowners_locations, {k: v for k, v in files.items() if k != "CODEOWNERS"}
    )
    assert github is not None and github.owners_of("x") == ("@github",)
    assert gitlab is not None and gitlab.owners_of("x") == ("@lab",)
    assert find_codeowners(GITHUB.codeowners_locations, {}) is None


def test_a_hostile_codeowners_pattern_matches_without_backtracking() -> None:
    owners = parse_codeowners("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c*b @x\n", filename="CODEOWNERS")
    assert owners.owners_of("a" * 5_000) == ()


def test_evidence_paths_are_the_literal_entries_a_rule_names() -> None:
    rule = parse_rule(
        {
            "any": [
                {"files": ["**/Dockerfile", "docs/runbooks/"]},
                {"contains": {"files": "deploy/**/*.yaml", "pattern": "x"}},
            ]
        },
        where=lambda _p: (None, None),
        filename="t.yaml",
        path=(),
    )
    assert evidence_paths(rule) == ("Dockerfile", "docs/runbooks/", "deploy/")
    assert evidence_paths(None) == ()


def test_owners_come_from_config_then_template_then_codeowners() -> None:
    codeowners = parse_codeowners(CODEOWNERS, filename="CODEOWNERS")
    owners = item_owners(resolved(), codeowners)
    assert owners == {
        "container": ("@dave",),  # CODEOWNERS, from the rule's `Dockerfile`
        "manifests": ("@octo-org/sre", "@carol"),  # the owner of deploy/ owns the deployment items
        "dashboards": ("@octo-org/sre",),  # the section's owner in the template
        "runbooks": ("@alice", "@bob"),  # the item's owner in the template
    }
    config = 'checklists: [svc]\nowners: {observability: "@erin", "svc/runbooks": "@frank", container: [\'@gail\']}\n'
    owners = item_owners(resolved(config), codeowners)
    assert owners["dashboards"] == ("@erin",)  # the file's section owner beats the template's
    assert owners["runbooks"] == ("@frank",)
    assert owners["container"] == ("@gail",)
    assert "container" not in item_owners(resolved(), None)  # no CODEOWNERS: evidence items unowned


def test_a_manual_item_without_an_explicit_owner_has_none() -> None:
    config = "checklists: [svc]\n"
    template = TEMPLATE.replace('        owner: ["@alice", "@bob"]\n', "").replace(
        '    owner: "@octo-org/sre"\n', ""
    )
    parsed = parse_config(config, shipped_ids=["svc"])
    [c] = resolve_checklists(
        parsed, shipped={"svc": parse_template(template, filename="svc.yaml")}, read=lambda _p: None
    )
    owned = item_owners(c, parse_codeowners("* @everyone\n", filename="CODEOWNERS"))
    assert "runbooks" not in owned  # a manual item names no paths for CODEOWNERS to own
    assert owned["dashboards"] == ("@everyone",)


def test_teams_are_assigned_through_their_members_capped_at_ten() -> None:
    names = ("@alice", "@octo-org/sre", "@bob", "@octo-org/missing", "@team-top")
    # a bare name the platform found to be a group (GitLab top-level) is one; octo-org/missing
    # could not be read, so it stands for nobody
    members = {"octo-org/sre": ("carol", "alice", "dave"), "team-top": ("erin",)}
    assert assignees(names, members) == ("alice", "carol", "dave", "bob", "erin")
    assert assignees(names, {}) == ("alice", "bob", "team-top")  # not a group: a user
    many = {"o/t": tuple(f"u{i}" for i in range(15))}
    assert len(assignees(["@o/t"], many)) == 10


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            "checklists: [svc]\nowners: {nowhere: '@a'}\n",
            ".readiness.yml:2:10: owners.nowhere: no chosen checklist has a section or item 'nowhere'",
        ),
        (
            "checklists: [svc]\nowners: {build: 'alice'}\n",
            '.readiness.yml:2:17: owners.build[0]: expected an owner such as "@alice" or "@org/sre"',
        ),
        (
            "checklists: [svc]\nowners: {build: []}\n",
            '.readiness.yml:2:17: owners.build: expected an owner such as "@alice" or "@org/sre" (or a list of them)',
        ),
    ],
)
def test_bad_owners_entries_are_reported_precisely(config: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolved(config)
    assert str(info.value).startswith(expected)


def test_an_owners_key_naming_a_section_and_an_item_must_be_written_in_full() -> None:
    template = TEMPLATE.replace("      - id: dashboards", "      - id: observability")
    parsed = parse_config("checklists: [svc]\nowners: {observability: '@a'}\n", shipped_ids=["svc"])
    with pytest.raises(ConfigError) as info:
        resolve_checklists(
            parsed, shipped={"svc": parse_template(template, filename="svc.yaml")}, read=lambda _p: None
        )
    assert "names the section 'svc/observability' and the item 'svc/observability'" in str(info.value)


def test_a_template_owner_must_look_like_an_owner() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(TEMPLATE.replace('owner: "@octo-org/sre"', "owner: sre-team"), filename="svc.yaml")
    assert str(info.value).startswith("svc.yaml:18:12: sections[1].owner: expected an owner such as")

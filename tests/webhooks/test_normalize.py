"""normalize() against every stored fixture: the real shapes GitHub and GitLab send."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core import snapshot
from bot.core.events import Kind, Platform, RepoRef
from bot.webhooks.normalize import normalize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"


def load(platform: str, name: str) -> dict:
    return json.loads((FIXTURES / platform / name).read_text())


GITHUB_FILES = {
    "check_run.completed.payload.json": ("check_run", Kind.CI),
    "check_suite.completed.payload.json": ("check_suite", Kind.CI),
    "installation.created.payload.json": ("installation", Kind.INSTALLATION),
    "installation_repositories.added.payload.json": ("installation_repositories", Kind.INSTALLATION),
    "issue_comment.created.with-installation.payload.json": ("issue_comment", Kind.COMMENT),
    "issues.edited.payload.json": ("issues", Kind.ISSUE_EDITED),
    "issues.opened.payload.json": ("issues", Kind.ISSUE_EDITED),
    "push.with-new-branch.payload.json": ("push", Kind.PUSH),
    # GitHub Actions jobs also arrive as check runs: the App does not subscribe to workflow events
    "workflow_job.completed.success.with-organization.payload.json": ("workflow_job", Kind.IGNORED),
    "workflow_run.completed.payload.json": ("workflow_run", Kind.IGNORED),
}
GITLAB_FILES = {
    "push.json": ("Push Hook", Kind.PUSH),
    "tag_push.json": ("Tag Push Hook", Kind.PUSH),
    "issue.json": ("Issue Hook", Kind.ISSUE_EDITED),
    "note_issue.json": ("Note Hook", Kind.COMMENT),
    "note_commit.json": ("Note Hook", Kind.IGNORED),
    "note_merge_request.json": ("Note Hook", Kind.IGNORED),
    "pipeline.json": ("Pipeline Hook", Kind.CI),
    "job.json": ("Job Hook", Kind.CI),
    "merge_request.json": ("Merge Request Hook", Kind.IGNORED),
}


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in (FIXTURES / "github").glob("*.json")} == set(GITHUB_FILES)
    assert {p.name for p in (FIXTURES / "gitlab").glob("*.json")} == set(GITLAB_FILES)


@pytest.mark.parametrize("name", sorted(GITHUB_FILES))
def test_github_fixture_kind_and_sender(name: str) -> None:
    event_name, kind = GITHUB_FILES[name]
    event = normalize("github", event_name, load("github", name))
    assert (event.platform, event.kind, event.name) == (Platform("github"), kind, event_name)
    assert event.sender == "Codertocat" and event.sender_is_bot is False


@pytest.mark.parametrize("name", sorted(GITLAB_FILES))
def test_gitlab_fixture_kind_and_repo(name: str) -> None:
    event_name, kind = GITLAB_FILES[name]
    payload = load("gitlab", name)
    event = normalize("gitlab", event_name, payload)
    assert (event.platform, event.kind, event.name) == (Platform("gitlab"), kind, event_name)
    assert event.repo is not None and event.repo.full_name == payload["project"]["path_with_namespace"]
    assert event.repo.installation_id is None and event.sender


def test_github_push() -> None:
    event = normalize("github", "push", load("github", "push.with-new-branch.payload.json"))
    assert event.repo == RepoRef(Platform("github"), "Codertocat/Hello-World", 186853002, 1, "master")
    assert event.installation_id == 1
    assert (event.ref, event.commit) == ("refs/heads/master", "6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    assert event.extra == {"deleted": False, "before": "0" * 40}  # before: pushes can arrive out of order


def test_github_installation_created_lists_repositories() -> None:
    event = normalize("github", "installation", load("github", "installation.created.payload.json"))
    assert event.action == "created" and event.installation_id == 957387 and event.repo is None
    assert event.repos_added == (RepoRef(Platform("github"), "Codertocat/Hello-World", 186853002, 957387),)
    assert event.repos_removed == ()


def test_github_installation_deleted_removes_repositories() -> None:
    payload = load("github", "installation.created.payload.json") | {"action": "deleted"}
    event = normalize("github", "installation", payload)
    assert [r.full_name for r in event.repos_removed] == ["Codertocat/Hello-World"]
    assert event.repos_added == ()


def test_github_installation_repositories_added_and_removed() -> None:
    payload = load("github", "installation_repositories.added.payload.json")
    payload["repositories_removed"] = [{"id": 5, "full_name": "Codertocat/Gone"}]
    event = normalize("github", "installation_repositories", payload)
    assert [(r.full_name, r.id, r.installation_id) for r in event.repos_added] == [
        ("Codertocat/Space", 186853007, 957387)
    ]
    assert [r.full_name for r in event.repos_removed] == ["Codertocat/Gone"]


def test_github_check_run_and_suite() -> None:
    run = normalize("github", "check_run", load("github", "check_run.completed.payload.json"))
    assert run.commit == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert run.extra["ci"] == [
        {
            "name": "Octocoders-linter",
            "conclusion": snapshot.SUCCESS,
            "url": "https://github.com/Codertocat/Hello-World/runs/128620228",
        }
    ]
    suite = normalize("github", "check_suite", load("github", "check_suite.completed.payload.json"))
    assert suite.ref == "refs/heads/changes"
    assert suite.extra["ci"][0]["name"] == "octocoders-linter"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("success", snapshot.SUCCESS),
        ("failure", snapshot.FAILURE),
        ("error", snapshot.FAILURE),
        ("pending", snapshot.PENDING),
    ],
)
def test_github_commit_status_is_ci_evidence(state: str, expected: str) -> None:
    payload = load("github", "check_run.completed.payload.json")
    payload = {  # the `status` event: an external CI reporting on a commit
        "id": 1,
        "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "name": payload["repository"]["full_name"],
        "context": "ci/jenkins",
        "state": state,
        "target_url": "https://ci.example.com/1",
        "branches": [],
        "repository": payload["repository"],
        "sender": payload["sender"],
    }
    event = normalize("github", "status", payload)
    assert event.kind is Kind.CI and event.commit == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert event.extra["ci"] == [
        {"name": "ci/jenkins", "conclusion": expected, "url": "https://ci.example.com/1"}
    ]


@pytest.mark.parametrize(
    ("status", "conclusion", "expected"),
    [
        ("completed", "failure", snapshot.FAILURE),
        ("completed", "timed_out", snapshot.FAILURE),
        ("completed", "cancelled", snapshot.CANCELLED),
        ("completed", "skipped", snapshot.SKIPPED),
        ("completed", "neutral", snapshot.SUCCESS),
        ("in_progress", None, snapshot.PENDING),
    ],
)
def test_github_conclusions_are_normalised(status: str, conclusion: str | None, expected: str) -> None:
    payload = load("github", "check_run.completed.payload.json")
    payload["check_run"] |= {"status": status, "conclusion": conclusion}
    event = normalize("github", "check_run", payload)
    assert event.extra["ci"][0]["conclusion"] == expected
    assert event.extra["ci"][0]["name"] == payload["check_run"]["name"]


def test_github_issue_edit_carries_previous_body() -> None:
    payload = load("github", "issues.edited.payload.json")
    payload["changes"] = {"body": {"from": "- [ ] ship it"}}
    payload["issue"]["body"] = "- [x] ship it"
    payload["sender"] = {"login": "readiness-bot[bot]", "type": "Bot"}
    event = normalize("github", "issues", payload)
    assert (event.action, event.issue_number) == ("edited", 1)
    assert (event.body, event.previous_body) == ("- [x] ship it", "- [ ] ship it")
    assert event.sender_is_bot is True and event.sender == "readiness-bot[bot]"


def test_github_issue_comment() -> None:
    event = normalize(
        "github", "issue_comment", load("github", "issue_comment.created.with-installation.payload.json")
    )
    assert (event.issue_number, event.comment_id) == (1, 492700400)
    assert event.body == "You are totally right! I'll get this fixed right away."
    assert event.installation_id == 1 and event.repo is not None and event.repo.installation_id == 1


def test_github_comment_on_pull_request_is_ignored() -> None:
    payload = load("github", "issue_comment.created.with-installation.payload.json")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    assert normalize("github", "issue_comment", payload).kind is Kind.IGNORED


def test_github_sub_issues_and_unknown_events() -> None:
    payload = {
        "action": "sub_issue_removed",
        "parent_issue": {"number": 7},
        "sub_issue": {"number": 9},
        "sub_issue_id": 123,
        "repository": {"full_name": "o/r", "id": 3},
        "installation": {"id": 4},
        "sender": {"login": "alice", "type": "User"},
    }
    event = normalize("github", "sub_issues", payload)
    assert (event.kind, event.issue_number) == (Kind.ISSUE_EDITED, 7)
    assert event.extra == {"sub_issue_number": 9, "sub_issue_id": 123}
    assert normalize("github", "star", payload).kind is Kind.IGNORED
    assert normalize("github", "ping", {"zen": "Keep it logically awesome."}).kind is Kind.PING


def test_odd_payload_shapes_do_not_raise() -> None:
    event = normalize("github", "push", {"repository": "nope", "sender": None, "after": 5})
    assert event.repo is None and event.commit is None and event.sender is None
    assert normalize("gitlab", "Pipeline Hook", {"builds": "x"}).extra["ci"][0]["name"] == "pipeline"


def test_gitlab_push_and_tag_push() -> None:
    push = normalize("gitlab", "Push Hook", load("gitlab", "push.json"))
    assert push.repo == RepoRef(Platform("gitlab"), "mike/diaspora", 15, None, "master")
    assert (push.ref, push.commit, push.sender) == (
        "refs/heads/master",
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "jsmith",
    )
    tag = normalize("gitlab", "Tag Push Hook", load("gitlab", "tag_push.json"))
    assert tag.ref == "refs/tags/v1.0.0" and tag.commit == "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"


def test_gitlab_branch_deletion_push() -> None:
    payload = load("gitlab", "push.json") | {"after": "0" * 40, "checkout_sha": None}
    event = normalize("gitlab", "Push Hook", payload)
    assert event.extra["deleted"] is True and event.commit == "0" * 40


def test_gitlab_issue_with_description_change() -> None:
    payload = load("gitlab", "issue.json")
    payload["object_attributes"] |= {"action": "update", "description": "- [x] a"}
    payload["changes"]["description"] = {"previous": "- [ ] a", "current": "- [x] a"}
    event = normalize("gitlab", "Issue Hook", payload)
    assert (event.action, event.issue_number, event.sender) == ("update", 23, "root")
    assert (event.body, event.previous_body) == ("- [x] a", "- [ ] a")
    unchanged = normalize("gitlab", "Issue Hook", load("gitlab", "issue.json"))
    assert unchanged.previous_body is None and unchanged.action == "open"


def test_gitlab_note_on_issue() -> None:
    event = normalize("gitlab", "Note Hook", load("gitlab", "note_issue.json"))
    assert (event.issue_number, event.comment_id, event.body) == (17, 1241, "Hello world")


def test_gitlab_bot_user_flag() -> None:
    payload = load("gitlab", "note_issue.json")
    payload["user"] |= {"username": "readiness-bot", "bot": True}
    event = normalize("gitlab", "Note Hook", payload)
    assert event.sender_is_bot is True and event.sender == "readiness-bot"


def test_gitlab_pipeline_lists_every_build() -> None:
    event = normalize("gitlab", "Pipeline Hook", load("gitlab", "pipeline.json"))
    assert event.commit == "bcbb5ec396a2c0f828686f14fac9b80b780504f2" and event.ref == "refs/heads/master"
    assert {c["name"]: c["conclusion"] for c in event.extra["ci"]} == {
        "production": snapshot.SKIPPED,
        "test-image": snapshot.SUCCESS,
        "test-build": snapshot.FAILURE,
        "build-image": snapshot.SUCCESS,
        "staging": snapshot.PENDING,
    }
    assert event.extra["pipeline_status"] == snapshot.SUCCESS


def test_gitlab_job_uses_sha_not_commit_id() -> None:
    event = normalize("gitlab", "Job Hook", load("gitlab", "job.json"))
    assert event.commit == "2293ada6b400935a1378653304eaf6221e0fdb8f"
    assert event.ref == "refs/heads/gitlab-script-trigger"
    assert event.extra["ci"] == [
        {
            "name": "test",
            "conclusion": snapshot.PENDING,
            "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977",
        }
    ]


def test_gitlab_unknown_event_is_ignored_but_keeps_repo() -> None:
    event = normalize("gitlab", "Wiki Page Hook", load("gitlab", "issue.json"))
    assert event.kind is Kind.IGNORED and event.repo is not None


def test_github_payloads_carry_the_repository_topics() -> None:
    payload = load("github", "push.with-new-branch.payload.json")
    assert normalize("github", "push", payload).topics == ()  # the fixture's repository has none
    payload["repository"]["topics"] = ["library", "HTTP-client"]
    assert normalize("github", "push", payload).topics == ("library", "http-client")
    issue = load("github", "issues.edited.payload.json")
    issue["repository"]["topics"] = ["pypi"]
    assert normalize("github", "issues", issue).topics == ("pypi",)
    del payload["repository"]["topics"]
    assert normalize("github", "push", payload).topics is None  # not said: unknown, not "none"
    payload["repository"]["topics"] = "library"
    assert normalize("github", "push", payload).topics is None
    assert normalize("gitlab", "Push Hook", load("gitlab", "push.json")).topics is None

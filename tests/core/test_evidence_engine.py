"""The rule engine's choice of files: scopes, candidate order, budgets and the evidence shown."""

from __future__ import annotations

from bot.core.rules import Contains, Rule, Verdict, compile_checklist, evaluate
from bot.core.scopes import Scopes
from bot.core.snapshot import RepoSnapshot
from bot.core.templates import Item, Section, Template, parse_template


def verdict(rule: Rule, files: dict[str, bytes], item_id: str = "i", title: str = "I") -> Verdict:
    item = Item(item_id, title, "why", rule=rule)
    template = Template("t", "T", 1, None, None, (Section("s", "S", (item,)),), "t.yaml")
    snap = RepoSnapshot(paths=sorted(files), read=files.get)
    return evaluate(compile_checklist(template), snap)[item_id]


def parsed_rule(evidence: str) -> Rule:
    text = (
        "id: t\ntitle: T\nsections:\n  - id: s\n    title: S\n    items:\n"
        f"      - id: i\n        title: I\n        why: w\n        evidence: {evidence}\n"
    )
    rule = parse_template(text, filename="t.yaml").sections[0].items[0].rule
    assert rule is not None
    return rule


def test_text_manifests_are_production_files_not_docs() -> None:
    scopes = Scopes()
    assert scopes.kind("requirements.txt") == "code"
    assert scopes.kind("requirements/prod.txt") == "code"
    assert scopes.kind("CMakeLists.txt") == "code"
    assert scopes.kind("README.md") == "docs"
    assert scopes.kind("docs/notes.txt") == "docs"
    found = verdict(
        Contains(("requirements*.txt",), "gunicorn", scope="code"), {"requirements.txt": b"gunicorn\n"}
    )
    assert found.passed and found.evidence == ("`requirements.txt:1` matches `gunicorn`",)


def test_a_rule_naming_docs_among_other_files_finds_the_docs_by_default() -> None:
    rule = parsed_rule("{contains: {files: ['docs/**/*.md', '*.mmd'], pattern: 'sequenceDiagram'}}")
    assert verdict(rule, {"docs/flows/login.md": b"```mermaid\nsequenceDiagram\n```\n"}).passed
    # its code globs still skip tests, and a code-only rule still skips docs
    assert not verdict(rule, {"tests/flow.mmd": b"sequenceDiagram\n"}).passed
    code_only = parsed_rule("{contains: {files: ['*.py'], pattern: 'SIGTERM'}}")
    assert not verdict(code_only, {"docs/conf.py": b"SIGTERM\n"}).passed


def test_the_read_budget_bounds_the_bytes_one_evaluation_reads(monkeypatch) -> None:
    from bot.core import rules

    files = {f"src/m{i:03d}.py": b"x" * 1000 + b"\n" for i in range(50)}
    files["src/zz.py"] = b"healthz\n"
    asked: list[str] = []

    def read(path: str) -> bytes | None:
        asked.append(path)
        return files.get(path)

    item = Item("i", "I", "why", rule=Contains(("*.py",), "healthz"))
    template = Template("t", "T", 1, None, None, (Section("s", "S", (item,)),), "t.yaml")
    snap = RepoSnapshot(paths=sorted(files), read=read)
    assert evaluate(compile_checklist(template), snap)["i"].passed
    monkeypatch.setattr(rules, "READ_BUDGET", 10_000)
    asked.clear()
    result = evaluate(compile_checklist(template), snap)["i"]
    assert not result.passed  # the evidence sat past what the budget let it read
    read_bytes = sum(len(files[p]) for p in asked)
    assert len(asked) == 10 and read_bytes < 10_000 + 1001  # at most one file past the budget


def test_the_strongest_match_is_shown_code_over_config_over_docs() -> None:
    files = {
        "README.md": b"set SENTRY_DSN\n",
        "app.yaml": b"SENTRY_DSN: x\n",
        "docs/ops.md": b"SENTRY_DSN\n",
        "svc/core/errors.py": b"import os\n\nsentry_sdk.init(os.environ['SENTRY_DSN'])\n",
    }
    found = verdict(Contains(("*.md", "*.yaml", "*.py"), "SENTRY_DSN", scope="any"), files)
    assert found.evidence == ("`svc/core/errors.py:3` matches `SENTRY_DSN`",)
    del files["svc/core/errors.py"]
    found = verdict(Contains(("*.md", "*.yaml", "*.py"), "SENTRY_DSN", scope="any"), files)
    assert found.evidence == ("`app.yaml:1` matches `SENTRY_DSN`",)

"""Candidate selection and live matches (issue 11): which files a rule reads, in which order, within
which budgets, and which matches count.

A rule reads the files whose path names its item's words first, is bounded by bytes (a share per
rule inside the evaluation's budget) instead of a count of files, prefetch walks the same order
within the same budgets, and a match in a comment or on a switched-off setting is not evidence.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import re2
import yaml

from bot.core import rules
from bot.core.pathindex import PathIndex
from bot.core.rules import (
    CompiledChecklist,
    Contains,
    compile_checklist,
    evaluate,
    evaluate_many,
    files_to_read,
    live_match,
    rank_words,
)
from bot.core.snapshot import RepoSnapshot
from bot.core.templates import Item, Section, Template
from bot.resources import load_shipped

CONCEPTS = Path(__file__).resolve().parents[2] / "bench" / "evidence" / "concepts.yaml"


@cache
def _shipped() -> tuple[tuple[CompiledChecklist, ...], dict[str, set[str]]]:
    items = {name: set(c["items"]) for name, c in yaml.safe_load(CONCEPTS.read_text()).items()}
    return tuple(compile_checklist(t) for t in load_shipped().values()), items


def concepts(tree: dict[str, str]) -> set[str]:
    """The concepts a reader of the shipped checklists sees ticked (as bench/evidence_quality.py)."""
    files = {path: text.encode() for path, text in tree.items()}
    compiled, items = _shipped()
    verdicts = evaluate_many(compiled, RepoSnapshot(paths=sorted(files), read=files.get))
    passed = {
        f"{c.template_id}/{i}"
        for c, vs in zip(compiled, verdicts, strict=True)
        for i, v in vs.items()
        if v.passed
    }
    return {name for name, keys in items.items() if passed & keys}


def checklist(items: dict[str, Contains]) -> Template:
    entries = tuple(Item(i, i, "why", rule=r) for i, r in items.items())
    return Template("t", "T", 1, None, None, (Section("s", "S", entries),), "t.yaml")


def run(
    items: dict[str, Contains], files: dict[str, bytes], asked: list[str] | None = None
) -> dict[str, bool]:
    def read(path: str) -> bytes | None:
        if asked is not None:
            asked.append(path)
        return files.get(path)

    snap = RepoSnapshot(paths=sorted(files), read=read)
    return {k: v.passed for k, v in evaluate(compile_checklist(checklist(items)), snap).items()}


SHALLOW = {f"app/m{i:03d}.py": b"x" * 1000 + b"\n" for i in range(300)}
DEEP_WEBHOOK = "app/integrations/outgoing/deliver/webhooks/sign.py"


def test_a_deep_file_named_for_the_item_is_read_before_hundreds_of_shallow_ones(monkeypatch) -> None:
    monkeypatch.setattr(rules, "RULE_BUDGET", 20_000)  # room for 20 files, not 300
    files = {**SHALLOW, DEEP_WEBHOOK: b"digest = hmac.new(secret, body, sha256)\n"}
    asked: list[str] = []
    rule = Contains(("*.py",), r"hmac\.new\(", scope="code")
    assert run({"webhook-hmac-signatures": rule}, files, asked) == {"webhook-hmac-signatures": True}
    assert asked == [DEEP_WEBHOOK]  # the first file read, found there
    # an item whose words no path names reads shallowest first, and its share ends before the file
    assert run({"some-other-thing": rule}, files) == {"some-other-thing": False}


def test_the_deep_evidence_past_the_old_200_file_cap_is_found() -> None:
    files = {**SHALLOW, "hc/api/management/commands/sendalerts.py": b"signal.signal(signal.SIGTERM, stop)\n"}
    rule = Contains(("*.py",), r"signal\.SIGTERM", scope="code")
    assert run({"x": rule}, files) == {"x": True}  # 301 candidates, no count cap, a few KB in all


def test_one_rule_that_finds_nothing_cannot_spend_what_the_next_items_need(monkeypatch) -> None:
    monkeypatch.setattr(rules, "RULE_BUDGET", 50_000)
    monkeypatch.setattr(rules, "READ_BUDGET", 120_000)
    files = {**SHALLOW, "deploy/app.yml": b"replicas: 2\n"}
    asked: list[str] = []
    verdicts = run(
        {"a": Contains(("*.py",), "never-there", scope="code"), "b": Contains(("*.yml",), "replicas")},
        files,
        asked,
    )
    assert verdicts == {"a": False, "b": True}
    assert sum(len(files[p]) for p in asked if p.endswith(".py")) < 50_000 + 1001


def test_a_rule_out_of_budget_says_how_many_files_it_looked_at(monkeypatch) -> None:
    monkeypatch.setattr(rules, "RULE_BUDGET", 5_000)
    snap = RepoSnapshot(paths=sorted(SHALLOW), read=SHALLOW.get)
    verdict = evaluate(compile_checklist(checklist({"x": Contains(("*.py",), "nope", scope="code")})), snap)[
        "x"
    ]
    assert verdict.evidence == ("`nope` not found in the first 5 files matching `*.py`",)


def test_prefetch_lists_what_the_evaluation_may_read_in_its_order_within_the_budgets(monkeypatch) -> None:
    monkeypatch.setattr(rules, "RULE_BUDGET", 20_000)
    files = {**SHALLOW, DEEP_WEBHOOK: b"hmac\n"}
    compiled = [
        compile_checklist(checklist({"webhook-hmac-signatures": Contains(("*.py",), "hmac", scope="code")}))
    ]
    index = PathIndex.build(sorted(files))
    sizes = {p: len(b) for p, b in files.items()}
    wanted = files_to_read(compiled, index, sizes=sizes)
    assert wanted[0] == DEEP_WEBHOOK
    assert 19 <= len(wanted) <= 21 and sum(sizes[p] for p in wanted) <= 20_000 + 1001
    # without sizes (GitLab's tree listing) each file counts UNKNOWN_SIZE
    assert len(files_to_read(compiled, index)) == -(-20_000 // rules.UNKNOWN_SIZE)
    monkeypatch.setattr(rules, "READ_BUDGET", 3_000)  # the evaluation budget binds too
    assert len(files_to_read(compiled, index, sizes=sizes)) == 4  # the last one crosses it, as in reading


def test_rank_words_come_from_the_item_with_their_usual_spellings() -> None:
    own, wiring = rank_words("health-check-endpoints")
    assert {"health", "status", "alive"} <= set(own) and "check" not in own
    assert "middleware" in wiring and "setting" in wiring
    assert "hmac" in rank_words("webhook-hmac-signatures")[0]


@pytest.mark.parametrize(
    ("path", "text", "counts"),
    [
        ("app/Config/clockwork.php", b"    // 'accept' => 'application/vnd.com.whatever.v1+json',\n", False),
        ("settings.py", b"# SENTRY_DSN = 'https://x@sentry.io/1'\n", False),
        ("src/lib.js", b"/**\n * SENTRY_DSN is read here\n */\n", False),
        ("jest.config.ts", b"  collectCoverage: false,\n", False),
        ("config.yml", b"sentry:\n  enabled: false\n", False),
        ("retry.ts", b"retries: 0,\n", False),
        ("settings.py", b"# SENTRY_DSN in a comment first\nSENTRY_DSN = os.environ['SENTRY_DSN']\n", True),
        ("src/web.rs", b'#[get("/alive")]\nfn alive() {}\n', True),
        ("jest.config.ts", b"  collectCoverage: true,\n", True),
        ("README.md", b"# SENTRY_DSN\n", True),  # prose: `#` is a heading
    ],
)
def test_a_match_in_a_comment_or_on_a_switched_off_setting_is_not_evidence(
    path: str, text: bytes, counts: bool
) -> None:
    regex = re2.compile(rb"vnd\.\w+\.\w+\.v1|SENTRY_DSN|collectCoverage|sentry|retries|/alive")
    assert (live_match(regex, text, path) is not None) is counts


def test_many_dead_matches_end_the_search_of_that_file() -> None:
    regex = re2.compile(rb"SIGTERM")
    data = b"# SIGTERM\n" * (rules.MAX_DEAD_MATCHES + 1) + b"signal.SIGTERM\n"
    assert live_match(regex, data, "a.py") is None
    assert live_match(regex, data[20:], "a.py") is not None  # one dead match fewer


# ------------------------------------------------------------- shipped templates: the classes fixed


def test_health_routes_named_status_or_alive_count() -> None:
    assert "health_endpoint" in concepts(
        {"routes/web.php": "Route::get('/status', [StatusController::class, 'show']);\n"}
    )
    assert "health_endpoint" in concepts(
        {"src/api/web.rs": '#[get("/alive")]\nfn alive() -> &\'static str { "ok" }\n'}
    )
    # a status page under another path is not a health route
    assert "health_endpoint" not in concepts(
        {"routes/web.php": "Route::get('/status/{id}/edit', [S::class, 'edit']);\n"}
    )


def test_diesel_migrations_and_migrations_kept_in_one_go_file_count() -> None:
    diesel = {
        "Cargo.toml": '[package]\nname = "svc"\n[dependencies]\ndiesel = "2"\n',
        "migrations/sqlite/2018-01-01-000000_create_users/up.sql": "CREATE TABLE users (id INTEGER);\n",
    }
    assert "migrations" in concepts(diesel)
    go = {"go.mod": "module example.com/svc\n", "internal/database/migrations.go": "package database\n"}
    assert "migrations" in concepts(go)
    liquibase = {"pom.xml": "<project/>\n", "schema/changelog-master.xml": "<databaseChangeLog/>\n"}
    assert "migrations" in concepts(liquibase)


def test_go_mux_versioned_prefixes_count_and_a_commented_media_type_does_not() -> None:
    go = 'package server\nfunc routes() {\n\tappMux.Handle("/v1/", api.Serve(store))\n}\n'
    assert "api_versioning" in concepts({"go.mod": "module x\n", "internal/http/server/routes.go": go})
    php = "<?php\nreturn [\n    // 'accept' => 'application/vnd.com.whatever.v1+json',\n];\n"
    assert "api_versioning" not in concepts({"composer.json": "{}", "app/Config/clockwork.php": php})


def test_cors_header_constants_and_jax_rs_authentication_filters_count() -> None:
    cors = (
        "public class CorsResponseFilter implements ContainerResponseFilter {\n"
        "  public void filter(ContainerRequestContext req, ContainerResponseContext res) {\n"
        "    res.getHeaders().add(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN.toString(), origin);\n  }\n}\n"
    )
    tree = {"pom.xml": "<project/>\n", "src/main/java/org/x/api/CorsResponseFilter.java": cors}
    assert "cors" in concepts(tree)
    auth = (
        "@Priority(Priorities.AUTHENTICATION)\npublic class SecurityRequestFilter implements ContainerRequestFilter {\n"
        "  public void filter(ContainerRequestContext ctx) { ctx.setSecurityContext(new UserSecurityContext(p)); }\n}\n"
    )
    tree = {"pom.xml": "<project/>\n", "src/main/java/org/x/api/security/SecurityRequestFilter.java": auth}
    assert "authentication" in concepts(tree)


def test_a_populate_command_that_seeds_nothing_and_a_request_id_header_are_not_evidence() -> None:
    search = {
        "requirements.txt": "Django==5.0\n",
        "hc/front/management/commands/populate_searchdb.py": "def handle(): build_index()\n",
    }
    assert "seed_data" not in concepts(search)
    seed = {
        "requirements.txt": "Django==5.0\n",
        "app/management/commands/populatedb.py": "def handle(): create_users()\n",
    }
    assert "seed_data" in concepts(seed)
    docs = {
        "mix.exs": "defmodule X do\nend\n",
        "lib/x_web/controllers/docs_controller.ex": 'header "x-request-id"\n',
    }
    assert "tracing" not in concepts(docs)


def test_a_browser_test_sub_project_and_tools_are_not_production_code() -> None:
    tree = {
        "Cargo.toml": '[package]\nname = "svc"\n',
        "playwright/package.json": '{"dependencies": {"cors": "^2.8.5"}}',
        "tools/bench.py": "requests.get(url, timeout=3)\n",
    }
    found = concepts(tree)
    assert "cors" not in found and "external_timeouts" not in found


def test_running_in_production_docs_count_as_operations_docs() -> None:
    readme = "# Svc\n\n## Running in Production\n\nUse a reverse proxy, back up the database nightly.\n"
    assert "runbooks" in concepts({"Dockerfile": "FROM python:3.12\n", "README.md": readme})


# ------------------------------------------------------- dependencies: declared for production only


def test_dev_and_test_declarations_are_not_production_dependencies() -> None:
    dev = '{"name": "svc", "dependencies": {"express": "^4"}, "devDependencies": {"@sentry/node": "^8"}}'
    assert "error_tracking" not in concepts({"package.json": dev})
    prod = '{"name": "svc", "dependencies": {"express": "^4", "@sentry/node": "^8"}}'
    assert "error_tracking" in concepts({"package.json": prod})
    gemfile = (
        'source "https://rubygems.org"\ngem "rails"\ngroup :development, :test do\n'
        '  platforms :mri do\n    gem "debug"\n  end\n  gem "sentry-ruby"\nend\n'
    )
    assert "error_tracking" not in concepts({"Gemfile": gemfile})
    assert "error_tracking" in concepts({"Gemfile": gemfile.replace(":development, :test", ":production")})
    mix = 'defmodule X.MixProject do\n  defp deps do\n    [{:phoenix, "~> 1.7"}, {:sentry, "~> 10.0", only: :dev}]\n  end\nend\n'
    assert "error_tracking" not in concepts({"mix.exs": mix})
    cargo = '[package]\nname = "svc"\n[dev-dependencies]\nsentry = "0.34"\n'
    assert "error_tracking" not in concepts({"Cargo.toml": cargo})
    composer = '{"require": {"laravel/framework": "^11"}, "require-dev": {"sentry/sentry-laravel": "^4"}}'
    assert "error_tracking" not in concepts({"composer.json": composer})


def test_tooling_items_still_count_dev_declarations() -> None:
    dev = '{"name": "svc", "devDependencies": {"eslint": "^9", "@vitest/coverage-v8": "^2"}}'
    found = concepts({"package.json": dev})
    assert {"linting", "coverage"} <= found


def test_a_lock_file_beside_its_manifest_adds_no_transitive_dependencies() -> None:
    manifest = '{"name": "e2e", "dependencies": {"express": "^4"}}'
    lock = '{"lockfileVersion": 3, "packages": {"": {}, "node_modules/cors": {"version": "2.8.5"}}}'
    assert "cors" not in concepts({"package.json": manifest, "package-lock.json": lock})
    # a lock file alone still tells what the project installs
    assert "cors" in concepts({"package-lock.json": lock})


def test_hmac_behind_a_project_helper_in_a_webhook_file_counts() -> None:
    go = 'package webhook\nfunc send(secret string, body []byte) {\n\tsig := crypto.GenerateSHA256Hmac(secret, body)\n\treq.Header.Set("X-Signature", sig)\n}\n'
    assert "signed_webhooks" in concepts(
        {"go.mod": "module x\n", "internal/integration/webhook/webhook.go": go}
    )
    plain = "package webhook\nfunc send(body []byte) { post(url, body) }\n"
    assert "signed_webhooks" not in concepts(
        {"go.mod": "module x\n", "internal/integration/webhook/webhook.go": plain}
    )


# ------------------------------------------------------------- issue 11: classes from holdout3


def test_a_dev_container_is_not_the_application_image_nor_its_runtime_config() -> None:
    devcontainer = {
        "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["fastapi"]\n',
        ".devcontainer/Dockerfile": "FROM mcr.microsoft.com/devcontainers/python:3.12\n",
        ".devcontainer/docker-compose.yml": (
            "services:\n  app:\n    build: .\n    healthcheck:\n      test: curl -f http://localhost/healthz\n"
        ),
        ".devcontainer/setup.py": "import os\nos.environ.get('DATABASE_URL')\n",
    }
    found = concepts(devcontainer)
    assert "containerization" not in found and "env_config" not in found
    # the same image at the root is the application's
    assert "containerization" in concepts({**devcontainer, "Dockerfile": "FROM python:3.12-slim\n"})


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("shop/urls.py", 'urlpatterns = [\n    path("healthz", views.healthz, name="healthz"),\n]\n'),
        ("shop/urls.py", 'urlpatterns = [re_path(r"^ready/?$", views.ready)]\n'),
        ("routes/api.php", "<?php\nRoute::get('ping', fn () => response()->noContent());\n"),
        ("config/routes.rb", 'Rails.application.routes.draw do\n  get "healthz", to: "health#show"\nend\n'),
        (
            "web/src/app/api/health/route.ts",
            "export async function GET() {\n  return Response.json({ ok: true });\n}\n",
        ),
        (
            "server/router.go",
            'package server\nfunc routes(r *mux.Router) { r.HandleFunc("/api/heartbeat", beat) }\n',
        ),
    ],
)
def test_health_routes_written_in_each_frameworks_idiom_count(path: str, text: str) -> None:
    assert "health_endpoint" in concepts({path: text})


def test_websocket_routes_and_a_database_healthcheck_are_not_health_endpoints() -> None:
    tree = {
        "chat/routing.py": 'websocket_urlpatterns = [re_path(r"ws/ping/$", PingConsumer.as_asgi())]\n',
        "chat/urls.py": 'urlpatterns = [path("rooms/<int:pk>/status", views.room)]\n',
        "docker-compose.yml": (
            "services:\n  db:\n    image: postgres:16\n    healthcheck:\n"
            '      test: ["CMD-SHELL", "pg_isready"]\n'
        ),
        "web/src/app/api/rooms/route.ts": "export async function GET() {\n  return Response.json([]);\n}\n",
    }
    assert "health_endpoint" not in concepts(tree)


@pytest.mark.parametrize(
    "tree",
    [
        {"package.json": '{"name": "fetchlib", "devDependencies": {"benchmark": "^2.1.4"}}'},
        {
            "src/Http.Client/Http.Client.csproj": "<Project/>\n",
            "perf/Http.Client.Benchmarks/Http.Client.Benchmarks.csproj": (
                '<Project Sdk="Microsoft.NET.Sdk">\n  <ItemGroup>\n'
                '    <PackageReference Include="BenchmarkDotNet" Version="0.14.0" />\n  </ItemGroup>\n</Project>\n'
            ),
        },
        {"Cargo.toml": '[package]\nname = "parser"\n[dev-dependencies]\ncriterion = "0.5"\n'},
        {"pyproject.toml": '[project]\nname = "lib"\n[dependency-groups]\ndev = ["pytest-benchmark>=4"]\n'},
        {
            "go.mod": "module example.com/codec\n",
            "benchmarks/encode_test.go": "package benchmarks\nfunc BenchmarkEncode(b *testing.B) {\n\tfor b.Loop() {}\n}\n",
        },
    ],
)
def test_a_library_benchmark_suite_counts_as_load_tests(tree: dict[str, str]) -> None:
    assert "load_tests" in concepts(tree)


def test_a_micro_benchmark_beside_unit_tests_is_not_a_load_test_suite() -> None:
    tree = {
        "go.mod": "module example.com/codec\n",
        "codec/encode_test.go": "package codec\nfunc BenchmarkEncode(b *testing.B) {\n\tfor b.Loop() {}\n}\n",
        "package.json": '{"name": "ui", "devDependencies": {"vitest": "^2"}}',
    }
    assert "load_tests" not in concepts(tree)


def _csproj(*packages: str, test: bool = False) -> str:
    flag = "    <IsTestProject>true</IsTestProject>\n" if test else ""
    refs = "".join(f'    <PackageReference Include="{p}" />\n' for p in packages)
    return (
        f'<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n{flag}  </PropertyGroup>\n'
        f"  <ItemGroup>\n{refs}  </ItemGroup>\n</Project>\n"
    )


CENTRAL = (
    "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\n"
    '  </PropertyGroup>\n  <ItemGroup>\n    <PackageVersion Include="Microsoft.AspNetCore.OpenApi" Version="9.0.0" />\n'
    '    <PackageVersion Include="Polly" Version="8.4.0" />\n    <PackageVersion Include="xunit" Version="2.9.0" />\n'
    "  </ItemGroup>\n</Project>\n"
)


@pytest.mark.parametrize(
    "test_project",
    [
        {"test/Shop.Api.Tests/Shop.Api.Tests.csproj": _csproj("xunit", "Polly")},
        {"src/Shop.Api.IntegrationTests/Shop.Api.IntegrationTests.csproj": _csproj("xunit", "Polly")},
        {"src/Shop.Contract/Shop.Contract.csproj": _csproj("xunit", "Polly", test=True)},
    ],
)
def test_a_centrally_versioned_package_only_test_projects_reference_is_not_a_production_dependency(
    test_project: dict[str, str],
) -> None:
    tree = {
        "Directory.Packages.props": CENTRAL,
        "src/Shop.Api/Shop.Api.csproj": _csproj("Microsoft.AspNetCore.OpenApi"),
        **test_project,
    }
    assert "retries" not in concepts(tree)
    # the same package referenced by the service's own project is the service's
    tree["src/Shop.Api/Shop.Api.csproj"] = _csproj("Microsoft.AspNetCore.OpenApi", "Polly")
    assert "retries" in concepts(tree)


def test_a_centrally_versioned_package_no_project_references_stays_a_production_dependency() -> None:
    tree = {
        "Directory.Packages.props": CENTRAL,
        "src/Shop.Api/Shop.Api.csproj": _csproj("Microsoft.AspNetCore.OpenApi"),
    }
    assert "retries" in concepts(tree)


def test_an_image_built_with_buildpacks_counts_without_a_dockerfile() -> None:
    readme = "# Shop\n\nBuild the image with the Spring Boot plugin:\n\n    ./mvnw spring-boot:build-image\n"
    tree = {"pom.xml": "<project/>\n", "README.md": readme}
    assert "containerization" in concepts(tree)
    assert "containerization" not in concepts({**tree, "README.md": "# Shop\n\n    ./mvnw package\n"})

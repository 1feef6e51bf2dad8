"""Dependency parsers on real-shaped manifests of every ecosystem, and the `dependency` rule."""

from __future__ import annotations

import pytest

from bot.core.manifests import normalise, parse_manifest
from bot.core.rules import Contains, Dependency, compile_checklist, evaluate
from bot.core.scopes import Scopes
from bot.core.snapshot import RepoSnapshot
from bot.core.templates import Item, Section, Template

PYPROJECT = b"""
[project]
name = "svc"
dependencies = ["Prometheus_Client>=0.20", "structlog ; python_version >= '3.11'"]
[project.optional-dependencies]
redis = ["redis[hiredis]>=5"]
[dependency-groups]
dev = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]
[tool.poetry.dependencies]
python = "^3.11"
Django = "^5"
[tool.poetry.group.test.dependencies]
pytest-cov = "*"
[tool.pdm.dev-dependencies]
docs = ["mkdocs"]
"""

CASES = [
    (
        "pyproject.toml",
        PYPROJECT,
        {"prometheus-client", "structlog", "redis", "pytest", "ruff", "django", "pytest-cov", "mkdocs"},
    ),
    (
        "requirements/base.txt",
        b"# c\n-r common.txt\nsentry-sdk[fastapi]==2.1 \\\n  --hash=sha256:ab\ngit+https://x/y.git\n./local\ncelery>=5 # jobs\n",
        {"sentry-sdk", "celery"},
    ),
    (
        "setup.cfg",
        b"[options]\ninstall_requires =\n    requests>=2\n    click\n[options.extras_require]\ntest = pytest\n",
        {"requests", "click", "pytest"},
    ),
    ("Pipfile", b'[packages]\nflask = "*"\n[dev-packages]\nblack = "*"\n', {"flask", "black"}),
    ("poetry.lock", b'[[package]]\nname = "gunicorn"\nversion = "22"\n', {"gunicorn"}),
    (
        "package.json",
        b'{"dependencies": {"@sentry/node": "^8", "express": "4"}, "devDependencies": {"jest": "29"}}',
        {"@sentry/node", "express", "jest"},
    ),
    (
        "package-lock.json",
        b'{"packages": {"": {}, "node_modules/helmet": {}, "node_modules/a/node_modules/@opentelemetry/api": {}}}',
        {"helmet", "@opentelemetry/api"},
    ),
    (
        "yarn.lock",
        b'# yarn\n"@babel/core@^7.0.0", "@babel/core@^7.1":\n  version "7"\npino@^9:\n  version "9"\n',
        {"@babel/core", "pino"},
    ),
    (
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      fastify: {specifier: ^4, version: 4.0.0}\npackages:\n  /@fastify/cors@9.0.1: {}\n",
        {"fastify", "@fastify/cors"},
    ),
    (
        "Gemfile",
        b"source 'https://rubygems.org'\ngem 'rails', '~> 7.1'\n# gem 'commented'\ngroup :test do\n  gem \"rspec-rails\"\nend\ngem('sidekiq')\n",
        {"rails", "rspec-rails", "sidekiq"},
    ),
    (
        "Gemfile.lock",
        b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.0)\n      rack-test (>= 1)\n    lograge (0.14)\n\nPLATFORMS\n  ruby\n",
        {"rack", "lograge"},
    ),
    (
        "mix.exs",
        b'defmodule App.MixProject do\n  def project, do: [deps: deps()]\n  defp deps do\n    [\n      {:phoenix, "~> 1.7"},\n      # {:commented, "1"},\n      {:oban, "~> 2.17"}, {:prom_ex, "~> 1.9"},\n      {:credo, "~> 1.7", only: [:dev], runtime: false}\n    ]\n  end\nend\n',
        {"phoenix", "oban", "prom_ex", "credo"},
    ),
    (
        "mix.lock",
        b'%{\n  "plug_attack": {:hex, :plug_attack, "0.4.3"},\n  "sentry": {:hex, :sentry, "10.0.0"},\n}\n',
        {"plug_attack", "sentry"},
    ),
    (
        "go.mod",
        b"module example.com/svc\n\ngo 1.22\n\nrequire github.com/prometheus/client_golang v1.19.0\nrequire (\n\tgithub.com/redis/go-redis/v9 v9.5.1 // indirect\n\tgo.uber.org/zap v1.27.0\n)\n",
        {"github.com/prometheus/client_golang", "go.uber.org/zap"},  # `// indirect`: not this module's choice
    ),
    (
        "Cargo.toml",
        b'[package]\nname = "svc"\n[dependencies]\ntokio = { version = "1", features = ["full"] }\ntracing_subscriber = "0.3"\nmetrics = { package = "metrics-exporter-prometheus", version = "0.15" }\n[target.\'cfg(unix)\'.dependencies]\nnix = "0.28"\n[dev-dependencies]\ninsta = "1"\n',
        {"tokio", "tracing-subscriber", "metrics-exporter-prometheus", "nix", "insta"},
    ),
    (
        "pom.xml",
        b'<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0"><dependencies><dependency><groupId>io.micrometer</groupId><artifactId>micrometer-registry-prometheus</artifactId></dependency></dependencies><build><plugins><plugin><groupId>org.jacoco</groupId><artifactId>jacoco-maven-plugin</artifactId></plugin></plugins></build></project>',
        {"io.micrometer:micrometer-registry-prometheus", "org.jacoco:jacoco-maven-plugin"},
    ),
    (
        "app/build.gradle.kts",
        b'dependencies {\n    implementation("org.springframework.boot:spring-boot-starter-actuator")\n    // implementation("x:commented:1")\n    testImplementation(platform("org.junit:junit-bom:5.10.0"))\n}\n',
        {"org.springframework.boot:spring-boot-starter-actuator", "org.junit:junit-bom"},
    ),
    (
        "build.gradle",
        b"dependencies {\n  implementation 'io.sentry:sentry:7.0.0'\n  runtimeOnly group: 'org.flywaydb', name: 'flyway-core', version: '10'\n}\n",
        {"io.sentry:sentry", "org.flywaydb:flyway-core"},
    ),
    (
        "gradle/libs.versions.toml",
        b'[libraries]\nktor-server = { module = "io.ktor:ktor-server-core", version.ref = "ktor" }\nlogback = "ch.qos.logback:logback-classic:1.5"\nflyway = { group = "org.flywaydb", name = "flyway-core" }\n',
        {"io.ktor:ktor-server-core", "ch.qos.logback:logback-classic", "org.flywaydb:flyway-core"},
    ),
    (
        "composer.json",
        b'{"require": {"php": "^8.2", "ext-json": "*", "laravel/framework": "^11"}, "require-dev": {"phpunit/phpunit": "^11"}}',
        {"laravel/framework", "phpunit/phpunit"},
    ),
    (
        "src/Api/Api.csproj",
        b'<Project Sdk="Microsoft.NET.Sdk.Web"><ItemGroup><PackageReference Include="Serilog.AspNetCore" Version="8.0.0" /><PackageReference Include="AspNetCore.HealthChecks.UI" /></ItemGroup></Project>',
        {"serilog.aspnetcore", "aspnetcore.healthchecks.ui"},
    ),
    (
        "Directory.Packages.props",
        b'<Project><ItemGroup><PackageVersion Include="OpenTelemetry.Extensions.Hosting" Version="1.8.0" /></ItemGroup></Project>',
        {"opentelemetry.extensions.hosting"},
    ),
]


@pytest.mark.parametrize(("path", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_ecosystem_manifest_yields_its_declared_packages(
    path: str, data: bytes, expected: set[str]
) -> None:
    manifest = parse_manifest(path, data)
    assert manifest is not None and manifest.warning is None
    assert set(manifest.packages) == expected


MALFORMED = [
    ("pyproject.toml", b"[project\ndependencies = ["),
    ("package.json", b'{"dependencies": '),
    ("package.json", b"[1, 2]"),
    ("pom.xml", b"<project><dependencies>"),
    ("x.csproj", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Project>&a;</Project>'),  # entities refused
    ("Cargo.toml", b"[dependencies\ntokio = 1"),
    ("composer.json", b"\xff\xfe not utf-8"),
    ("pnpm-lock.yaml", b"importers: [unclosed"),
    ("gradle/libs.versions.toml", b'[libraries]\njunit = { module = "org.junit.jupiter:junit-jupiter"'),
    ("pom.xml", b"<project><dependencies><dependency><scope>test</scope></dependency>"),
]


@pytest.mark.parametrize(("path", "data"), MALFORMED, ids=[f"{p}-{i}" for i, (p, _) in enumerate(MALFORMED)])
def test_a_malformed_manifest_is_evidence_free_with_a_warning(path: str, data: bytes) -> None:
    manifest = parse_manifest(path, data)
    assert manifest is not None
    assert manifest.packages == {}
    assert manifest.warning is not None and path in manifest.warning


def test_names_are_normalised_the_way_each_registry_compares_them() -> None:
    assert (
        normalise("pypi", "Prometheus_Client")
        == normalise("pypi", "prometheus.client")
        == "prometheus-client"
    )
    assert normalise("npm", "@Sentry/Node") == "@sentry/node"
    assert normalise("go", "github.com/redis/go-redis/v9") == "github.com/redis/go-redis"
    assert normalise("maven", "IO.Micrometer:Micrometer-Core") == "io.micrometer:micrometer-core"
    assert normalise("cargo", "tracing_subscriber") == "tracing-subscriber"


def snap(files: dict[str, bytes]) -> RepoSnapshot:
    return RepoSnapshot(paths=sorted(files), read=files.get)


def verdict(rule, files: dict[str, bytes], scopes: Scopes | None = None):
    item = Item("i", "I", "why", rule=rule)
    template = Template("t", "T", 1, None, None, (Section("s", "S", (item,)),), "t.yaml")
    return evaluate(compile_checklist(template), snap(files), scopes=scopes)["i"]


def test_dependency_rule_names_manifest_line_and_package_and_matches_exact_names() -> None:
    files = {"services/api/pyproject.toml": PYPROJECT, "requirements.txt": b"django-redis\n"}
    found = verdict(Dependency("pypi", ("prometheus-client",)), files)
    assert found.passed and found.evidence == ("`services/api/pyproject.toml:4`: Prometheus_Client",)
    assert not verdict(
        Dependency("pypi", ("go-redis", "redis-py")), {"requirements.txt": b"django-redis\n"}
    ).passed
    go_mod = {
        "go.mod": CASES[13][1].replace(b"go.uber.org/zap v1.27.0", b"github.com/redis/go-redis/v9 v9.5.1")
    }
    assert verdict(Dependency("any", ("github.com/redis/go-redis",)), go_mod).passed
    # a `// indirect` requirement is another module's dependency: no evidence of this one's choice
    assert not verdict(Dependency("go", ("github.com/redis/go-redis",)), {"go.mod": CASES[13][1]}).passed
    assert verdict(Dependency("maven", ("io.micrometer:*",)), {"pom.xml": CASES[15][1]}).passed


def test_dependency_rule_ignores_manifests_of_tests_and_examples_and_reports_malformed_ones() -> None:
    files = {"examples/demo/package.json": b'{"dependencies": {"helmet": "1"}}', "package.json": b"{oops"}
    result = verdict(Dependency("npm", ("helmet",)), files)
    assert not result.passed
    assert result.warnings and "package.json" in result.warnings[0]
    assert verdict(Dependency("npm", ("helmet",), scope="any"), files).passed


def test_contains_scope_code_skips_benchmarks_and_tests_and_prefers_code_over_config() -> None:
    files = {
        "bench/webhooks.py": b"os.kill(pid, signal.SIGTERM)\n",
        "tests/store/test_db.py": b"url = 'postgres://x?sslmode=require'\n",
        "deploy/app.yaml": b"env: sslmode=require\n",
        "app/db.py": b"\n\nconnect(sslmode='require')\n",
    }
    assert not verdict(Contains(("*.py",), "SIGTERM", scope="code"), files).passed
    best = verdict(Contains(("*.py", "*.yaml"), "sslmode", scope="code"), files)
    assert best.evidence == ("`app/db.py:3` matches `sslmode`",)
    tests_only = verdict(Contains(("*.py",), "sslmode", scope="tests"), files)
    assert tests_only.evidence[0].startswith("`tests/store/test_db.py:1`")


def test_scopes_can_be_extended_from_the_repository_config() -> None:
    files = {"qa/check.py": b"SIGTERM\n"}
    assert verdict(Contains(("*.py",), "SIGTERM", scope="code"), files).passed
    custom = Scopes.from_config({"tests": ["qa/"]})
    assert not verdict(Contains(("*.py",), "SIGTERM", scope="code"), files, custom).passed


# the shape Spring Initializr generates: starters, a test starter, a provided servlet API
SPRING_POM = b"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.3.0</version>
  </parent>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
    <dependency>
      <groupId>io.micrometer</groupId>
      <artifactId>micrometer-registry-prometheus</artifactId>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>jakarta.servlet</groupId>
      <artifactId>jakarta.servlet-api</artifactId>
      <scope>provided</scope>
    </dependency>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-test</artifactId>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>io.sentry</groupId>
      <artifactId>sentry-spring-boot-starter-jakarta</artifactId>
      <version>7.9.0</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
</project>
"""


def test_maven_test_scope_is_not_a_production_dependency_but_provided_and_runtime_are() -> None:
    sentry = Dependency("maven", ("io.sentry:*",))
    assert not verdict(sentry, {"pom.xml": SPRING_POM}).passed
    # a tooling item (scope: any) still sees what the tests use
    assert verdict(Dependency("maven", ("io.sentry:*",), scope="any"), {"pom.xml": SPRING_POM}).passed
    assert verdict(
        Dependency("maven", ("jakarta.servlet:jakarta.servlet-api",)), {"pom.xml": SPRING_POM}
    ).passed
    assert verdict(Dependency("maven", ("io.micrometer:*",)), {"pom.xml": SPRING_POM}).passed
    # declared for tests in one module and for production in another: production
    app = SPRING_POM.replace(
        b"<version>7.9.0</version>\n      <scope>test</scope>", b"<version>7.9.0</version>"
    )
    assert verdict(sentry, {"pom.xml": SPRING_POM, "app/pom.xml": app}).passed


GRADLE_KTS = b"""plugins {
    id("org.springframework.boot") version "3.3.0"
    kotlin("jvm") version "2.0.0"
}

dependencies {
    implementation("org.springframework.boot:spring-boot-starter-web")
    implementation(libs.ktor.server.core)
    testImplementation("org.springframework.boot:spring-boot-starter-test")
    testImplementation(libs.bundles.kotest)
    testRuntimeOnly("org.junit.platform:junit-platform-launcher")
    testFixturesImplementation("io.sentry:sentry:7.9.0")
    androidTestImplementation("io.opentelemetry:opentelemetry-api:1.38.0")
    integrationTestImplementation(libs.testcontainers.postgresql)
    kaptTest("com.google.dagger:dagger-compiler:2.51")
}
"""

CATALOG = b"""[versions]
ktor = "2.3.11"

[libraries]
ktor-server-core = { module = "io.ktor:ktor-server-core", version.ref = "ktor" }
testcontainers_postgresql = "org.testcontainers:postgresql:1.19.8"
kotest-runner = { group = "io.kotest", name = "kotest-runner-junit5", version = "5.9.0" }
flyway = { module = "org.flywaydb:flyway-core", version = "10.15.0" }

[bundles]
kotest = ["kotest-runner"]
"""


def test_gradle_test_configurations_are_not_production_dependencies() -> None:
    files = {"build.gradle.kts": GRADLE_KTS}
    for name in ("io.sentry:sentry", "io.opentelemetry:*", "com.google.dagger:*", "org.junit.platform:*"):
        assert not verdict(Dependency("maven", (name,)), files).passed, name
        assert verdict(Dependency("maven", (name,), scope="any"), files).passed, name
    assert verdict(Dependency("maven", ("org.springframework.boot:spring-boot-starter-web",)), files).passed
    groovy = b"dependencies {\n  testImplementation 'io.sentry:sentry:7'\n  implementation 'io.sentry:sentry:7'\n}\n"
    assert verdict(Dependency("maven", ("io.sentry:sentry",)), {"build.gradle": groovy}).passed


def test_a_version_catalog_library_used_only_by_test_configurations_is_not_production() -> None:
    files = {"build.gradle.kts": GRADLE_KTS, "gradle/libs.versions.toml": CATALOG}
    for name in ("org.testcontainers:postgresql", "io.kotest:kotest-runner-junit5"):  # via a bundle too
        assert not verdict(Dependency("maven", (name,)), files).passed, name
        assert verdict(Dependency("maven", (name,), scope="any"), files).passed, name
    assert verdict(Dependency("maven", ("io.ktor:ktor-server-core",)), files).passed
    # referenced by no build file: nothing says it is for tests, so it counts as declared
    assert verdict(Dependency("maven", ("org.flywaydb:flyway-core",)), files).passed
    # a catalog alone (no build file read) tells what the project declares
    assert verdict(
        Dependency("maven", ("org.testcontainers:postgresql",)), {"gradle/libs.versions.toml": CATALOG}
    ).passed
    # a second module using the alias in production makes it a production dependency
    app = b"dependencies {\n    implementation(libs.testcontainers.postgresql)\n}\n"
    assert verdict(
        Dependency("maven", ("org.testcontainers:postgresql",)), {**files, "app/build.gradle.kts": app}
    ).passed

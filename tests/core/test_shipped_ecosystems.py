"""The shipped templates recognise each major ecosystem's idioms, and only in production code.

Each tree is a small, real-shaped service of one ecosystem (manifest, framework files, the idiom in
the place that framework puts it). A concept "ticks" when any of its template items passes, as in
bench/evidence_quality.py; the concept-to-items map is the labelled set's own
(bench/evidence/concepts.yaml), so these tests and the evaluation judge the same thing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from bot.core.rules import compile_checklist, evaluate_many
from bot.core.snapshot import RepoSnapshot
from bot.resources import load_shipped

CONCEPTS = Path(__file__).resolve().parents[2] / "bench" / "evidence" / "concepts.yaml"


@cache
def _compiled() -> tuple:
    return tuple(compile_checklist(t) for t in load_shipped().values())


@cache
def _concept_items() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(CONCEPTS.read_text())
    return {name: tuple(c["items"]) for name, c in data.items()}


def concepts(tree: dict[str, str]) -> set[str]:
    """The concepts a reader of the checklists would see ticked for this tree."""
    files = {path: text.encode() for path, text in tree.items()}
    snap = RepoSnapshot(paths=sorted(files), read=files.get)
    compiled = _compiled()
    passed = {
        f"{c.template_id}/{item}"
        for c, verdicts in zip(compiled, evaluate_many(compiled, snap), strict=True)
        for item, v in verdicts.items()
        if v.passed
    }
    return {name for name, items in _concept_items().items() if passed & set(items)}


ELIXIR = {
    "mix.exs": """defmodule Hexlike.MixProject do
  use Mix.Project
  def project, do: [app: :hexlike, deps: deps(), test_coverage: [tool: ExCoveralls]]
  defp deps do
    [
      {:phoenix, "~> 1.7"},
      {:ecto_sql, "~> 3.11"},
      {:oban, "~> 2.17"},
      {:sentry, "~> 10.0"},
      {:prom_ex, "~> 1.9"},
      {:plug_attack, "~> 0.4"},
      {:corsica, "~> 2.1"},
      {:excoveralls, "~> 0.18", only: :test}
    ]
  end
end
""",
    "mix.lock": '%{\n  "oban": {:hex, :oban, "2.17.0"},\n}\n',
    "config/runtime.exs": 'import Config\nconfig :hexlike, Hexlike.Repo, url: System.fetch_env!("DATABASE_URL")\n',
    "lib/hexlike_web/endpoint.ex": 'defmodule HexlikeWeb.Endpoint do\n  plug Corsica, origins: "*"\nend\n',
    "lib/hexlike_web/plugs/status.ex": 'defmodule HexlikeWeb.Plugs.Status do\n  def call(%Plug.Conn{path_info: ["status"]} = conn, _), do: send_resp(conn, 200, "ok")\nend\n',
    "priv/repo/migrations/20240101000000_create_users.exs": "defmodule Hexlike.Repo.Migrations.CreateUsers do\n  use Ecto.Migration\nend\n",
    "priv/repo/seeds.exs": 'Hexlike.Repo.insert!(%Hexlike.User{name: "admin"})\n',
    "test/hexlike/user_test.exs": "defmodule Hexlike.UserTest do\n  use ExUnit.Case\nend\n",
}

GO = {
    "go.mod": """module example.com/orders

go 1.22

require (
\tgithub.com/prometheus/client_golang v1.19.0
\tgithub.com/rs/cors v1.11.0
\tgithub.com/golang-jwt/jwt/v5 v5.2.0
\tgolang.org/x/time v0.5.0 // indirect
\tgithub.com/redis/go-redis/v9 v9.5.1 // indirect
)
""",
    "go.sum": "github.com/rs/cors v1.11.0 h1:abc=\n",
    "cmd/orders/main.go": """package main

func main() {
\tmux := http.NewServeMux()
\tmux.HandleFunc("/healthz", healthz)
\tdsn := os.Getenv("DATABASE_URL")
\tstop := make(chan os.Signal, 1)
\tsignal.Notify(stop, syscall.SIGTERM)
\tclient := &http.Client{Timeout: 5 * time.Second}
}
""",
    "internal/orders/service_test.go": "package orders\n\nfunc TestCreate(t *testing.T) {}\n",
}

RUST = {
    "Cargo.toml": """[package]
name = "realworld"
[dependencies]
axum = "0.7"
sqlx = { version = "0.7", features = ["postgres"] }
tower_governor = "0.4"
sentry = "0.32"
utoipa = "4"
jsonwebtoken = "9"
""",
    "Cargo.lock": '[[package]]\nname = "axum"\nversion = "0.7.5"\n',
    "src/main.rs": """#[tokio::main]
async fn main() {
    let pool = PgPoolOptions::new().max_connections(50).connect(&url).await?;
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
}
""",
    "migrations/20240101_create_users.sql": "CREATE TABLE users (id BIGSERIAL PRIMARY KEY);\n",
    "tests/api.rs": "#[tokio::test]\nasync fn creates_a_user() {}\n",
}

PHP = {
    "composer.json": """{"require": {"php": "^8.2", "laravel/framework": "^11.0", "laravel/sanctum": "^4.0",
  "sentry/sentry-laravel": "^4.0", "darkaonline/l5-swagger": "^8.0"},
 "require-dev": {"phpunit/phpunit": "^11.0", "larastan/larastan": "^2.0"}}
""",
    "composer.lock": '{"packages": [{"name": "laravel/framework"}]}\n',
    "bootstrap/app.php": "<?php\nreturn Application::configure()->withRouting(api: __DIR__.'/../routes/api.php', health: '/up');\n",
    "routes/api.php": "<?php\nRoute::middleware(['auth:sanctum', 'throttle:60,1'])->group(function () {});\n",
    "app/Jobs/ScanLibrary.php": "<?php\nclass ScanLibrary implements ShouldQueue\n{\n}\n",
    "app/Models/Song.php": "<?php\nuse Illuminate\\Database\\Eloquent\\Model;\nclass Song extends Model {}\n",
    "config/app.php": "<?php\nreturn ['name' => env('APP_NAME', 'Koel')];\n",
    "database/migrations/2024_01_01_000000_create_songs_table.php": "<?php\nreturn new class extends Migration {};\n",
    "database/seeders/DatabaseSeeder.php": "<?php\nclass DatabaseSeeder extends Seeder {}\n",
    "tests/Feature/SongTest.php": "<?php\nclass SongTest extends TestCase {}\n",
}

CSHARP = {
    "src/PublicApi/PublicApi.csproj": """<Project Sdk="Microsoft.NET.Sdk.Web"><ItemGroup>
<PackageReference Include="Swashbuckle.AspNetCore" />
<PackageReference Include="Microsoft.AspNetCore.Authentication.JwtBearer" />
<PackageReference Include="Serilog.AspNetCore" />
<PackageReference Include="Microsoft.EntityFrameworkCore.SqlServer" />
<PackageReference Include="Polly" />
</ItemGroup></Project>
""",
    "Directory.Packages.props": '<Project><ItemGroup><PackageVersion Include="Polly" Version="8.0.0" /></ItemGroup></Project>\n',
    "src/PublicApi/Program.cs": """var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHealthChecks();
builder.Services.AddCors(o => o.AddPolicy("web", p => p.WithOrigins("https://shop.example")));
builder.Services.AddMemoryCache();
var app = builder.Build();
app.MapHealthChecks("/health");
""",
    "src/Infrastructure/Data/Migrations/20240101_Initial.cs": "public partial class Initial : Migration {}\n",
    "src/Infrastructure/Data/CatalogContextSeed.cs": "public class CatalogContextSeed { public static async Task SeedAsync(CatalogContext c) {} }\n",
    "tests/UnitTests/BasketTests.cs": "public class BasketTests { [Fact] public void AddsItem() {} }\n",
}

JAVA = {
    "pom.xml": """<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0"><dependencies>
<dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-actuator</artifactId></dependency>
<dependency><groupId>io.micrometer</groupId><artifactId>micrometer-registry-prometheus</artifactId></dependency>
<dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-data-jpa</artifactId></dependency>
<dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-cache</artifactId></dependency>
</dependencies><build><plugins>
<plugin><groupId>org.jacoco</groupId><artifactId>jacoco-maven-plugin</artifactId></plugin>
<plugin><artifactId>maven-checkstyle-plugin</artifactId></plugin>
</plugins></build></project>
""",
    "src/main/resources/db/migration/V1__init.sql": "CREATE TABLE owners (id INT PRIMARY KEY);\n",
    "src/main/resources/db/h2/data.sql": "INSERT INTO owners VALUES (1);\n",
    "src/test/java/org/example/OwnerControllerTests.java": "class OwnerControllerTests {}\n",
}

RUBY = {
    "Gemfile": 'source "https://rubygems.org"\ngem "rails", "~> 7.1"\ngem "sidekiq"\ngem "rack-attack"\ngem "sentry-ruby"\ngem "lograge"\ngroup :test do\n  gem "simplecov", require: false\nend\n',
    "Gemfile.lock": "GEM\n  specs:\n    sidekiq (7.2.0)\n\nDEPENDENCIES\n  sidekiq\n",
    "app/models/story.rb": "class Story < ApplicationRecord\nend\n",
    "app/jobs/application_job.rb": "class ApplicationJob < ActiveJob::Base\n  # Automatically retry jobs that encountered a deadlock\n  # retry_on ActiveRecord::Deadlocked\nend\n",
    "db/migrate/20240101000000_create_stories.rb": "class CreateStories < ActiveRecord::Migration[7.1]\nend\n",
    "db/seeds.rb": 'User.create!(username: "test")\n',
    "spec/spec_helper.rb": "require 'simplecov'\nSimpleCov.start 'rails'\n",
    "spec/models/story_spec.rb": "RSpec.describe Story do\nend\n",
}

PYTHON = {
    "backend/pyproject.toml": """[project]
name = "app"
dependencies = ["fastapi>=0.110", "sqlmodel", "sentry-sdk[fastapi]", "structlog", "alembic"]
[tool.coverage.run]
source = ["app"]
""",
    "backend/uv.lock": 'version = 1\n[[package]]\nname = "fastapi"\n',
    "backend/app/initial_data.py": "def init() -> None:\n    with Session(engine) as session:\n        init_db(session)\n",
    "backend/app/core/ratelimit.py": """class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.tokens = rate, burst
""",
    "backend/app/api/routes/login.py": """from app.core.ratelimit import TokenBucket

login_bucket = TokenBucket(rate=1, burst=5)

@router.post("/login/access-token")
def login(form: OAuth2PasswordRequestForm = Depends()):
    if not login_bucket.take(form.username):
        raise HTTPException(status_code=429)
""",
    "backend/app/core/config.py": 'class Settings(BaseSettings):\n    API_V1_STR: str = "/api/v1"\n',
    "backend/app/alembic/versions/e2412789c190_initialize_models.py": '"""Initialize models."""\n',
    "backend/app/tests/api/test_login.py": "def test_login(client):\n    assert client.post('/login').status_code == 200\n",
}

TYPESCRIPT = {
    "package.json": """{"name": "api", "scripts": {"test": "jest", "seed": "ts-node scripts/seed-data.ts"},
 "dependencies": {"express": "^4.19", "helmet": "^7.1", "cors": "^2.8", "pino": "^9.0", "bullmq": "^5.0",
  "@prisma/client": "^5.0", "express-rate-limit": "^7.0"},
 "devDependencies": {"jest": "^29.0", "eslint": "^9.0"}}
""",
    "package-lock.json": '{"lockfileVersion": 3, "packages": {"": {"name": "api"}}}\n',
    "jest.config.js": "module.exports = { collectCoverage: true, testEnvironment: 'node' };\n",
    "scripts/seed-data.ts": "async function main() { await prisma.user.create({ data: { email: 'a@b.c' } }); }\n",
    "src/server.ts": """const server = app.listen(port);
app.use('/v1', routes);
process.on('SIGTERM', () => server.close());
""",
    "prisma/schema.prisma": 'datasource db {\n  provider = "postgresql"\n}\n',
    "src/app.test.ts": "test('boots', () => {});\n",
}


def names(text: str) -> set[str]:
    return set(text.split())


CASES = {
    "elixir": (
        ELIXIR,
        names(
            "background_jobs error_tracking metrics rate_limiting cors migrations seed_data unit_tests orm health_endpoint env_config coverage dependency_locking"
        ),
    ),
    "go": (
        GO,
        names(
            "metrics cors authentication graceful_shutdown health_endpoint env_config external_timeouts unit_tests dependency_locking"
        ),
    ),
    "rust": (
        RUST,
        names(
            "orm rate_limiting error_tracking api_docs authentication connection_pool graceful_shutdown dependency_locking migrations unit_tests"
        ),
    ),
    "php": (
        PHP,
        names(
            "authentication error_tracking api_docs rate_limiting background_jobs migrations seed_data health_endpoint orm env_config linting unit_tests dependency_locking"
        ),
    ),
    "csharp": (
        CSHARP,
        names(
            "api_docs authentication structured_logging retries health_endpoint cors caching orm migrations seed_data unit_tests dependency_locking"
        ),
    ),
    "java": (
        JAVA,
        names("health_endpoint metrics orm caching coverage linting migrations seed_data unit_tests"),
    ),
    "ruby": (
        RUBY,
        names(
            "background_jobs rate_limiting error_tracking structured_logging orm dependency_locking migrations seed_data unit_tests coverage"
        ),
    ),
    "python": (
        PYTHON,
        names(
            "api_docs orm error_tracking structured_logging coverage seed_data rate_limiting migrations unit_tests dependency_locking api_versioning env_config"
        ),
    ),
    "typescript": (
        TYPESCRIPT,
        names(
            "security_headers cors structured_logging background_jobs orm coverage seed_data graceful_shutdown rate_limiting linting unit_tests dependency_locking api_versioning"
        ),
    ),
}


@pytest.mark.parametrize("ecosystem", sorted(CASES))
def test_each_ecosystem_idiom_ticks_its_concept(ecosystem: str) -> None:
    tree, expected = CASES[ecosystem]
    missing = expected - concepts(tree)
    assert not missing, f"{ecosystem}: these concepts did not tick from their idiom: {sorted(missing)}"


def test_idioms_in_tests_benchmarks_examples_and_docs_are_no_evidence() -> None:
    tree = {
        "go.mod": "module example.com/lib\n\ngo 1.22\n",
        "client.go": "package lib\n\n// Client sends requests.\ntype Client struct{}\n",
        "bench/webhooks.py": "proc.send_signal(signal.SIGTERM)\nhttpx.post(url, timeout=3)\n",
        "tests/store/test_db.py": 'URL = "postgresql://db/app?sslmode=require"\nclient.get("/healthz")\n',
        "examples/server/main.go": 'http.HandleFunc("/healthz", ok)\nsignal.Notify(c, syscall.SIGTERM)\n',
        "docs/deploying.md": "Call `/healthz` and send SIGTERM to stop; we use `@app.task` and `sentry_sdk.init(`.\n",
        "compose.yaml": "services:\n  db:\n    image: mysql:8\n    healthcheck:\n      test: mysqladmin ping\n      timeout: 10s\n",
        "examples/app/package.json": '{"dependencies": {"express-rate-limit": "^7", "pino": "^9", "@sentry/node": "^8"}}',
    }
    found = concepts(tree)
    wrong = found & {
        "graceful_shutdown",
        "external_timeouts",
        "health_endpoint",
        "background_jobs",
        "error_tracking",
        "rate_limiting",
        "structured_logging",
    }
    assert not wrong, f"ticked from tests, benchmarks, examples or docs: {sorted(wrong)}"


def test_near_misses_of_each_class_do_not_tick() -> None:
    tree = {
        # a text logger that can emit JSON is no structured logging until configured so
        "go.mod": "module example.com/svc\n\ngo 1.22\n\nrequire github.com/sirupsen/logrus v1.9.3\n",
        "package.json": '{"dependencies": {"winston": "^3.11"}}',
        # a client library retrying on 429 does not limit anyone's requests
        "source/retry.ts": "// Retry on 429 (rate limit) but only for the first 2 attempts\nif (status === 429) {}\n",
        # framework boilerplate, commented out
        "app/jobs/application_job.rb": "class ApplicationJob < ActiveJob::Base\n  # retry_on ActiveRecord::Deadlocked\nend\n",
        "config/environments/production.rb": '  # config.silence_healthcheck_path = "/up"\n',
        # prose about shutdown in a library's comments
        "src/retry.rs": "//! Budgets avoid retry storms during a graceful shutdown of the server.\n",
        # the versioned API a service calls is not its own API's version
        "app/platforms/github.py": 'BASE = "https://ghe.example/api/v3"\nresp = client.get("/v3/repos")\n',
        # a library's troubleshooting page is no operations guide
        "docs/troubleshooting.md": "# Troubleshooting\n\nIf a proxy refuses the connection...\n",
    }
    found = concepts(tree)
    wrong = found & {
        "structured_logging",
        "rate_limiting",
        "retries",
        "health_endpoint",
        "graceful_shutdown",
        "runbooks",
        "api_versioning",
    }
    assert not wrong, f"near misses ticked: {sorted(wrong)}"


def test_operations_docs_and_hand_written_limits_tick_by_content() -> None:
    tree = {
        "Dockerfile": "FROM python:3.12\n",
        "docs/handbook.md": "# Handbook\n\n## On-call\n\nPage the secondary after 15 minutes.\n",
        "app/auth/login.py": "bucket = TokenBucket(rate=1, burst=5)\n",
        "app/management/commands/populatedb.py": "class Command(BaseCommand):\n    help = 'Fill the database'\n",
    }
    assert {"runbooks", "rate_limiting", "seed_data"} <= concepts(tree)


def test_a_library_without_its_lock_file_is_not_locked_by_a_docs_lock_file() -> None:
    tree = {
        "Gemfile": 'source "https://rubygems.org"\ngemspec\n',
        "faraday.gemspec": 'Gem::Specification.new { |s| s.add_dependency "net-http" }\n',
        "package.json": '{"devDependencies": {"vuepress": "^2"}}',
        "package-lock.json": '{"lockfileVersion": 3, "packages": {}}',
    }
    assert "dependency_locking" not in concepts(tree)

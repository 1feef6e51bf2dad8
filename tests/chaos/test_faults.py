"""The Faults suite: seeded runs of the whole bot through faults must end as a clean run does.

Each seed plays a story (pushes, CI results, a person's ticks, `/readiness` commands) once with
no faults and once through redelivery, duplicates, reordering, 5xx, timeouts, rate limits, an
expired token (GitHub only: GitLab has no installation tokens), dropped database connections
and worker kills (see `chaos.driver`), on GitHub and on GitLab; the issues, boxes, bodies,
links or child tasks and the bot's comments must be the same, and no delivery may be left.
`bench/chaos.py --platform both --seeds N` runs many more seeds; a seed that ever failed is
pinned in REGRESSIONS. GitLab seeds are fewer: its client works in threads and a seed takes
about twice as long (CI runs the suite on SQLite and PostgreSQL within its budget).
"""

from __future__ import annotations

import pytest

from chaos.driver import PLATFORMS, run_seed

CI_SEEDS = {"github": range(1, 7), "gitlab": range(1, 5)}
REGRESSIONS: dict[str, tuple[int, ...]] = {"github": (), "gitlab": ()}
CASES = [
    pytest.param(platform, seed, id=f"{platform}-{seed}")
    for platform in PLATFORMS
    for seed in [*CI_SEEDS[platform], *REGRESSIONS[platform]]
]


@pytest.mark.parametrize(("platform", "seed"), CASES)
async def test_a_run_through_faults_ends_as_a_clean_run(
    db_url: str, rsa_pair: tuple[str, str], platform: str, seed: int
) -> None:
    outcome = await run_seed(db_url, rsa_pair, seed, platform=platform)
    assert outcome.passed, (
        f"{platform} seed {seed} (faults {outcome.faults}, {outcome.lives} worker lives):\n"
        + "\n".join(outcome.problems)
    )

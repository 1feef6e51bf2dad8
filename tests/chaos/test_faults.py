"""The Faults suite: seeded runs of the whole bot through faults must end as a clean run does.

Each seed plays a story (pushes, CI results, a person's ticks, `/readiness` commands) once with
no faults and once through redelivery, duplicates, reordering, 5xx, timeouts, rate limits, an
expired token, dropped database connections and worker kills (see `chaos.driver`); the issues,
boxes, bodies, links and the bot's comments must be the same, and no delivery may be left.
`bench/chaos.py --seeds N` runs many more seeds; a seed that ever failed is pinned in REGRESSIONS.
"""

from __future__ import annotations

import pytest

from chaos.driver import run_seed

CI_SEEDS = range(1, 7)
REGRESSIONS: tuple[int, ...] = ()


@pytest.mark.parametrize("seed", [*CI_SEEDS, *REGRESSIONS])
async def test_a_run_through_faults_ends_as_a_clean_run(
    db_url: str, rsa_pair: tuple[str, str], seed: int
) -> None:
    outcome = await run_seed(db_url, rsa_pair, seed)
    assert outcome.passed, (
        f"seed {seed} (faults {outcome.faults}, {outcome.lives} worker lives):\n"
        + "\n".join(outcome.problems)
    )

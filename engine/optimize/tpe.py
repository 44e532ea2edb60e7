"""Model-based search with Optuna's TPE sampler, batch by batch.

Our ``sweep_results`` table is the study's record: before each batch the study is rebuilt
from the combinations finished so far (in combination order, so the outcome does not depend
on which worker finished first) and the sampler, seeded with ``seed + trials so far``, is
asked for the next batch. The same seed therefore gives the same combinations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.optimize.space import Combination, ParamRange


def _distributions(space: Sequence[ParamRange]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for r in space:
        if r.step is not None and len(r.values) > 1:
            low, high = r.values[0], r.values[-1]
            if r.kind == "int":
                out[r.name] = IntDistribution(int(low), int(high), step=int(r.step))
            else:
                out[r.name] = FloatDistribution(float(low), float(high), step=float(r.step))
        else:
            out[r.name] = CategoricalDistribution(list(r.values))
    return out


def suggest(
    space: Sequence[ParamRange],
    history: Sequence[tuple[Combination, float | None]],
    n: int,
    *,
    seed: int,
    maximize: bool,
) -> list[Combination]:
    """The next ``n`` combinations given ``history`` (params and objective value; None for a
    combination without a value, told to the study as failed)."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = _distributions(space)
    sampler = optuna.samplers.TPESampler(seed=seed + len(history), constant_liar=True)
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler)
    for params, value in history:
        wanted = {k: v for k, v in params.items() if k in distributions}
        if value is None or value != value or value in (float("inf"), float("-inf")):
            study.add_trial(
                create_trial(params=wanted, distributions=distributions, state=TrialState.FAIL)
            )
        else:
            study.add_trial(
                create_trial(params=wanted, distributions=distributions, value=float(value))
            )
    out: list[Combination] = []
    for _ in range(n):
        trial = study.ask(distributions)
        combo: Combination = {}
        for r in space:
            value = trial.params[r.name]
            combo[r.name] = int(value) if r.kind == "int" else round(float(value), 12)
        out.append(combo)
    return out

"""Optional planted effects on the synthetic cohort's cycle lengths (all off by default).

``synthetic_cohort.cycle_effects`` (absent or all zero: the cohort is byte-identical to the one
without this module, because every draw here comes from its own random stream seeded by
``[seed, 15]`` and a zero shift adds exactly 0.0):

* ``steps_days_per_1000`` — a woman's mean cycle length moves by this many days per 1,000 mean
  daily steps above ``mean_steps`` (e.g. -1.0: more active women have shorter cycles).
* ``p4_cycle_sd`` and ``p4_next_days_per_sd`` — each cycle's P4 level is multiplied by
  ``exp(p4_cycle_sd * z)``, ``z ~ N(0, 1)`` (mostly visible in the luteal phase, where P4 is
  high), and the *next* cycle's length moves by ``p4_next_days_per_sd * z`` days.
* ``long_cycle_share`` and ``long_cycle_extra`` — with this probability a cycle gets
  ``U(long_cycle_extra)`` extra days (a late or absent ovulation: the follicular phase is
  longer), giving the heavy tail of real cohorts. ``cycle_range`` must allow the long lengths.

:class:`CycleEffects` is built once per cohort; the generator asks it for a woman-level mean
shift, a per-cycle length shift and a per-cycle P4 factor. ``planted_shift`` (the cycle-level
part of the shift, known only to the generator) is exposed so that an oracle forecast can show
how much a perfect learner of the planted effect would gain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EFFECT_KEYS = (
    "steps_days_per_1000",
    "p4_cycle_sd",
    "p4_next_days_per_sd",
    "long_cycle_share",
)


class CycleEffects:
    """Planted effects of one cohort: shifts and factors per (woman, cycle), zero when off."""

    def __init__(self, params: dict[str, Any], women: pd.DataFrame) -> None:
        fx = dict(params.get("cycle_effects") or {})
        self.enabled = any(float(fx.get(k, 0.0)) != 0.0 for k in EFFECT_KEYS)
        self.exogenous = False  # steps or P4 effects planted (not only long cycles)
        n, m = len(women), int(women["n_cycles"].max()) if len(women) else 0
        self.woman_shift = np.zeros(n)
        self.cycle_shift = np.zeros((n, m + 1))
        self.carry = np.zeros((n, m + 1))
        self.p4_factor = np.ones((n, m + 1))
        if not self.enabled:
            return
        rng = np.random.default_rng([int(params["seed"]), 15])
        steps_k = float(fx.get("steps_days_per_1000", 0.0))
        self.woman_shift = steps_k * (women["mean_steps"].to_numpy() - params["mean_steps"]) / 1000
        z = rng.standard_normal((n, m + 1))
        self.p4_factor = np.exp(float(fx.get("p4_cycle_sd", 0.0)) * z)
        self.carry[:, 2:] = float(fx.get("p4_next_days_per_sd", 0.0)) * z[:, 1:-1]
        share = float(fx.get("long_cycle_share", 0.0))
        lo, hi = fx.get("long_cycle_extra", [20, 70])
        long = rng.random((n, m + 1)) < share
        extra = np.where(long, rng.uniform(lo, hi, (n, m + 1)), 0.0)
        extra[:, 0] = 0.0  # cycle indices are 1-based: column 0 is never used
        self.cycle_shift = self.carry + extra
        self.exogenous = bool(np.any(self.woman_shift != 0) or np.any(self.carry != 0))

    def shift_women(self, women: pd.DataFrame) -> pd.DataFrame:
        """Return ``women`` with the steps effect added to ``mu_cycle`` (unchanged when off)."""
        if not self.enabled:
            return women
        return women.assign(mu_cycle=women["mu_cycle"] + self.woman_shift)

    def length_shift(self, woman: int, cycle_index: int) -> float:
        """Days added to this cycle's drawn length (P4 carry-over and long cycles; 0.0 when off)."""
        return float(self.cycle_shift[woman, cycle_index]) if self.enabled else 0.0

    def p4(self, woman: int, cycle_index: int) -> float:
        """Factor on this cycle's P4 (1.0 when off)."""
        return float(self.p4_factor[woman, cycle_index]) if self.enabled else 1.0

    def planted_shift(self, woman: int, cycle_index: int) -> float:
        """The planted part of this cycle's expected length: woman steps shift + P4 carry-over."""
        return float(self.woman_shift[woman] + self.carry[woman, cycle_index])

    def annotate(self, daily: pd.DataFrame) -> pd.DataFrame:
        """Add ``planted_shift`` when a steps or P4 effect is on (women in generation order)."""
        if not self.exogenous:
            return daily
        order = {w: i for i, w in enumerate(pd.unique(daily["woman_id"]))}
        i = daily["woman_id"].map(order).to_numpy()
        c = daily["cycle_index"].to_numpy()
        return daily.assign(planted_shift=self.woman_shift[i] + self.carry[i, c])

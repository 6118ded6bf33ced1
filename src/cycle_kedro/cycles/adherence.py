"""Skip-aware model of logged cycle lengths: every user's next start, as of any day, all at once.

The model (after Li, Urteaga et al., JAMIA 29(1):3-11, 2022, who use a Poisson cycle length with a
Gamma prior; here a Normal-Inverse-Gamma prior on a normal or lognormal cycle length). User ``u``
has a cycle-length distribution (``mu_u``, ``sigma_u^2``) and a probability ``pi_u`` of not
logging a period start. A logged gap ``x`` holds ``k = s + 1`` true cycles,
``s ~ Geometric(pi_u)`` (``P(s) = (1 - pi_u) pi_u^s``), and

* family ``normal``:    ``x | k ~ N(k mu_u, k sigma_u^2)`` (the sum of ``k`` normal cycles);
* family ``lognormal``: ``log x | k ~ N(mu_u + log k, sigma_u^2 / k)`` (the sum of ``k``
  lognormal cycles, to first order in ``sigma_u``);

with ``sigma_u^2 ~ InvGamma(a0, b0)``, ``mu_u | sigma_u^2 ~ N(m0, sigma_u^2 / kappa0)`` and
``pi_u ~ Beta(alpha, beta)``. Given the skip counts, both posteriors are conjugate; each user's
posterior is ``q(mu, sigma^2) q(pi) prod_i q(s_i)`` (NIG, Beta, categorical over ``skip_window``
consecutive skip counts per gap, centred on ``gap / typical``), found by coordinate ascent with
closed-form updates (a fixed, deterministic number of rounds). The population hyperparameters
maximise the sum over users (all of them, or a seeded sample of ``fit_max_users``) of the evidence
lower bound, which is closed form in each user's expected statistics (variational EM; every step
vectorised with ``np.bincount``, no per-user loop). ``q(s_i)`` is updated from the posterior of
the user's other gaps (Beta-geometric times Student-t predictive), which matches an exact
enumeration of the skip counts closely (tests).

Forecast of the next *logged* start, ``G`` days after the last one: ``P(s)`` is Beta-geometric and
``G | s`` is Student-t (``2a`` degrees of freedom) on the family's scale; whole days,
``P(G <= g) = P(x < g + 1/2)``. On cycle day ``d`` (days since the last logged start, none logged
since) the forecast is conditioned on ``G > d``: truncating a distribution from below can only move
its quantiles later, so no forecast is ever earlier than the day after ``as_of``. (In
:mod:`.incycle`'s terms, cycle day ``d + 1`` with ``L >= d + 1``; its ``survival_update``
truncates an empirical residual sample one woman at a time, here the truncated distribution is
the model's own, in closed form for all users at once, so that function is not reused.) Reported per user:
the median, an 80% interval (each end the whole day whose tail mass is nearest 10%), the
probability that a start has already been missed (``1 - P(first true cycle > d) / P(G > d)``: the
first true start came and was not logged) and the probability of a logged start in the next
``soon_days`` days.

:func:`logged_gap_pmf` and :func:`forecast_from_pmf` give the same summaries for a *known*
cycle-length distribution (the Bayes oracle of a generated cohort). :func:`select_family` is the
family rule (training users only). Kedro-free: numpy, scipy, pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = [
    "DEFAULT_OPTIONS",
    "FAMILIES",
    "FORECAST_KEYS",
    "AdherencePosterior",
    "adherence_forecasts",
    "adherence_posterior",
    "fit_adherence_model",
    "forecast_as_of",
    "forecast_from_pmf",
    "gap_skip_probabilities",
    "logged_gap_pmf",
    "predictive_log_pmf",
    "select_family",
    "user_gaps",
]

FAMILIES = ("normal", "lognormal")
DEFAULT_OPTIONS: dict[str, Any] = {
    "family": "normal",
    "skip_window": 4,  # consecutive skip counts a gap may hold (window centred on gap / typical)
    "fit_max_users": 100_000,  # hyperparameters from a seeded sample of this many users (None: all)
    "seed": 0,
    "fit_rounds": 60,  # variational-EM rounds for the hyperparameters (at most)
    "fit_tolerance": 1e-3,  # stop when no hyperparameter moves by more (relative)
    "rounds": 30,  # coordinate-ascent rounds per user (at most)
    "tolerance": 1e-6,  # a user is done when her expected skip count moves by less
    "forecast_components": 8,  # consecutive true-cycle counts summed in a forecast
    "horizon_days": 512,  # quantiles are searched in (d, d + horizon]
    "coverage": 0.8,
    "soon_days": 3,
    "chunk_gaps": 1_000_000,  # gaps per vectorised block (bounds memory, not the result)
}
FORECAST_KEYS = (
    "cycle_day",
    "median_gap_days",
    "lo_gap_days",
    "hi_gap_days",
    "p_missed_start",
    "p_start_soon",
)
_HYPER = ("m0", "kappa0", "a0", "b0", "alpha", "beta")
_T_MAX, _T_STEP = 40.0, 1.0 / 256  # Student-t cdf table used by the quantile search


@dataclass(frozen=True)
class AdherencePosterior:
    """Each user's posterior: NIG ``(m, kappa, a, b)`` on ``(mu, sigma^2)``, Beta on ``pi``."""

    m: np.ndarray
    kappa: np.ndarray
    a: np.ndarray
    b: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    n_gaps: np.ndarray


def _options(options: dict | None) -> dict[str, Any]:
    opts = DEFAULT_OPTIONS | dict(options or {})
    if opts["family"] not in FAMILIES:
        raise ValueError(f"adherence family must be one of {FAMILIES}, got {opts['family']!r}")
    return opts


def _terms(family: str, x: np.ndarray, k: np.ndarray):
    """``z = h(x) ~ N(c + a mu, v sigma^2)`` given ``k`` cycles: return ``z, a, c, v``."""
    if family == "normal":
        return x, k, 0.0, k
    return np.log(x), 1.0, np.log(k), 1.0 / k


def _first_k(x: np.ndarray, typical: float, window: int) -> np.ndarray:
    """First true-cycle count of each gap's window (``window`` counts centred on ``x / typical``)."""
    centre = np.rint(x / typical)
    return np.maximum(1.0, centre - (window - 1) // 2)


# --------------------------------------------------------------------------- per-user statistics
def _user_median(users: np.ndarray, x: np.ndarray, n_users: int) -> np.ndarray:
    order = np.lexsort((x, users))
    xs = x[order]
    counts = np.bincount(users, minlength=n_users)
    start = np.cumsum(counts) - counts
    has = counts > 0
    med = np.full(n_users, np.nan)
    lo = xs[(start + (counts - 1) // 2)[has]]
    hi = xs[(start + counts // 2)[has]]
    med[has] = 0.5 * (lo + hi)
    return med


def _gap_stats(family: str, x: np.ndarray, k0: np.ndarray, r: list[np.ndarray]):
    """Per-gap expected statistics ``A = E[a^2/v]`` (``= E[k]``), ``B = E[a (z - c)/v]``,
    ``C = E[(z - c)^2 / v]`` of the responsibilities ``r[j]`` of ``k = k0 + j`` cycles."""
    A = np.zeros(len(x))
    B = np.zeros(len(x))
    C = np.zeros(len(x))
    for j, rj in enumerate(r):
        k = k0 + j
        z, a, c, v = _terms(family, x, k)
        w = rj / v
        A += w * a * a
        B += w * a * (z - c)
        C += w * (z - c) ** 2
    return A, B, C


def _posterior(stats, hyper: dict) -> AdherencePosterior:
    """Closed-form NIG and Beta posteriors from expected statistics ``n, A, B, C, S`` (any shape)."""
    n, A, B, C, S = stats
    k0, m0 = hyper["kappa0"], hyper["m0"]
    kappa = k0 + A
    safe = np.where(A > 0, A, 1.0)
    dev = np.where(A > 0, B / safe - m0, 0.0)
    resid = np.maximum(C - np.where(A > 0, B * B / safe, 0.0), 0.0)
    b = hyper["b0"] + 0.5 * (resid + k0 * A / kappa * dev * dev)
    return AdherencePosterior(
        m=(k0 * m0 + B) / kappa,
        kappa=kappa,
        a=hyper["a0"] + 0.5 * n,
        b=b,
        alpha=hyper["alpha"] + S,
        beta=hyper["beta"] + n,
        n_gaps=np.rint(n).astype(np.int64),
    )


class _Gaps:
    """The logged gaps, each gap's expected statistics under its ``q(s)``, and per-user totals.

    ``q(s_i)`` is updated from the posterior of her *other* gaps (the cavity: her totals minus
    gap ``i``'s own share): Beta-geometric skip count times the Student-t predictive of ``x_i``
    with ``k`` cycles. Using the predictive, not ``exp E[log N]``, keeps the uncertainty in
    ``sigma`` that decides an ambiguous gap (a 44-day gap among 29-day ones).
    """

    def __init__(self, x, users, n_users, *, family, typical, window, chunk):
        self.family, self.x, self.users, self.n_users = family, x, users, n_users
        self.typical, self.window, self.chunk = typical, window, chunk
        self.k0 = _first_k(x, typical, window)
        med = _user_median(users, x, n_users)
        guess = np.clip(np.maximum(1.0, np.rint(x / med[users])), self.k0, self.k0 + window - 1)
        r = [(self.k0 + j == guess).astype(float) for j in range(window)]
        self.own = list(_gap_stats(family, x, self.k0, r))
        self.n = np.bincount(users, minlength=n_users).astype(float)
        self.sums = [np.bincount(users, weights=g, minlength=n_users) for g in self.own]

    def stats(self) -> list[np.ndarray]:
        A, B, C = self.sums
        return [self.n, A, B, C, A - self.n]

    def _responsibilities(self, i: np.ndarray, hyper: dict) -> list[np.ndarray]:
        u = self.users[i]
        A, B, C = (t[u] - g[i] for t, g in zip(self.sums, self.own, strict=True))
        n = self.n[u] - 1.0
        cav = _posterior([n, A, B, C, A - n], hyper)
        nu = 2.0 * cav.a
        spread = cav.b / cav.a
        logw, log_ps = [], np.zeros(len(i))
        for j in range(self.window):
            k = self.k0[i] + j
            if j:  # P(s + 1) / P(s) of the Beta-geometric
                s = k - 2
                log_ps = log_ps + np.log((cav.alpha + s) / (cav.alpha + cav.beta + s + 1))
            z, a, c, v = _terms(self.family, self.x[i], k)
            scale2 = spread * (v + a * a / cav.kappa)
            res = z - c - a * cav.m
            logw.append(
                log_ps - 0.5 * np.log(scale2) - 0.5 * (nu + 1) * np.log1p(res * res / (nu * scale2))
            )
        top = np.maximum.reduce(logw)
        r = [np.exp(w - top) for w in logw]
        norm = np.add.reduce(r)
        return [rj / norm for rj in r]

    def sweep(self, hyper: dict, active: np.ndarray | None = None) -> np.ndarray:
        """Update ``q(s)`` of the gaps of the ``active`` users (all when None), all at once from
        the current totals; return each user's change in expected skip count."""
        idx = np.arange(len(self.x)) if active is None else np.flatnonzero(active[self.users])
        delta = [np.zeros(self.n_users) for _ in self.own]
        for lo in range(0, len(idx), self.chunk):
            i = idx[lo : lo + self.chunk]
            r = self._responsibilities(i, hyper)  # from the totals before this sweep
            for g, d, new in zip(
                self.own, delta, _gap_stats(self.family, self.x[i], self.k0[i], r), strict=True
            ):
                np.add(
                    d, np.bincount(self.users[i], weights=new - g[i], minlength=self.n_users), out=d
                )
                g[i] = new  # only gap i's own cavity reads it, and only before this write
        for total, change in zip(self.sums, delta, strict=True):
            np.add(total, change, out=total)
        return np.abs(delta[0])

    def iterate(self, hyper: dict, rounds: int, tol: float) -> None:
        """Sweep until no user's expected skip count moves by ``tol`` (converged users stop)."""
        active = np.ones(self.n_users, dtype=bool)
        for _ in range(rounds):
            active &= self.sweep(hyper, active) >= tol
            if not active.any():
                break

    def skip_probability(self, hyper: dict) -> np.ndarray:
        out = np.empty(len(self.x))
        for lo in range(0, len(self.x), self.chunk):
            i = np.arange(lo, min(lo + self.chunk, len(self.x)))
            out[i] = 1.0 - np.where(self.k0[i] == 1, self._responsibilities(i, hyper)[0], 0.0)
        return out


# --------------------------------------------------------------------------- hyperparameters
def _nig_objective(theta, stats):
    """Minus the mean (over users) of the NIG part of the evidence bound, and its gradient."""
    n, A, B, C, _ = stats
    m0, k0, a0, b0 = theta[0], *np.exp(theta[1:])
    dev = B / A - m0
    resid = np.maximum(C - B * B / A, 0.0)
    q = k0 * A / (k0 + A)
    a = a0 + 0.5 * n
    b = b0 + 0.5 * (resid + q * dev * dev)
    f = (
        0.5 * np.log(k0)
        - 0.5 * np.log(k0 + A)
        + a0 * np.log(b0)
        - a * np.log(b)
        + special.gammaln(a)
        - special.gammaln(a0)
    )
    ab = a / b
    g = np.array(
        [
            (ab * q * dev).sum(),
            k0 * (0.5 / k0 - 0.5 / (k0 + A) - ab * 0.5 * dev * dev * (A / (k0 + A)) ** 2).sum(),
            a0 * (np.log(b0) - np.log(b) + special.digamma(a) - special.digamma(a0)).sum(),
            b0 * (a0 / b0 - ab).sum(),
        ]
    )
    return -f.sum() / len(n), -g / len(n)


def _beta_objective(theta, stats):
    n, _, _, _, S = stats
    al, be = np.exp(theta)
    f = special.betaln(al + S, be + n) - special.betaln(al, be)
    dab = special.digamma(al + be + S + n)
    d0 = special.digamma(al + be)
    g = np.array(
        [
            al * (special.digamma(al + S) - dab - special.digamma(al) + d0).sum(),
            be * (special.digamma(be + n) - dab - special.digamma(be) + d0).sum(),
        ]
    )
    return -f.sum() / len(n), -g / len(n)


def _fit_hyper(stats, hyper: dict) -> dict:
    keep = stats[0] > 0
    st = [s[keep] for s in stats]
    x0 = [hyper["m0"], *np.log([hyper["kappa0"], hyper["a0"], hyper["b0"]])]
    nig = optimize.minimize(
        _nig_objective,
        x0,
        args=(st,),
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), (-12, 8), (np.log(0.5), 8), (-20, 12)],
    )
    beta = optimize.minimize(
        _beta_objective,
        np.log([hyper["alpha"], hyper["beta"]]),
        args=(st,),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-7, 7), (-7, 9)],
    )
    m0, k0, a0, b0 = nig.x[0], *np.exp(nig.x[1:])
    al, be = np.exp(beta.x)
    return {"m0": m0, "kappa0": k0, "a0": a0, "b0": b0, "alpha": al, "beta": be}


def _start_hyper(stats) -> dict:
    """Starting hyperparameters from the starting assignment (moments of the users' means)."""
    n, A, B, C, S = stats
    ok = n >= 2
    if not ok.any():
        return {
            "m0": B.sum() / A.sum(),
            "kappa0": 1.0,
            "a0": 3.0,
            "b0": 3.0,
            "alpha": 1.0,
            "beta": 10.0,
        }
    mean = B[ok] / A[ok]
    within = max(float(np.median(np.maximum(C[ok] - B[ok] * mean, 0.0) / (n[ok] - 1))), 1e-6)
    between = max(float(np.var(mean)) - within / float(np.median(n[ok])), within / 4)
    p = min(max(float(S.sum() / n.sum()), 0.005), 0.5)
    return {
        "m0": float(np.median(mean)),
        "kappa0": within / between,
        "a0": 3.0,
        "b0": 3.0 * within,
        "alpha": 1.0,
        "beta": (1 - p) / p,
    }


def _as_arrays(lengths, users) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lengths, dtype=float)
    u = np.asarray(users, dtype=np.int64)
    if x.shape != u.shape:
        raise ValueError("lengths and users must have the same length")
    if len(x) and not (np.all(np.isfinite(x)) and x.min() > 0):
        raise ValueError("logged gaps must be finite and positive (drop the open last cycle)")
    return x, u


def _fit_sample(x: np.ndarray, u: np.ndarray, opts: dict) -> tuple[np.ndarray, np.ndarray]:
    """The gaps of at most ``fit_max_users`` users (a seeded draw), users renumbered from 0."""
    ids, u = np.unique(u, return_inverse=True)
    cap = opts["fit_max_users"]
    if cap is None or len(ids) <= int(cap):
        return x, u
    chosen = np.zeros(len(ids), dtype=bool)
    chosen[np.random.default_rng(int(opts["seed"])).choice(len(ids), int(cap), replace=False)] = (
        True
    )
    keep = chosen[u]
    return x[keep], np.cumsum(chosen)[u[keep]] - 1


def fit_adherence_model(lengths, users, options: dict | None = None) -> dict[str, Any]:
    """Fit the population hyperparameters on logged gaps by variational EM (marginal likelihood).

    Args:
        lengths: every logged gap in days (completed cycles only), any order.
        users: integer user code of each gap (``0 .. n_users - 1``).
        options: :data:`DEFAULT_OPTIONS` keys to override (``family`` above all;
            ``fit_max_users``: fit on a seeded sample of that many users, ``None`` for all).

    Returns:
        The model state, a JSON-friendly dict: ``family``, ``typical_days`` (median gap: the
        centre of each gap's skip window), the hyperparameters ``m0, kappa0, a0, b0, alpha,
        beta``, the options and ``n_users_fit``, ``n_gaps_fit``, ``fit_rounds_run``.
    """
    opts = _options(options)
    x, u = _as_arrays(lengths, users)
    if len(x) == 0:
        raise ValueError("fit_adherence_model needs at least one logged gap")
    x, u = _fit_sample(x, u, opts)
    n_users = int(u.max()) + 1
    family, window, chunk = opts["family"], int(opts["skip_window"]), int(opts["chunk_gaps"])
    typical = float(np.median(x))
    gaps = _Gaps(x, u, n_users, family=family, typical=typical, window=window, chunk=chunk)
    hyper = _start_hyper(gaps.stats())
    rounds = 0
    for rounds in range(1, int(opts["fit_rounds"]) + 1):  # noqa: B007
        new = _fit_hyper(gaps.stats(), hyper)
        moved = max(abs(np.log(new[k] / hyper[k])) for k in _HYPER if k != "m0")
        hyper = new
        if moved < float(opts["fit_tolerance"]):
            break
        gaps.iterate(hyper, int(opts["rounds"]), float(opts["tolerance"]))
    return {
        "family": family,
        "typical_days": typical,
        **{k: float(hyper[k]) for k in _HYPER},
        "options": {k: opts[k] for k in DEFAULT_OPTIONS},
        "n_users_fit": n_users,
        "n_gaps_fit": len(x),
        "fit_rounds_run": rounds,
    }


def adherence_posterior(
    state: dict[str, Any], lengths, users, n_users: int
) -> tuple[AdherencePosterior, np.ndarray]:
    """Every user's posterior given her logged gaps, and ``P(s >= 1)`` of every gap.

    Args:
        state: from :func:`fit_adherence_model` (hyperparameters are not refitted).
        lengths, users: the users' logged gaps and integer codes (``0 .. n_users - 1``); a user
            without a gap gets the population prior.
        n_users: number of users (codes at or beyond the largest one).

    Returns:
        ``(posterior, p_skip)``: per-user arrays, and per gap (input order) the posterior
        probability that it holds at least one unlogged start.
    """
    opts = _options(state["options"])
    x, u = _as_arrays(lengths, users)
    hyper = {k: state[k] for k in _HYPER}
    family, window, chunk = state["family"], int(opts["skip_window"]), int(opts["chunk_gaps"])
    typical = float(state["typical_days"])
    gaps = _Gaps(x, u, n_users, family=family, typical=typical, window=window, chunk=chunk)
    gaps.iterate(hyper, int(opts["rounds"]), float(opts["tolerance"]))
    return _posterior(gaps.stats(), hyper), gaps.skip_probability(hyper)


# --------------------------------------------------------------------------- predictive
class _TCdf:
    """Student-t cdf on a fine table, one row per distinct degrees of freedom (quantile search)."""

    def __init__(self, df: np.ndarray):
        self.values, self.row = np.unique(df, return_inverse=True)
        grid = np.arange(-_T_MAX, _T_MAX + _T_STEP / 2, _T_STEP)
        self.table = special.stdtr(self.values[:, None], grid[None, :]).ravel()
        self.width = len(grid)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        pos = (np.clip(t, -_T_MAX, _T_MAX) + _T_MAX) / _T_STEP
        i = np.minimum(pos.astype(np.int64), self.width - 2)
        w = pos - i
        flat = i + (self.row * self.width)[:, None]
        return self.table[flat] * (1.0 - w) + self.table[flat + 1] * w


class _Predictive:
    """The posterior predictive of the next logged gap, ``n_comp`` true-cycle counts from ``k_lo``."""

    def __init__(self, state, post: AdherencePosterior, k_lo: np.ndarray, n_comp: int):
        self.family = state["family"]
        k = k_lo[:, None] + np.arange(n_comp)
        _, a, c, v = _terms(self.family, np.ones_like(k), k)
        self.loc = c + a * post.m[:, None]
        self.scale = np.sqrt(post.b / post.a)[:, None] * np.sqrt(v + a * a / post.kappa[:, None])
        self.df = 2.0 * post.a
        lb = special.betaln(post.alpha, post.beta)[:, None]
        s = k - 1
        log_ps = special.betaln(post.alpha[:, None] + s, post.beta[:, None] + 1) - lb
        # each user's weights relative to her largest one: far into a silence (hundreds of skip
        # counts) the weights underflow, their ratios do not. Every mixture sum below is on this
        # scale; multiply by exp(log_scale) for probabilities.
        self.log_scale = log_ps.max(1) if n_comp else np.zeros(len(k_lo))
        self.p_s = np.exp(log_ps - self.log_scale[:, None])
        log_tail = special.betaln(post.alpha + k_lo + n_comp - 1, post.beta) - lb[:, 0]
        self.tail = np.exp(log_tail - self.log_scale)
        self._table: _TCdf | None = None

    def _t(self, g: np.ndarray) -> np.ndarray:
        edge = g[:, None] + 0.5
        return ((edge if self.family == "normal" else np.log(edge)) - self.loc) / self.scale

    def mixture_cdf(self, g: np.ndarray, exact: bool = True) -> np.ndarray:
        """``sum_s P(s) P(G_s <= g)`` over the window (whole days), on the ``log_scale``."""
        t = self._t(np.asarray(g, dtype=float))
        if exact:
            cdf = special.stdtr(self.df[:, None], t)
        else:
            self._table = self._table or _TCdf(self.df)
            cdf = self._table(t)
        return (self.p_s * cdf).sum(1)

    def mixture_survival(self, g: np.ndarray) -> np.ndarray:
        t = self._t(np.asarray(g, dtype=float))
        return (self.p_s * special.stdtr(self.df[:, None], -t)).sum(1) + self.tail


def _log_survival_below_window(state, post: AdherencePosterior, k_lo: np.ndarray, g: np.ndarray):
    """``log sum P(s) P(G_s > g)`` over the true-cycle counts ``1 .. k_lo - 1`` left out of the window."""
    n_low = int(k_lo.max(initial=1)) - 1
    if n_low <= 0:
        return np.full(len(k_lo), -np.inf)
    low = _Predictive(state, post, np.ones_like(k_lo), n_low)
    below = np.arange(1, n_low + 1)[None, :] < k_lo[:, None]
    t = low._t(np.asarray(g, dtype=float))
    with np.errstate(divide="ignore"):
        return np.log((below * low.p_s * special.stdtr(low.df[:, None], -t)).sum(1)) + low.log_scale


def _single_cycle_survival(state, post: AdherencePosterior, g: np.ndarray) -> np.ndarray:
    """``P(first true cycle > g)`` (whole days) under the posterior predictive."""
    _, a, c, v = _terms(state["family"], 1.0, 1.0)
    loc = c + a * post.m
    scale = np.sqrt(post.b / post.a * (v + a * a / post.kappa))
    edge = g + 0.5
    t = ((edge if state["family"] == "normal" else np.log(edge)) - loc) / scale
    return special.stdtr(2.0 * post.a, -t)


def _search(cond, day: np.ndarray, p: float, horizon: int) -> np.ndarray:
    """Smallest whole day ``g`` in ``(day, day + horizon]`` with ``cond(g) >= p`` (capped)."""
    lo, hi = day.copy(), day + horizon
    for _ in range(int(np.ceil(np.log2(horizon)))):
        mid = (lo + hi) // 2
        ok = cond(mid) >= p
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi


def _summaries(cond, day: np.ndarray, opts: dict) -> dict[str, np.ndarray]:
    """Median and interval of a conditional cdf (whole days after ``day``), by bisection."""
    horizon = int(opts["horizon_days"])
    tail = (1.0 - float(opts["coverage"])) / 2.0
    med = _search(cond, day, 0.5, horizon)
    g = _search(cond, day, tail, horizon)
    below, at = cond(g - 1), cond(g)  # mass under g is below `tail`, under g + 1 is not
    lo = np.where(tail - below <= at - tail, g, g + 1)
    g = _search(cond, day, 1.0 - tail, horizon)
    below, at = cond(g - 1), cond(g)
    hi = np.where(at - (1.0 - tail) <= (1.0 - tail) - below, g, g - 1)
    return {
        "median_gap_days": med.astype(float),
        "lo_gap_days": np.minimum(lo, med).astype(float),
        "hi_gap_days": np.maximum(hi, med).astype(float),
    }


def _component_start(state, post: AdherencePosterior, day: np.ndarray, n_comp: int) -> np.ndarray:
    """First true-cycle count kept in the window: 4 cycles below the day's count, at least 1."""
    mean = post.m if state["family"] == "normal" else np.exp(post.m)
    typical = np.maximum(mean, 1.0)
    return np.maximum(1, np.floor(day / typical).astype(np.int64) - min(4, n_comp // 2))


def forecast_as_of(
    state: dict[str, Any], post: AdherencePosterior, cycle_day
) -> dict[str, np.ndarray]:
    """Each user's next logged start, given that none was logged in her first ``cycle_day`` days.

    Args:
        state: from :func:`fit_adherence_model`.
        post: from :func:`adherence_posterior`.
        cycle_day: per user, whole days since her last logged start (``0`` on that day).

    Returns:
        Arrays keyed by :data:`FORECAST_KEYS`: ``cycle_day``; ``median_gap_days``,
        ``lo_gap_days``, ``hi_gap_days`` (whole days from the last logged start, all
        ``> cycle_day``; the interval's coverage is ``options.coverage``); ``p_missed_start``
        (a start already came and was not logged) and ``p_start_soon`` (a logged start within
        ``options.soon_days`` days after ``cycle_day``).
    """
    opts = _options(state["options"])
    day = np.asarray(cycle_day, dtype=np.int64)
    if day.shape != post.m.shape:
        raise ValueError("cycle_day needs one value per user")
    if len(day) and day.min() < 0:
        raise ValueError("cycle_day must be >= 0 (a logged start after as_of?)")
    n_comp = int(opts["forecast_components"])
    k_lo = _component_start(state, post, day, n_comp)
    pred = _Predictive(state, post, k_lo, n_comp)
    surv = pred.mixture_survival(day)
    f_day = pred.mixture_cdf(day)

    base = pred.mixture_cdf(day, exact=False)  # the quantile search runs on the t-cdf table

    def cond_table(g):
        return (pred.mixture_cdf(g, exact=False) - base) / surv

    out = {"cycle_day": day.astype(float), **_summaries(cond_table, day, opts)}
    # P(first true cycle > d) <= P(no logged start by d) holds only with every skip count in the sum: the
    # counts below the window (negligible for the quantiles) can hold most of the first cycle's tail
    with np.errstate(divide="ignore"):
        log_surv_all = np.logaddexp(
            np.log(surv) + pred.log_scale, _log_survival_below_window(state, post, k_lo, day)
        )
        log_single = np.log(_single_cycle_survival(state, post, day))
    out["p_missed_start"] = np.clip(1.0 - np.exp(log_single - log_surv_all), 0, 1)
    soon = pred.mixture_cdf(day + int(opts["soon_days"]))
    out["p_start_soon"] = np.clip((soon - f_day) / surv, 0.0, 1.0)
    return out


def predictive_log_pmf(state: dict[str, Any], post: AdherencePosterior, gap) -> np.ndarray:
    """Log posterior-predictive probability of each user's next logged gap being ``gap`` days."""
    opts = _options(state["options"])
    g = np.asarray(gap, dtype=np.int64)
    n_comp = int(opts["forecast_components"])
    pred = _Predictive(state, post, _component_start(state, post, g, n_comp), n_comp)
    p = pred.mixture_cdf(g) - pred.mixture_cdf(g - 1)
    return np.log(np.maximum(p, 1e-300)) + pred.log_scale


# --------------------------------------------------------------------------- known distribution
def logged_gap_pmf(cycle_pmf: np.ndarray, p_skip, n_days: int = 1024) -> np.ndarray:
    """Distribution of a logged gap when each true start is unlogged with probability ``p_skip``.

    ``cycle_pmf[u, l]`` = P(a true cycle of user ``u`` lasts ``l`` days); the gap is the sum of
    ``s + 1`` cycles, ``s ~ Geometric(p_skip[u])``: generating function ``(1 - p) F / (1 - p F)``,
    by FFT on ``n_days`` days (mass beyond wraps around: keep ``p_skip`` well below 1).
    """
    p = np.asarray(p_skip, dtype=float).reshape(-1, 1)
    f = np.fft.rfft(np.asarray(cycle_pmf, dtype=float), n=n_days, axis=1)
    pmf = np.fft.irfft((1 - p) * f / (1 - p * f), n=n_days, axis=1)
    return np.clip(pmf, 0.0, None)


def forecast_from_pmf(
    gap_pmf: np.ndarray, cycle_pmf: np.ndarray, cycle_day, options: dict | None = None
) -> dict[str, np.ndarray]:
    """The summaries of :func:`forecast_as_of` for a known gap distribution (the Bayes oracle)."""
    opts = _options(options)
    day = np.asarray(cycle_day, dtype=np.int64)
    cdf = np.cumsum(gap_pmf, axis=1)
    width = cdf.shape[1]
    rows = np.arange(len(day))

    def at(table, g):
        return table[rows, np.clip(g, 0, width - 1)]

    f_day = at(cdf, day)
    surv = np.maximum(1.0 - f_day, 1e-300)

    def cond(g):
        return (at(cdf, g) - f_day) / surv

    opts = opts | {"horizon_days": min(int(opts["horizon_days"]), width - 1)}
    out = {"cycle_day": day.astype(float), **_summaries(cond, day, opts)}
    single = 1.0 - at(np.cumsum(cycle_pmf, axis=1), day)
    out["p_missed_start"] = np.clip(1.0 - single / surv, 0.0, 1.0)
    out["p_start_soon"] = np.clip(cond(day + int(opts["soon_days"])), 0.0, 1.0)
    return out


# --------------------------------------------------------------------------- family rule
def select_family(
    lengths, users, options: dict | None = None, families=FAMILIES
) -> tuple[str, dict[str, float]]:
    """The family rule: the best mean log predictive probability of each user's *last* gap.

    For each family, the hyperparameters are fitted on every user's gaps but her last, and her
    last gap is scored (whole days) under her posterior from the earlier ones. Give training
    users only, each user's gaps in time order. Ties go to the first family listed.

    Returns:
        ``(family, {family: mean log score})``.
    """
    x, u = _as_arrays(lengths, users)
    _, u = np.unique(u, return_inverse=True)
    n_users = int(u.max()) + 1
    last = np.zeros(len(x), dtype=bool)
    last[len(u) - 1 - np.unique(u[::-1], return_index=True)[1]] = True
    scores = {}
    for family in families:
        opts = dict(options or {}) | {"family": family}
        state = fit_adherence_model(x[~last], u[~last], opts)
        post, _ = adherence_posterior(state, x[~last], u[~last], n_users)
        target = np.zeros(n_users)
        target[u[last]] = x[last]
        scores[family] = float(predictive_log_pmf(state, post, target)[u[last]].mean())
    best = max(scores, key=lambda f: (scores[f], -list(families).index(f)))
    return best, scores


# --------------------------------------------------------------------------- pandas entry points
def user_gaps(cycles: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Users and their logged gaps from a per-start cycle table.

    Args:
        cycles: one row per kept start: ``user_id``, ``cycle_start`` (date) and ``cycle_length``
            (days to the next start; NaN for the last, still open one).

    Returns:
        ``(users, codes, lengths)``: one row per user (``user_id``, ``last_start``,
        ``n_gaps``; sorted by id), and per completed gap in time order her code and length.
    """
    codes, ids = _sorted_codes(cycles["user_id"])
    start = cycles["cycle_start"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((start.view(np.int64), codes))  # by user, then date
    codes, start = codes[order], start[order]
    length = cycles["cycle_length"].to_numpy(dtype=float)[order]
    last = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    last[codes] = start  # in date order: the last write of each user is her latest start
    done = np.isfinite(length)
    n_gaps = np.bincount(codes[done], minlength=len(ids))
    users = pd.DataFrame({"user_id": ids, "last_start": last, "n_gaps": n_gaps})
    return users, codes[done], length[done]


def _sorted_codes(user_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the ids, numbered in sorted id order (hash factorize, then sort uniques)."""
    codes, ids = pd.factorize(user_id)
    ids = np.asarray(ids, dtype=object)
    perm = np.argsort(ids, kind="stable")
    rank = np.empty(len(perm), dtype=np.int64)
    rank[perm] = np.arange(len(perm))
    return rank[codes], ids[perm]


def adherence_forecasts(cycles: pd.DataFrame, state: dict[str, Any], as_of) -> pd.DataFrame:
    """Every user's forecast as of ``as_of`` (a date): one row per user, sorted by id.

    Columns: ``user_id``, ``last_start``, ``n_gaps``, ``cycle_day`` (days since the last logged
    start), ``next_start`` (median), ``next_start_lo80`` and ``next_start_hi80`` (all after
    ``as_of``), ``p_missed_start``, ``p_start_soon``.
    """
    users, codes, lengths = user_gaps(cycles)
    post, _ = adherence_posterior(state, lengths, codes, len(users))
    as_of = pd.Timestamp(as_of).normalize()
    day = ((as_of - pd.to_datetime(users["last_start"])).dt.days).to_numpy()
    f = forecast_as_of(state, post, day)
    out = users.copy()
    out["cycle_day"] = day.astype(np.int64)
    last = pd.to_datetime(out["last_start"])
    for key, name in [
        ("median_gap_days", "next_start"),
        ("lo_gap_days", "next_start_lo80"),
        ("hi_gap_days", "next_start_hi80"),
    ]:
        out[name] = last + pd.to_timedelta(f[key], unit="D")
    out["p_missed_start"] = f["p_missed_start"]
    out["p_start_soon"] = f["p_start_soon"]
    return out


def gap_skip_probabilities(cycles: pd.DataFrame, state: dict[str, Any]) -> pd.DataFrame:
    """``P(s >= 1)`` of every logged gap: ``user_id``, ``cycle_start``, ``cycle_length``, ``p_skip``."""
    c = cycles.loc[cycles["cycle_length"].notna(), ["user_id", "cycle_start", "cycle_length"]]
    codes, ids = _sorted_codes(c["user_id"])
    start = c["cycle_start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    c = c.iloc[np.lexsort((start, codes))].reset_index(drop=True)
    codes = np.sort(codes)
    _, p_skip = adherence_posterior(state, c["cycle_length"].to_numpy(float), codes, len(ids))
    c["p_skip"] = p_skip
    return c

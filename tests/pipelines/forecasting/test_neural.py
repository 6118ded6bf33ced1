"""Windowing and LSTM/GRU fit/predict on tiny data."""

import numpy as np
import pytest

from cycle_kedro.pipelines.forecasting.neural import (
    _fit_stats,
    build_windows,
    fit_recurrent,
    predict_recurrent,
    usable_exog,
)


def _identity_stats(cols):
    return {c: (0.0, 1.0) for c in ["cycle_length", "age", "bmi", *cols]}


def test_windows_hold_only_earlier_cycles_left_padded(cycles):
    exog = usable_exog(cycles)
    assert exog == ["steps", "e2", "p4"]
    w = build_windows(cycles, window=3, stats=_identity_stats(exog), exog=exog)
    n_women = cycles.woman_id.nunique()
    assert len(w["y"]) == len(cycles) - n_women  # every cycle but each woman's first
    assert w["seq"].shape == (len(w["y"]), 3, 2 + len(exog))
    # samples come woman by woman (in an order fixed by the women's data); take the first sample's woman
    first_id = cycles.loc[w["index"][0], "woman_id"]
    first_woman = cycles[cycles.woman_id == first_id].sort_values("cycle_index").reset_index(drop=True)
    lengths = first_woman.cycle_length.to_numpy()
    # sample for her 2nd cycle: two padded steps, then cycle 1
    s2 = w["seq"][0]
    assert np.all(s2[:2] == 0) and s2[2, 0] == lengths[0] and s2[2, -1] == 1
    assert w["y"][0] == lengths[1] and w["base"][0] == lengths[0]
    # sample for her 6th cycle: cycles 3, 4, 5 in order; base is the mean of cycles 1-5
    s6 = w["seq"][4]
    np.testing.assert_array_equal(s6[:, 0], lengths[2:5])
    assert w["base"][4] == pytest.approx(lengths[:5].mean())
    np.testing.assert_allclose(s6[:, 1], first_woman.steps.to_numpy()[2:5], rtol=1e-6)


def test_target_cycle_values_never_enter_its_own_window(cycles):
    exog = usable_exog(cycles)
    stats = _identity_stats(exog)
    before = build_windows(cycles, 4, stats, exog)
    planted = cycles.copy()
    row = planted.index[planted.cycle_index == 5][0]
    planted.loc[row, ["cycle_length", "steps", "e2", "p4"]] = 999.0
    after = build_windows(planted, 4, stats, exog)
    # samples are matched by frame row (the women's order follows their data, which the plant changes)
    k = int(np.flatnonzero(after["index"] == row)[0])
    kb = int(np.flatnonzero(before["index"] == row)[0])
    np.testing.assert_array_equal(before["seq"][kb], after["seq"][k])
    np.testing.assert_array_equal(before["static"][kb], after["static"][k])
    assert after["y"][k] == 999.0
    assert np.any(after["seq"][k + 1] == 999.0)  # the next cycle does see it


def test_fit_stats_degenerate_sd_is_one(fed_like):
    stats = _fit_stats(fed_like.assign(age=30.0), [])
    assert stats["age"] == (30.0, 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_fit_predict_tiny(cycles, params, cell):
    pytest.importorskip("lightning")
    women = cycles.woman_id.unique()
    train = cycles[cycles.woman_id.isin(women[:8])]
    val = cycles[cycles.woman_id.isin(women[8:10])]
    test = cycles[cycles.woman_id.isin(women[10:])]
    bundle = fit_recurrent(train, val, cell, params["lstm"], seed=1)
    assert 1 <= len(bundle["val_curve"]) <= params["lstm"]["max_epochs"]
    pred = predict_recurrent(bundle, test)
    first = test.groupby("woman_id").cumcount() == 0
    assert pred[first].isna().all() and pred[~first].notna().all()
    assert pred[~first].between(15, 45).all()
    again = predict_recurrent(fit_recurrent(train, val, cell, params["lstm"], seed=1), test)
    np.testing.assert_allclose(pred, again, rtol=1e-5)  # same seed -> same predictions


def test_window_order_does_not_depend_on_the_pseudonyms(cycles):
    """Training batches are drawn from this order: relabelled women must give the same samples."""
    exog = usable_exog(cycles)
    stats = _identity_stats(exog)
    ids = cycles.woman_id.unique()
    relabel = dict(zip(ids, [f"{i:012x}" for i in np.random.default_rng(5).permutation(len(ids))], strict=True))
    one = build_windows(cycles, 3, stats, exog)
    two = build_windows(cycles.assign(woman_id=cycles.woman_id.map(relabel)), 3, stats, exog)
    np.testing.assert_array_equal(one["seq"], two["seq"])
    np.testing.assert_array_equal(one["index"], two["index"])

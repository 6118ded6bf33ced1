"""LSTM / GRU next-cycle-length models as Lightning modules, trained on women-held-out folds.

A sample is one cycle with at least one earlier cycle. Its inputs are the last ``window``
*earlier* cycles of the same woman (left-padded, with a "present" flag), each step carrying
the cycle length and, where the cohort has them, that earlier cycle's steps/E2/P4; plus static
features (age, BMI, the mean of all earlier cycles, log number of earlier cycles). The
network predicts a correction to the woman's running mean, so an untrained net starts at the
``mean_previous`` baseline. The target cycle's own steps/E2/P4 are never inputs (they are only
known once the cycle is over).

torch and lightning are imported inside the functions that need them. Torch's CPU threads and
``CUBLAS_WORKSPACE_CONFIG`` (deterministic training on CUDA) are set by the project hook from
``conf/<env>/runtime.yml``; Lightning's log level is in ``conf/logging.yml``.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.baselines import expanding_history_stats
from cycle_kedro.pseudonyms import content_order
from cycle_kedro.schemas import CYCLES

logger = logging.getLogger(__name__)

EXOG = ("steps", "e2", "p4")
STATIC = ("age", "bmi")


def _fit_stats(train: pd.DataFrame, exog: list[str]) -> dict[str, tuple[float, float]]:
    """Mean and SD (1 when degenerate) of every input column, from training rows only."""
    out = {}
    for col in ["cycle_length", *exog, *STATIC]:
        v = pd.to_numeric(train[col], errors="coerce")
        mu, sd = float(v.mean()), float(v.std(ddof=0))
        out[col] = (0.0 if not np.isfinite(mu) else mu, sd if np.isfinite(sd) and sd > 0 else 1.0)
    return out


def usable_exog(frame: pd.DataFrame) -> list[str]:
    """Return the exogenous columns (steps, e2, p4) that have at least one value."""
    return [c for c in EXOG if c in frame.columns and frame[c].notna().any()]


def women_by_data(frame: pd.DataFrame) -> np.ndarray:
    """The women of ``frame`` in an order fixed by their cycles, not by their pseudonyms.

    Pseudonyms change with each install's key; anything seeded that walks over women (folds,
    validation women, training batches) starts from this order, so the same seed gives the same
    metrics everywhere.
    """
    columns = [c for c in CYCLES.columns if c in frame.columns and c != "woman_id"]
    return content_order(frame, "woman_id", columns, ["woman_id", "cycle_index"])


def build_windows(
    frame: pd.DataFrame, window: int, stats: dict[str, tuple[float, float]], exog: list[str]
) -> dict[str, np.ndarray]:
    """Turn a per-cycle table into recurrent-net samples built from earlier cycles only.

    Args:
        frame: per-cycle table (``woman_id``, ``cycle_index``, ``cycle_length``, age, bmi,
            exogenous columns), any order.
        window: number of earlier cycles fed to the net (older ones only enter the running mean).
        stats: ``{column: (mean, sd)}`` from :func:`_fit_stats` on training rows.
        exog: exogenous columns to include per step.

    Returns:
        ``seq`` (n, window, 2 + len(exog)), ``static`` (n, 4), ``base`` (running mean, days),
        ``y`` (target, days) and ``index`` (the frame index of each sample). Samples are the
        rows with at least one earlier cycle.
    """
    rank = {w: i for i, w in enumerate(women_by_data(frame))}
    s = frame.iloc[
        np.lexsort((frame["cycle_index"].to_numpy(), frame["woman_id"].map(rank).to_numpy()))
    ]
    hist = expanding_history_stats(s)

    def z(col: str, values) -> np.ndarray:
        mu, sd = stats[col]
        return np.nan_to_num((np.asarray(values, dtype=float) - mu) / sd, nan=0.0)

    steps = np.column_stack(
        [z("cycle_length", s["cycle_length"])] + [z(c, s[c]) for c in exog] + [np.ones(len(s))]
    )
    n_feat = steps.shape[1]
    seqs, keep = [], []
    positions = s.groupby("woman_id", sort=False).indices
    for idx in positions.values():
        for j in range(1, len(idx)):
            block = steps[idx[max(0, j - window) : j]]
            pad = np.zeros((window - len(block), n_feat))
            seqs.append(np.vstack([pad, block]))
            keep.append(idx[j])
    keep = np.asarray(keep, dtype=int)
    sub, h = s.iloc[keep], hist.iloc[keep]
    static = np.column_stack(
        [
            z("age", sub["age"]),
            z("bmi", sub["bmi"]),
            z("cycle_length", h["hist_mean"]),
            np.log1p(h["n_prior"].to_numpy(dtype=float)) / 3.0,
        ]
    )
    return {
        "seq": np.asarray(seqs, dtype=np.float32).reshape(len(keep), window, n_feat),
        "static": static.astype(np.float32),
        "base": h["hist_mean"].to_numpy(dtype=float),
        "y": sub["cycle_length"].to_numpy(dtype=float),
        "index": sub.index.to_numpy(),
    }


def _make_module(cell: str, n_feat: int, n_static: int, params: dict[str, Any]):
    """Build the Lightning module (defined here so lightning is imported lazily)."""
    import lightning  # noqa: PLC0415
    import torch  # noqa: PLC0415
    from torch import nn  # noqa: PLC0415

    rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]

    class RecurrentRegressor(lightning.LightningModule):
        """Recurrent encoder of earlier cycles + static features -> correction to running mean."""

        def __init__(self) -> None:
            super().__init__()
            hidden = int(params["hidden_size"])
            layers = int(params.get("num_layers", 1))
            self.rnn = rnn_cls(
                n_feat,
                hidden,
                num_layers=layers,
                batch_first=True,
                dropout=float(params.get("dropout", 0.0)) if layers > 1 else 0.0,
            )
            self.head = nn.Sequential(
                nn.Linear(hidden + n_static, hidden), nn.ReLU(), nn.Linear(hidden, 1)
            )
            self.loss = nn.MSELoss()
            self.best_state, self.best_val, self.val_curve = None, float("inf"), []

        def forward(self, seq, static):
            out, _ = self.rnn(seq)
            return self.head(torch.cat([out[:, -1, :], static], dim=1)).squeeze(-1)

        def training_step(self, batch, _):
            seq, static, y = batch
            loss = self.loss(self(seq, static), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch, _):
            seq, static, y = batch
            self.log("val_loss", self.loss(self(seq, static), y), on_epoch=True, prog_bar=True)

        def on_validation_epoch_end(self) -> None:
            if self.trainer.sanity_checking:
                return
            val = float(self.trainer.callback_metrics["val_loss"])
            self.val_curve.append(val)
            if val < self.best_val:
                self.best_val, self.best_state = val, copy.deepcopy(self.state_dict())

        def configure_optimizers(self):
            return torch.optim.Adam(
                self.parameters(),
                lr=float(params["learning_rate"]),
                weight_decay=float(params.get("weight_decay", 0.0)),
            )

    return RecurrentRegressor()


def _loader(w: dict[str, np.ndarray], y_sd: float, batch_size: int, shuffle: bool, seed: int):
    import torch  # noqa: PLC0415
    from torch.utils.data import DataLoader, TensorDataset  # noqa: PLC0415

    target = ((w["y"] - w["base"]) / y_sd).astype(np.float32)
    ds = TensorDataset(
        torch.from_numpy(w["seq"]), torch.from_numpy(w["static"]), torch.from_numpy(target)
    )
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen)


def fit_recurrent(
    train: pd.DataFrame, val: pd.DataFrame, cell: str, params: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Train one LSTM/GRU on ``train`` women with early stopping on ``val`` women.

    Returns a fitted bundle (module with the best validation weights restored, scaling stats,
    exogenous columns, epochs run and the validation-loss curve) for :func:`predict_recurrent`.
    """
    import lightning  # noqa: PLC0415
    from lightning.pytorch.callbacks import EarlyStopping  # noqa: PLC0415

    exog = usable_exog(train)
    stats = _fit_stats(train, exog)
    window = int(params["window"])
    w_fit, w_val = (build_windows(d, window, stats, exog) for d in (train, val))
    if len(w_fit["y"]) == 0 or len(w_val["y"]) == 0:
        raise ValueError("neural forecaster: no training or validation windows (too few cycles)")
    y_sd = stats["cycle_length"][1]
    lightning.seed_everything(seed, workers=True, verbose=False)
    module = _make_module(cell, w_fit["seq"].shape[2], w_fit["static"].shape[1], params)
    trainer = lightning.Trainer(
        max_epochs=int(params["max_epochs"]),
        accelerator=params.get("accelerator", "cpu"),
        devices=params.get("devices", 1),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=bool(params.get("enable_progress_bar", False)),
        enable_model_summary=False,
        deterministic=True,
        callbacks=[EarlyStopping("val_loss", patience=int(params["patience"]), mode="min")],
    )
    bs = int(params["batch_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(
            module,
            _loader(w_fit, y_sd, bs, True, seed),
            _loader(w_val, y_sd, 4096, False, seed),
        )
    if module.best_state is not None:
        module.load_state_dict(module.best_state)
    module.eval()
    return {
        "module": module,
        "stats": stats,
        "exog": exog,
        "window": window,
        "epochs": int(trainer.current_epoch),
        "val_curve": list(module.val_curve),
    }


def predict_recurrent(bundle: dict[str, Any], frame: pd.DataFrame) -> pd.Series:
    """Predict cycle length (days) for every row of ``frame`` with an earlier cycle; NaN elsewhere."""
    import torch  # noqa: PLC0415

    w = build_windows(frame, bundle["window"], bundle["stats"], bundle["exog"])
    out = pd.Series(np.nan, index=frame.index, dtype=float)
    if len(w["y"]) == 0:
        return out
    module = bundle["module"].cpu()
    with torch.no_grad():
        corr = module(torch.from_numpy(w["seq"]), torch.from_numpy(w["static"])).numpy()
    out.loc[w["index"]] = w["base"] + corr.astype(float) * bundle["stats"]["cycle_length"][1]
    return out

"""Nodes of the ``llm`` pipeline that build data: forecast Q&A written from each woman's numbers.

The knowledge base, its topics and the held-out split are in ``grounding.py``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.assistant.corpus import check_forecast, is_finite
from cycle_kedro.cycles.explain import ASKS, explain_forecast, forecast_question

logger = logging.getLogger(__name__)


def write_forecast_qa(forecast: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Question/answer pairs explaining each woman's predicted next cycle, from the numbers only.

    Rows without a finite prediction or interval are skipped (logged). ``options``: ``cohort``
    (label), ``max_rows`` and ``seed`` (which women and which question wording).
    """
    name = f"forecasting.{options['cohort']}.next_cycle_forecast"
    check_forecast(forecast, name)
    needed = ["predicted_length", "lower_80", "upper_80", "history_mean", "last_cycle_length"]
    usable = forecast[forecast[needed].apply(lambda c: c.map(is_finite)).all(axis=1)]
    if len(usable) < len(forecast):
        logger.warning(
            "%s: %d row(s) without finite numbers skipped", name, len(forecast) - len(usable)
        )
    # rows in an order fixed by their numbers, not by the pseudonyms (each install has its own key),
    # so that the same seed samples the same questions everywhere
    by_content = usable.sort_values([c for c in usable.columns if c != "woman_id"], kind="stable")
    usable = by_content.sample(frac=1.0, random_state=options["seed"]).head(options["max_rows"])
    rng = np.random.default_rng(options["seed"])
    asks = rng.integers(0, len(ASKS), size=len(usable))
    return pd.DataFrame(
        {
            "question": [
                forecast_question(r, ASKS[a])
                for (_, r), a in zip(usable.iterrows(), asks, strict=True)
            ],
            "answer": [explain_forecast(r) for _, r in usable.iterrows()],
            "focus": f"{options['cohort']} next-cycle forecast",
            "qtype": "forecast explanation",
            "source": [f"{name} ({m})" for m in usable["model"]],
        }
    )

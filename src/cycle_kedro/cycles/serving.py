"""The served MLflow model ``cycle_forecaster``: the fitted forecaster behind ``mlflow models serve``.

:class:`CycleForecasterModel` holds the state of :func:`~cycle_kedro.cycles.forecaster.fit_forecaster`
and answers a request (:data:`~cycle_kedro.cycles.forecaster.HISTORY_COLUMNS`, one row per completed
cycle) with :func:`~cycle_kedro.cycles.forecaster.predict_next`'s table, so the served answers equal
the ``forecasting`` pipeline's ``next_cycle_forecast`` rows by construction. ``predict`` is typed
(``pandas.DataFrame`` in and out), as MLflow asks of a ``PythonModel``; the signature is the one
inferred from :meth:`CycleForecasterModel.input_example`.

This module imports MLflow; the rest of the library does not.
"""

from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel, PythonModelContext

from cycle_kedro.validation import DataValidationError

from .forecaster import EXAMPLE_HISTORIES, predict_next, validate_histories


class CycleForecasterModel(PythonModel):
    """Each woman's next-cycle forecast and explanation from her cycle history (MLflow pyfunc)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    @staticmethod
    def input_example() -> pd.DataFrame:
        """A made-up request (:data:`~cycle_kedro.cycles.forecaster.EXAMPLE_HISTORIES`): the
        model's input example, and the table its signature is inferred from."""
        return pd.DataFrame(EXAMPLE_HISTORIES)

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Validate the request and forecast (``FORECAST_COLUMNS``; missing values are ``None``,
        so the JSON answer has ``null``, not ``NaN``).

        A bad request raises ``MlflowException(INVALID_PARAMETER_VALUE)``, which MLflow's scoring
        server answers with a 400 and the validation message (naming the column and the rows);
        any other exception would get a generic message.
        """
        try:
            histories = validate_histories(model_input)
        except DataValidationError as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
        out = predict_next(self.state, histories, validate=False)
        return out.astype(object).where(out.notna(), None)

"""Cycle-forecasting library shared by the pipelines (no Kedro in here: plain functions and contracts).

Modules: :mod:`.baselines` (last cycle, mean/median of previous, shrinkage), :mod:`.arima`
(statsforecast wrapper with a mean fallback), :mod:`.metrics` (errors, coverage, bootstrap MAE
difference), :mod:`.intervals` (split-conformal intervals), :mod:`.contracts` (column and
schema contracts of the cycle tables), :mod:`.robust` (median/winsorised shrinkage, Huber and
Student-t empirical Bayes, the inner-CV selection rule), :mod:`.incycle` (forecasts updated as
the current cycle goes on: survival conditioning, ovulation + luteal rule), :mod:`.forecaster` (the
next-cycle forecaster: fit and predict), :mod:`.explain` (template explanations) and :mod:`.serving`
(the MLflow pyfunc model that serves the forecaster; the only module importing MLflow). Pipelines
import from here, never from each other.
"""

"""cycle_kedro: Kedro pipelines for menstrual-cycle research."""

__version__ = "0.1.0"

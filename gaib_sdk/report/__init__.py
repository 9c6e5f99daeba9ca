"""The NAV report (``gaib report``): :func:`collect` reads the figures from the chain into a
:class:`ReportData`, :func:`render` writes them as an HTML page with PNG plots and as JSON, and
:func:`~gaib_sdk.report.scenario.run_scenario` scripts a history to report on. See docs/report.md."""

from gaib_sdk.report.collect import DEFAULT_STRESS, collect
from gaib_sdk.report.data import SCHEMA_VERSION, ReportData, StressAssumptions, aid, instant_exit_value, usdc
from gaib_sdk.report.render import PLOTS, render, require_matplotlib
from gaib_sdk.report.scenario import run_scenario

__all__ = [
    "DEFAULT_STRESS",
    "PLOTS",
    "SCHEMA_VERSION",
    "ReportData",
    "StressAssumptions",
    "aid",
    "collect",
    "instant_exit_value",
    "render",
    "require_matplotlib",
    "run_scenario",
    "usdc",
]

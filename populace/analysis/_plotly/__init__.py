"""Plotly renderers of the views: plain plotly JSON dicts, built without importing plotly.

Each ``*_figure`` turns one info function of :mod:`populace.analysis._views` into
``{"data": [...], "layout": {...}}`` (and ``"frames"`` for the animation) that plotly.js draws as
is: the dashboard serves these dicts, :mod:`populace.analysis._interactive` wraps them in a
``plotly.graph_objects.Figure``. Every trace is an SVG ``scatter`` built from plain lists, so the
dashboard's partial plotly.js bundle (scatter only) draws them all: at 64 members and 50,000
results SVG lines drew in 0.35 s in headless Chromium, ``scattergl`` in 0.6 s (WebGL without a
GPU is emulated), measured by ``benchmarks/dashboard.py``.
"""

from populace.analysis._plotly._curves import curves_figure
from populace.analysis._plotly._lineage import lineage_figure
from populace.analysis._plotly._params import params_figure
from populace.analysis._plotly._schedule import schedule_figure

__all__ = ["curves_figure", "lineage_figure", "params_figure", "schedule_figure"]

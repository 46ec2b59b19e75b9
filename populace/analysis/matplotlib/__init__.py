"""Static plots of a stored population as matplotlib Figures, saved as PNG.

    from populace.analysis.matplotlib import plot_curves, plot_lineage, plot_schedule

    population = pop.load("sqlite:///runs.db", "train")
    plot_lineage(population, "lineage.png")
    plot_schedule(population, "schedule.png")

The twins of the interactive views in :mod:`populace.analysis`. They read only the stored data
and need matplotlib (``pip install 'populace[analysis]'``), imported on first use; figures are
drawn on the Agg canvas without pyplot, so no window opens and no global state changes.
"""

from populace.analysis.matplotlib._curves import plot_curves
from populace.analysis.matplotlib._lineage import plot_lineage
from populace.analysis.matplotlib._schedule import plot_schedule

__all__ = ["plot_curves", "plot_lineage", "plot_schedule"]

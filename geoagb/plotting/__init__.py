"""Figures: one function per figure, each returning a matplotlib Figure."""

from ._cv import plot_block_size_sensitivity, plot_folds, plot_predicted_observed

__all__ = ["plot_folds", "plot_predicted_observed", "plot_block_size_sensitivity"]

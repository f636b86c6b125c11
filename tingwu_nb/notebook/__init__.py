"""Jupyter views: the parameter form, the live session view, rich display, the results explorer and plots.

Only this layer imports ipywidgets and matplotlib.
"""

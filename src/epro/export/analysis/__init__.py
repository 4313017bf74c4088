"""The trial's efficacy analysis, written with the export: tables, report and figures.

The only part of epro that imports NumPy and matplotlib (the ``export`` extra).
"""

"""The trial's efficacy analysis, written with the export: tables, report and figures.

The only part of epro that imports NumPy and matplotlib (the ``export`` extra).
:func:`analysis_writer` gives the format writer; :mod:`.stats` holds the statistics.
"""

from epro.export.analysis.writer import AnalysisWriter, analysis_writer

__all__ = ["AnalysisWriter", "analysis_writer"]

"""The formats an export writes: one adapter per outside format (DESIGN §9).

Each adapter is a :class:`epro.export.records.FormatWriter` in its own module, wrapping the
library of its format (imported there only), so an upgrade touches one place. The pipeline
hands every writer of :func:`default_writers` each patient's record and lists what they wrote
in ``MANIFEST.json``; ``problems.csv`` and ``MANIFEST.json`` themselves belong to the pipeline.

To add a format: write its module, then add one line below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from epro.export.records import FormatWriter

if TYPE_CHECKING:
    from epro.schedule import Study


def default_writers(study: Study | None = None) -> list[FormatWriter]:
    """A fresh writer of every format, in the order they are given each patient; ``study`` is
    the protocol the export runs on (the ODM metadata describes its visits).

    The adapters are imported here, when an export runs, not with the pipeline: each brings
    its format's library, and the pipeline's workers need none of them."""
    from epro.export.analysis.writer import analysis_writer
    from epro.export.csv_files import csv_writers
    from epro.export.fhir_ndjson import fhir_writer
    from epro.export.odm import odm_writer
    from epro.export.spss import spss_writer

    return [
        *csv_writers(),
        spss_writer(),
        odm_writer(study),
        fhir_writer(),
        analysis_writer(),
    ]

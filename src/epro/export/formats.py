"""The formats an export writes: one adapter per outside format (DESIGN §9).

Each adapter is a :class:`epro.export.records.FormatWriter` in its own module, wrapping the
library of its format (imported there only), so an upgrade touches one place. The pipeline
hands every writer of :func:`default_writers` each patient's record and lists what they wrote
in ``MANIFEST.json``; ``problems.csv`` and ``MANIFEST.json`` themselves belong to the pipeline.

To add a format: write its module, then add one line below.
"""

from __future__ import annotations

from epro.export.records import FormatWriter


def default_writers() -> list[FormatWriter]:
    """A fresh writer of every format, in the order they are given each patient."""
    writers: list[FormatWriter] = []
    return writers

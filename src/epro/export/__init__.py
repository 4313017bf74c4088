"""The data manager's side: open a sealed bundle offline, check, score and export it.

``epro export BUNDLE --study-key FILE --out DIR`` runs :func:`epro.export.pipeline.run_export`:
the bundle's envelopes are checked and opened (:mod:`epro.export.verify`), grouped per patient,
scored per visit (:mod:`epro.scoring`), and handed as one normalised table
(:mod:`epro.export.records`) to one adapter per outside format.

Nothing here imports textual; the format adapters' libraries (pyreadstat, odmlib, SciPy,
matplotlib) come with the ``export`` extra and are imported only by the adapter that uses them.
"""

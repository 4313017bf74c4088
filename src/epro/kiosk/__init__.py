"""The Textual kiosk: the only package of epro that imports textual.

Nothing is imported here on purpose: ``epro kiosk`` imports ``epro.kiosk.app`` lazily so that
the lock screen appears before the store, crypto and scoring modules are loaded.
"""

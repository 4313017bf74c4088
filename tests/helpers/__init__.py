"""What the tests share: builders of real kiosk stores, servers and trials, the UI's Pilot
steps, the export's fixtures, and the scripts tests run in child processes
(``python -m tests.helpers.NAME`` from the repository root)."""

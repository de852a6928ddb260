"""Runs: a template's fills through the engine into a session, live (`run.Run`) or through a provider's
batch API (`batch`). The layer between the engine and store below and analysis, export and the front ends
above; the CLI and the TUI share it, so both make identical samples."""

"""Template Studio: make LLM training data at the template level.

Layers (lower never imports upper): core -> engine, store -> analysis, export -> cli, tui.
"""

__version__ = "0.1.0"

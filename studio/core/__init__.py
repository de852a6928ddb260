"""Pure logic: template files, the Jinja2 sandbox, slot sources, personas and expansion.

Nothing here imports textual, litellm or the store.
"""

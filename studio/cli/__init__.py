"""Command-line front end: thin; every operation lives in the layers below."""

"""One module per `studio` subcommand; each defines `register(subparsers)`.

A command's handler takes the parsed args and returns an exit code. It raises
`StudioError` for anything the user can fix; `main` prints it without a traceback.
"""

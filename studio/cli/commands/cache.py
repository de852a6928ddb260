"""`studio cache clear|info`: the engine's request cache in sessions/.cache/."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("cache", help="show or clear the request cache",
                       description="Every model response is cached by (model, endpoint, messages, parameters, seed, "
                                   "schema), so a re-run never pays twice. 'clear' forgets them all.")
    p.add_argument("action", choices=("info", "clear"), nargs="?", default="info")
    p.set_defaults(handler=run)


def run(args) -> int:
    from studio.cli.console import console
    from studio.engine.cache import FILENAME, RequestCache, clear_cache
    from studio.core.workspace import Workspace

    ws = Workspace.from_env()
    path = ws.cache_dir / FILENAME
    if args.action == "clear":
        n = clear_cache(ws.cache_dir)
        console().print(f"cleared {n} cached response(s) from {path}", markup=False)
        return 0
    if not path.exists():
        console().print(f"no cache yet ({path})", markup=False)
        return 0
    cache = RequestCache(ws.cache_dir)
    try:
        n, legacy = len(cache), cache.legacy
    finally:
        cache.close()
    size = sum(p.stat().st_size for p in ws.cache_dir.glob(f"{FILENAME}*"))
    console().print(f"{n} cached response(s), {size / 2**20:.1f} MB, in {path}", markup=False)
    if legacy:
        console().print(f"{legacy} of them cached before endpoints were recorded: each goes to the first "
                        "endpoint that asks for it", markup=False)
    return 0

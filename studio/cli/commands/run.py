"""`studio run TEMPLATE -n N`: generate samples headless into a session, with a live progress bar."""

from __future__ import annotations

import json
import signal
import sys

from studio.core.cost import Cost
from studio.core.template import STRATEGIES


def register(sub) -> None:
    p = sub.add_parser("run", help="generate samples from a template into a session (headless)",
                       description="Expand a template, generate every prompt with the model and save the samples "
                                   "into a session. Ctrl-C stops cleanly and keeps what completed. Exit code: 0 all "
                                   "done, 1 some failed, 130 stopped, 2 bad input.")
    p.add_argument("template", help="template name or path")
    p.add_argument("-n", type=int, default=None, help="how many prompts (default: the template's combine.n); "
                                                         "running the same command again asks only for the prompts "
                                                         "the session does not hold yet; every strategy takes its "
                                                         "prompts in one fixed order for a seed, so -n 10 is the "
                                                         "first 10 of -n 20 and raising -n asks only for the new ones")
    p.add_argument("--answers", type=int, default=1, metavar="K",
                   help="answers per prompt, each with its own seed (default 1); raise it to get more answers "
                        "to prompts the session already holds (e.g. for preference pairs)")
    p.add_argument("--model", default=None,
                   help="litellm model string, e.g. openai/gpt-4o-mini, hosted_vllm/NAME, local/smollm2, or render "
                        "(default: the session's model, $STUDIO_MODEL, local/smollm2 if installed, else render)")
    p.add_argument("--session", default=None, help="session name (default: the most recent, or one named after "
                                                   "the template)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight per model (default 16)")
    p.add_argument("--strategy", choices=STRATEGIES, default=None, help="how slots combine")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the template's)")
    p.add_argument("--api-base", action="append", default=None,
                   help="base URL of an OpenAI-compatible server (e.g. vLLM); give it more than once for one model "
                        "served by several servers (requests balanced, least busy first)")
    p.add_argument("--models", default=None, metavar="FILE",
                   help="a litellm proxy config (model_list: model_name + litellm_params {model, api_base, "
                        "api_key: os.environ/X, max_parallel_requests}): --model NAME runs on all its deployments")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request before it is retried")
    p.add_argument("--no-followups", action="store_true", help="skip the template's follow-up steps")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the request cache")
    p.add_argument("--batch", action="store_true",
                   help="send the prompts through the provider's batch API (about half the price, results within "
                        "24 h); the batch id is saved in the session at once, so the same command again (or "
                        "--resume) collects the results even after the studio was closed")
    p.add_argument("--resume", action="store_true",
                   help="collect the session's pending batch of this template (wait for it, save every result once)")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="make only share K of N of the prompts (by a hash of each prompt's identity): N machines "
                        "running 1/N..N/N make disjoint parts of one run; `studio sessions --merge` joins them")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.set_defaults(handler=run)


def run(args) -> int:
    from studio.core.errors import StudioError
    from studio.core.workspace import Workspace

    if args.n is not None and args.n < 0:
        raise StudioError("-n must be zero or more", hint="pass e.g. -n 100")
    if args.concurrency < 1:
        raise StudioError("--concurrency must be at least 1", hint="pass e.g. --concurrency 16")
    if args.answers < 1:
        raise StudioError("--answers must be at least 1", hint="pass e.g. --answers 2 for two answers per prompt")
    if args.timeout <= 0:
        raise StudioError("--timeout must be positive", hint="pass e.g. --timeout 60")
    shard = None
    if args.shard is not None:
        from studio.runs.run import parse_shard

        try:
            shard = parse_shard(args.shard)
        except ValueError as exc:
            raise StudioError(str(exc), hint="pass e.g. --shard 1/3 on the first of three machines") from None
    args.fleet = _fleet(args)
    ws = Workspace.from_env().ensure()
    from studio.core.template import load_template
    from studio.store import Store

    template = load_template(ws.find_template(args.template))
    store = Store(ws.sessions_dir)
    name = args.session or store.most_recent() or template.name
    if not store.exists(name):
        _check_before_creating(ws, template, args)   # an unknown model or missing key creates no session
    elif args.answers > 1:
        _check_answers(ws, store, name, template, args)  # K identical render copies: refused before any write
    from studio.store.inbox import open_adding

    session = open_adding(store, name, create=True)  # a studio holding it: added through its inbox
    try:
        if session.read_only:
            raise StudioError(f"session {name!r} cannot be written: {session.read_only_reason}", path=session.path,
                              hint="fix the folder's permissions, or pass --session OTHER")
        if getattr(session, "guest", False) and not args.json:
            from studio.cli.console import error_console

            error_console().print(f"session {name!r} is open in a studio (pid {session.locked_by}): the samples go "
                                  "to it through its inbox and appear there as they arrive", markup=False)
        from studio.runs.run import Run

        api_base = args.api_base or _remembered_endpoint(session, template, args)
        job = Run(ws, template, session=session, model=args.model, n=args.n, strategy=args.strategy,
                  seed=args.seed, api_base=api_base, concurrency=args.concurrency, timeout=args.timeout,
                  followups=not args.no_followups, cache=not args.no_cache, answers=args.answers,
                  shard=shard, fleet=args.fleet)
        _check_api_base(job, args)
        _say_capped(job, args, shard)
        if args.model and args.model != "render" and args.fleet is None:
            # the session remembers the model you chose (a preview is none) and where it ran (never a key)
            meta = session.meta or {}
            where = args.api_base if args.api_base and "@" not in args.api_base.split("//", 1)[-1].split("/", 1)[0] \
                else None
            if meta.get("model") != args.model or meta.get("api_base") != where:
                session.set_meta(model=args.model, api_base=where)
        import asyncio                    # here, not at the top: every command's start-up loads this module

        if args.batch or args.resume or _pending(session, template):
            summary = asyncio.run(_execute_batch(job, args))
        else:
            summary = asyncio.run(_execute(job, quiet=args.json))
    finally:
        session.close()
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        _print_summary(summary)
    if summary.stopped:
        return 130
    return 1 if summary.failed else 0


def _pending(session, template) -> bool:
    """A live run of a template whose batch is still pending would ask those prompts twice: refuse."""
    from studio.core.errors import StudioError
    from studio.runs.batch import pending_batch

    found = pending_batch(session, template.name, template.version)
    if found is not None:
        raise StudioError(f"session {session.name!r} holds a pending batch ({found['batch'].get('id')}) of "
                          f"{template.name!r}", hint="collect it first: the same command with --resume (or --batch)")
    return False


async def _execute_batch(job, args):
    """The run through the batch API; Ctrl-C stops waiting (the batch stays pending, saved in the session)."""
    import asyncio

    from studio.cli.console import DataConsole
    from studio.runs.batch import BatchRun

    err = DataConsole(stderr=True)
    quiet = args.json

    def said(text: str, _batch: dict) -> None:
        if not quiet:
            err.print(text, markup=False)

    runner = BatchRun(job, on_status=said)
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, runner.stop)
    except (NotImplementedError, RuntimeError):
        pass
    summary = await runner.execute(resume_only=args.resume and not args.batch)
    if summary.stopped and runner.batch and not quiet:
        err.print(f"batch {runner.batch['id']} is pending and saved in session {summary.session!r}: run the same "
                  "command with --resume to collect it", markup=False)
    return summary


def _fleet(args):
    """The fleet the run uses (several --api-base, or --models FILE), else None; args.api_base made one URL."""
    from studio.core.errors import StudioError

    bases = list(args.api_base or [])
    args.api_base = bases[0] if len(bases) == 1 else None
    if args.models:
        if bases:
            raise StudioError("--models and --api-base both say where the model is", hint="give one of them")
        from studio.engine.fleet import load_model_list

        fleets, _ = load_model_list(args.models, args.model, choose=True)   # an unknown --model is said first
        name = next(iter(fleets))
        args.model = name
        return fleets[name]
    if len(bases) > 1:
        from studio.engine.fleet import from_bases

        if not args.model:
            raise StudioError("several --api-base need --model", hint="pass e.g. --model hosted_vllm/NAME")
        return from_bases(args.model, bases)
    return None


def _check_before_creating(ws, template, args) -> None:
    """Resolve the model as the run will (no session yet): a mistake is reported before any file is made."""
    from studio.runs.run import Run

    job = Run(ws, template, model=args.model, n=0, strategy=args.strategy, seed=args.seed, api_base=args.api_base,
              fleet=args.fleet, followups=not args.no_followups, cache=False, answers=args.answers)
    _check_api_base(job, args)
    job.check()


def _remembered_endpoint(session, template, args) -> str | None:
    """The endpoint the session's model last ran at (`studio run --model M --api-base URL`), for a run that
    names neither and uses that model: it goes where M was asked before, not to the provider's default."""
    from studio.engine import default_model

    meta = session.meta or {}
    if args.model or args.fleet is not None or template.model or not meta.get("api_base"):
        return None
    return meta["api_base"] if default_model(meta.get("model")) == meta.get("model") else None


def _check_answers(ws, store, name, template, args) -> None:
    """--answers K into an existing session: resolve the model as the run will (the session's own model when
    none is given) and refuse K identical copies (studio.runs.run.answers_problem) before anything is written."""
    from studio.core.errors import StudioError
    from studio.engine import default_model
    from studio.runs.run import answers_problem

    model = (args.fleet.name if args.fleet is not None else None) or args.model or template.model
    if model is None:
        with store.open(name, read_only=True) as view:
            model = default_model((view.meta or {}).get("model"))
    if problem := answers_problem(args.answers, mode=template.mode, model=model):
        raise StudioError(problem[0], path=template.where if template.mode == "render" else None, hint=problem[1])


def _say_capped(job, args, shard) -> None:
    """-n above the template's distinct prompts runs them all, once each: said on stderr (as the studio's form
    says it), never a silent cap."""
    if not args.n or shard is not None or job._items is not None or job.answer_of is not None:
        return
    fills = job.total // max(1, job.answers)
    if 0 < fills < args.n:
        from studio.cli.console import error_console

        per = -(-args.n // fills)
        if job.mode == "render":        # every answer would be the same text (runs.run.answers_problem)
            what = "once each (add slot values to widen the space)"
        elif job.answers > 1:
            what = f"with {job.answers} answers each ({fills * job.answers:,} samples; add slot values for more prompts)"
        else:
            what = (f"once each (--answers {per} for {per} per prompt, {fills * per:,} samples; or add slot values "
                    "to widen the space)")
        error_console().print(f"asked for {args.n:,}; the template has {fills:,} combinations — running those "
                              f"{fills:,} {what}", markup=False)


def _check_api_base(job, args) -> None:
    """`--api-base URL` is never silently ignored (studio.runs.endpoint, the rule the studio's form uses too):
    it goes with --model, or with the model the template, the session or $STUDIO_MODEL names."""
    from studio.core.errors import StudioError
    from studio.runs.endpoint import NO_SERVER, RENDER_TEMPLATE, endpoint_problem

    if args.fleet is not None:
        return
    problem = endpoint_problem(args.api_base, mode=job.template.mode, model=job.model, named=args.model,
                               template=job.template.name)
    if problem is None:
        return
    url = args.api_base
    if problem.kind == RENDER_TEMPLATE:
        raise StudioError(f"--api-base {url}: {problem.what}",
                          hint="drop --api-base (or set mode: generate in the template)")
    if problem.kind == NO_SERVER:
        raise StudioError(f"--api-base {url}: --model {problem.model} does not call a server",
                          hint="drop --api-base, or pass the model the server serves, e.g. --model hosted_vllm/NAME")
    raise StudioError(f"--api-base {url} needs --model: without one this run would use {problem.would_use}",
                      hint="pass the model the server serves, e.g. --model hosted_vllm/NAME (or openai/NAME), "
                           "or set model: in the template or $STUDIO_MODEL")


async def _execute_quiet(job):
    """`--json`: no progress display, so rich is never imported; Ctrl-C stops as in `_execute`."""
    import asyncio

    loop = asyncio.get_running_loop()
    interrupted = {"n": 0}

    def on_sigint() -> None:
        interrupted["n"] += 1
        if interrupted["n"] > 1:
            raise KeyboardInterrupt
        print("stopping: cancelling requests in flight, keeping completed samples (Ctrl-C again to quit at once)",
              file=sys.stderr, flush=True)
        job.stop()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError):
        pass
    try:
        return await job.execute()
    finally:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass


async def _execute(job, *, quiet: bool):
    if quiet:
        return await _execute_quiet(job)
    import asyncio

    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from studio.cli.console import DataConsole
    from studio.engine.models import describe_model

    err = DataConsole(stderr=True)
    loop = asyncio.get_running_loop()
    interrupted = {"n": 0}

    def on_sigint() -> None:
        interrupted["n"] += 1
        if interrupted["n"] > 1:  # a second Ctrl-C: stop waiting
            raise KeyboardInterrupt
        err.print("[yellow]stopping: cancelling requests in flight, keeping completed samples "
                  "(Ctrl-C again to quit at once)[/]", markup=True)
        job.stop()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError):
        pass
    if not quiet:
        err.print(f"run [bold]{escape(job.template.name)}[/]@{job.template.version} · {job.total} prompt(s) · model "
                  f"[bold]{escape(describe_model(job.model))}[/] · session [bold]{escape(str(job.summary.session))}[/]",
                  markup=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[figures]}"),
                        TimeElapsedColumn(), console=err, transient=False, disable=quiet or not err.is_terminal)

    def figures() -> str:
        p = job.progress
        eta = f"ETA {p['eta']:.0f}s" if p["eta"] is not None else "ETA -"
        cost = Cost(p["cost"], unknown=p["cost_unknown"], cached=p["cached"]).text(short=True)
        return (f"{p['done']} done · {p['failed']} failed · {p['rate']:.1f}/s · {p['tokens']:,} tok · {cost} · "
                f"{eta}")

    announced = {"held": False}

    with progress:
        task = progress.add_task("generating", total=job.total, figures="")

        def refresh(_job=None) -> None:
            p = job.progress
            if p["held"] and not announced["held"] and not quiet:
                announced["held"] = True
                err.print(f"resuming: the session already holds {p['held']} of these {job.total} sample(s); "
                          f"asking only for the other {job.total - p['held']}", markup=False)
            progress.update(task, completed=p["held"] + p["done"] + p["failed"], figures=figures())

        async def ticker() -> None:
            while True:
                refresh()
                await asyncio.sleep(0.2)

        tick = asyncio.ensure_future(ticker())
        try:
            summary = await job.execute()
        finally:
            tick.cancel()
            refresh()
            try:
                loop.remove_signal_handler(signal.SIGINT)
            except (NotImplementedError, RuntimeError):
                pass
    return summary


#: failure reasons listed after a run; beyond it, one "and N more" line
SHOWN_REASONS = 10


def _print_summary(sm) -> None:
    from studio.cli.console import console

    out = console()
    cost = Cost(sm.cost, unknown=sm.cost_unknown, cached=sm.cached).text()
    state = "stopped" if sm.stopped else "done"
    held = f"{sm.held} already in the session · " if sm.held else ""
    flagged = f" ({sm.flagged} flagged: cut off, filtered or refused)" if getattr(sm, "flagged", 0) else ""
    out.print(f"{state}: {sm.done} ok{flagged}, {sm.failed} failed of {sm.total} · {held}"
              f"{sm.requests} request(s) · {sm.tokens_in + sm.tokens_out:,} tokens · cost {cost} · {sm.seconds:.1f}s · "
              f"session {sm.session} run {sm.run_id}", markup=False)
    reasons = sorted(sm.errors.items(), key=lambda kv: -kv[1])
    shown = reasons if len(reasons) <= SHOWN_REASONS else reasons[:SHOWN_REASONS - 1]
    for reason, count in shown:          # whole and wrapped: the end of a reason says what to do
        out.print(f"  failed ×{count}: {reason}", markup=False, overflow="fold")
    if len(shown) < len(reasons):
        rest = reasons[len(shown):]
        out.print(f"  and {len(rest)} more reason(s) for {sum(n for _, n in rest)} sample(s): "
                  f"see studio show {sm.session or ''}".rstrip(), markup=False, overflow="fold")
    for where, count in (getattr(sm, "served", None) or {}).items():
        out.print(f"  served by {where}: {count}", markup=False)
    if sys.stdout.isatty() and sm.session:
        out.print("review them with: studio", markup=False)

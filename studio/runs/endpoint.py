"""One rule for an endpoint (api_base) given with a run, shared by `studio run` and the studio's generate form:
an api_base is never silently ignored. It needs a model that calls a server; a render-mode template, the
`render` model and the embedded `local/...` models call none. The problem is said in words neither front end
owns; each front end adds what to do there (a flag on the command line, a field in the form)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.engine.models import RENDER

RENDER_TEMPLATE = "render-template"   # the template is render mode: no model is called at all
NO_SERVER = "no-server"               # the model named calls no server (render, local/...)
NEEDS_MODEL = "needs-model"           # no model named, and the one the run falls back to calls no server


@dataclass(frozen=True)
class EndpointProblem:
    """Why an api_base would be ignored: `kind` (one of the constants above), `what` (front-end neutral),
    `model` (the model in question) and `would_use` (NEEDS_MODEL: what the run would fall back to)."""

    kind: str
    what: str
    model: str = ""
    would_use: str = ""


def calls_a_server(model: str | None) -> bool:
    """Whether a model string reaches an endpoint (render and the embedded local/... models do not)."""
    return bool(model) and model != RENDER and not str(model).startswith("local/")


def endpoint_problem(api_base: str | None, *, mode: str, model: str, named: str | None,
                     template: str = "") -> EndpointProblem | None:
    """The problem with running `template` (its `mode`) on `api_base` with `model` (what the run will use;
    `named`: the model the person named, None when it came from a default), or None when the endpoint is used.

    >>> endpoint_problem("http://gpu:8000/v1", mode="generate", model="render", named=None).kind
    'needs-model'
    """
    if not api_base:
        return None
    if mode == RENDER:
        return EndpointProblem(RENDER_TEMPLATE, f"template {template!r} is render mode and calls no model")
    if named and not calls_a_server(named):
        return EndpointProblem(NO_SERVER, f"the model {named} does not call a server", model=named)
    if not calls_a_server(model):
        use = "no model (render)" if model == RENDER else f"the embedded {model}, which ignores the URL"
        return EndpointProblem(NEEDS_MODEL, f"an endpoint needs a model that calls a server: {use}",
                               model=model, would_use=use)
    return None

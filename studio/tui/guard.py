"""Never a crash: a failing key handler becomes a notification, and the studio carries on.

Textual ends the app on any exception in a handler (the failing message pump stops), so the screen's
own actions and message handlers catch errors themselves; user errors (StudioError) read as they are.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from studio.core.errors import StudioError


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def guarded(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except StudioError as exc:
            self.notify(str(exc), title="Cannot do that", severity="error", markup=False)
        except Exception as exc:  # noqa: BLE001 - the whole point: report, keep the session alive
            self.log.error(f"{fn.__qualname__}: {exc!r}")
            self.notify(f"{type(exc).__name__}: {exc} — the studio carried on", title="Unexpected error",
                        severity="error", timeout=10, markup=False)
        return None

    return guarded


def guarded(cls: type) -> type:
    """Wrap every synchronous `action_*` and `on_*` method defined on `cls`."""
    for name, fn in list(vars(cls).items()):
        if name.startswith(("action_", "on_")) and inspect.isfunction(fn) \
                and not inspect.iscoroutinefunction(fn):
            setattr(cls, name, _wrap(fn))
    return cls

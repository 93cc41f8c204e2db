"""Per-instance callback dispatchers, in the style of ipyleaflet's ``on_click(callback, remove=False)``.

Each widget owns its dispatchers: nothing is shared between instances. A callback that raises
does not stop the others and never prints a traceback into the page: the error is logged and
handed to the dispatcher's ``on_error`` (the views show it as a message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("widgets")


class Dispatcher:
    """An ordered set of callbacks called with the same arguments."""

    def __init__(self, on_error: Callable[[Exception], Any] | None = None) -> None:
        self._callbacks: list[Callable] = []
        self.on_error = on_error

    def register(self, callback: Callable, remove: bool = False) -> None:
        if remove:
            if callback in self._callbacks:
                self._callbacks.remove(callback)
        elif callback not in self._callbacks:
            self._callbacks.append(callback)

    def __len__(self) -> int:
        return len(self._callbacks)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a user's callback must not break the widget
                log.warning("callback %r failed: %s", callback, exc, exc_info=True)
                if self.on_error is not None:
                    self.on_error(exc)

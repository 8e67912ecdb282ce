"""One thread that owns the store and runs the work given to it by priority, then in the order given: a person's
request goes before the store work of a judge batch queued beside it, so a label waits for at most the one piece
of work in hand."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

#: People's requests, and a judge batch's lookup and save.
NOW, LATER = 0, 1


class PriorityWorker:
    def __init__(self, name: str):
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, priority: int = NOW, **kwargs: Any) -> Future:
        future: Future = Future()
        self._queue.put((priority, next(self._order), fn, args, kwargs, future))
        return future

    def shutdown(self) -> None:
        """Run what was given, then stop."""
        self._queue.put((LATER + 1, next(self._order), None, (), {}, None))
        self._thread.join()

    def _serve(self) -> None:
        while True:
            _, _, fn, args, kwargs, future = self._queue.get()
            if fn is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # the caller gets it, the thread goes on
                future.set_exception(exc)

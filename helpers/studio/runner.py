"""Run :func:`stylize` in a background thread: start, stop, a throttled per-step callback. No widgets.

The studio hands a :class:`Runner` two plain functions: ``on_step(n, image, record, preview,
plot)``, called from the worker thread after every step (``preview``/``plot`` say whether this
step should redraw them: at most every ``preview_every`` / ``plot_every`` seconds, and always on
the first and last step), and ``on_done(result, error)``, called once when the run ends.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..optimize import stylize
from ..records import Result

PREVIEW_EVERY_S = 0.2  # at most ~5 preview images a second: each is a PNG over the websocket
PLOT_EVERY_S = 0.5  # the loss plot takes ~30 ms to draw
CACHE_MAX = 32  # targets kept (content features and style Grams, a few MB each at most)


class Throttle:
    """True on the first call, then at most once every ``every`` seconds (or when forced)."""

    def __init__(self, every: float, clock: Callable[[], float] = time.perf_counter):
        self.every, self.clock, self.last = every, clock, None

    def __call__(self, force: bool = False) -> bool:
        now = self.clock()
        if force or self.last is None or now - self.last >= self.every:
            self.last = now
            return True
        return False


class Runner:
    """One run at a time of ``run`` (default :func:`stylize`) in a daemon thread.

    ``cache`` (stylize's targets) is kept across runs; ``records`` holds the current run's
    per-step records, ``previous`` the last run's. ``result``/``error``: how the last run ended.
    """

    def __init__(self, on_step: Callable, on_done: Callable, *, run: Callable | None = None,
                 preview_every: float = PREVIEW_EVERY_S, plot_every: float = PLOT_EVERY_S,
                 clock: Callable[[], float] = time.perf_counter):
        self.on_step, self.on_done, self.run = on_step, on_done, run
        self.clock = clock
        self.preview_every, self.plot_every = preview_every, plot_every
        self.cache: dict = {}
        self.records: list[dict] = []
        self.previous: list[dict] = []
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.total = 0
        self.t_first: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self, content, style, options: dict, before: Callable | None = None) -> bool:
        """Start a run of ``run(content, style, **options)``; False (and nothing done) if one is going.

        ``before()``, if given, runs first in the worker thread (the studio's fast preview).
        """
        if self.running:
            return False
        while len(self.cache) > CACHE_MAX:  # between runs only: the worker reads it
            self.cache.pop(next(iter(self.cache)))
        self._stop.clear()
        self.error, self.t_first = None, None
        self.previous, self.records = self.records, []
        steps = options.get("steps", 0)
        self.total = sum(steps) if isinstance(steps, (list, tuple)) else steps
        self._preview = Throttle(self.preview_every, self.clock)
        self._plot = Throttle(self.plot_every, self.clock)
        self._thread = threading.Thread(target=self._work, args=(content, style, options, before),
                                        name="StyleStudio", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> bool:
        """Ask the run to stop after the current step (it keeps the best image); False if none runs."""
        if not self.running:
            return False
        self._stop.set()
        return True

    def wait(self, timeout: float | None = None) -> Result | None:
        """Block until the run ends; return its Result, or re-raise its error."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the run was still going after {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result

    def rate(self) -> float:
        """Steps per second since the first step (0 before the second)."""
        n = len(self.records)
        if n < 2 or self.t_first is None:
            return 0.0
        return (n - 1) / max(self.clock() - self.t_first, 1e-9)

    def _work(self, content, style, options, before):
        result = None
        try:
            if before is not None:
                before()
            run = self.run or stylize
            result = run(content, style, callback=self._callback, cache=self.cache, progress=False,
                         **options)
            self.result = result
        except BaseException as e:  # reported by on_done; wait() re-raises it
            self.error = e
        finally:
            self.on_done(result, self.error)

    def _callback(self, step, image, record) -> bool:
        self.records.append(record)
        n = len(self.records)
        if self.t_first is None:
            self.t_first = self.clock()
        last = n == self.total
        self.on_step(n, image, record, self._preview(last), self._plot(last))
        return not self._stop.is_set()

"""Decode files in background threads while the model works on earlier ones."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetch(
    items: Iterable[T], load: Callable[[T], R], workers: int = 2, ahead: int = 4
) -> Iterator[tuple[T, R | Exception]]:
    """Yield ``(item, load(item))`` in order, at most ``ahead`` loads in flight.

    A load that raises yields its exception instead, so one bad file does not stop the rest.
    """

    def safe(item: T) -> R | Exception:
        try:
            return load(item)
        except Exception as exc:  # handed to the caller, who reports it
            return exc

    queue: deque[tuple[T, Future]] = deque()
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for item in iterator:
            queue.append((item, pool.submit(safe, item)))
            if len(queue) >= ahead:
                done, future = queue.popleft()
                yield done, future.result()
        while queue:
            done, future = queue.popleft()
            yield done, future.result()

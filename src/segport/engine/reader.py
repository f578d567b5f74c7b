"""A segment's rows as Arrow record batches, whatever the source.

Every source can stream tuples (:meth:`ProfileSource.iter_batches`); the plan wants Arrow, so
that its own DuckDB normalises, dedupes and diffs every source with the same SQL. Tuples are
converted column by column (a column of mixed types goes through ``str``).

Fast path: a source with an ``iter_arrow(segment, columns, batch_size)`` method (the DuckDB
file source) is asked for Arrow directly.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence

import pyarrow as pa

from segport.model import Segment
from segport.sources.base import ProfileSource


def _column(values: Sequence[object]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _tuple_batches(source: ProfileSource, segment: Segment, columns: Sequence[str],
                   batch_size: int) -> Iterator[pa.RecordBatch]:
    names = [f"c{i}" for i in range(len(columns))]
    for rows in source.iter_batches(segment, columns, batch_size):
        if not rows:
            continue
        arrays = [_column(col) for col in zip(*rows, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def arrow_batches(source: ProfileSource, segment: Segment, columns: Sequence[str],
                  batch_size: int) -> Iterator[pa.RecordBatch]:
    """``segment``'s rows, ``columns`` only, as record batches with columns ``c0, c1, …``."""
    own = getattr(source, "iter_arrow", None)
    if callable(own):
        names = [f"c{i}" for i in range(len(columns))]
        return (b.rename_columns(names) for b in own(segment, columns, batch_size)
                if b.num_rows)
    return _tuple_batches(source, segment, columns, batch_size)


_DONE = object()


def prefetched(batches: Iterator[pa.RecordBatch], depth: int = 1) -> Iterator[pa.RecordBatch]:
    """``batches`` read ahead by a thread (the source decodes the next batch while the caller
    works on this one); the source's errors surface here, in the caller's thread."""
    ready: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: object = _DONE
        except BaseException as exc:  # handed to the consumer
            item = exc
        finally:
            close = getattr(batches, "close", None)
            if stop.is_set() and callable(close):
                close()
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="segport-source-reader", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()

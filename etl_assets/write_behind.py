"""Parquet encoded and written on a worker thread while the caller reads the next rows.

pyarrow lets go of the interpreter while it encodes and compresses, so a stage that reads, filters and writes a
window batch by batch uses both cores with the writes behind it (docs/architecture.md §3).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq

# tables handed over but not yet written: bounds the memory a slow disk can make the reader hold
WRITES_AHEAD = 2


class WriteBehind:
    """Writes run in the order given, on one worker thread; the caller waits only when WRITES_AHEAD are queued.

    Leaving the block waits for every write and raises the first write's error; when the block itself failed, the
    writes already queued end quietly, so the caller's writers can be closed after it.
    """

    def __init__(self, name: str = "parquet-write") -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.writes: deque[Future] = deque()

    def __enter__(self) -> WriteBehind:
        return self

    def write(self, writer: pq.ParquetWriter, table: pa.Table, **options: object) -> None:
        self.writes.append(self.pool.submit(writer.write_table, table, **options))
        while len(self.writes) > WRITES_AHEAD:
            self.writes.popleft().result()

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            while exc_type is None and self.writes:
                self.writes.popleft().result()
        finally:
            for write in self.writes:
                write.cancel() or write.exception()
            self.pool.shutdown(wait=True)

"""A task's received audio, spooled to an anonymous temporary file instead of kept in memory.

:class:`PcmSpool` is ``TaskRecord.pcm``: the stream handler appends each decoded chunk
(``extend``), cuts a final sentence's audio back out (``spool[a:b]``), a dropped connection
rewinds to the last final (``truncate``), and post-processing maps the whole recording
read-only (``samples()``) on a worker thread. A day of 16 kHz audio is 2.7 GB on disk and a
few pages of memory.

The file is created on the first append with :func:`tempfile.TemporaryFile` in ``directory``
(the system temp dir by default), so it has no name and the kernel frees it when the spool is
closed (:meth:`close`, done when the task is finished and when the emulator stops) or the
process dies. The file never shrinks while open: ``truncate`` only moves the logical end (later
appends overwrite the tail), so a read-only mapping taken earlier stays valid.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import threading
from pathlib import Path
from typing import IO

import numpy as np

__all__ = ["PcmSpool"]


class PcmSpool:
    """Append-only s16le audio on disk; ``len()`` is its length in bytes.

    Not thread-safe for writers: one stream appends at a time (the emulator's event loop);
    readers (``[a:b]``, ``samples()``) may run on other threads.
    """

    __slots__ = ("_directory", "_file", "_lock", "_size", "closed")

    def __init__(self, directory: str | Path | None = None) -> None:
        self._directory = None if directory is None else str(directory)
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._size = 0
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._size} bytes"
        return f"<PcmSpool {state}>"

    def __len__(self) -> int:
        return self._size

    def extend(self, data: bytes) -> None:
        """Append ``data`` at the logical end. Raises ValueError once closed."""
        if self.closed:
            raise ValueError("the task's audio has been released")
        if not data:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="tingwu-emu-", suffix=".pcm", dir=self._directory)
        written = os.pwrite(self._file.fileno(), data, self._size)
        while written < len(data):  # short writes are rare but allowed
            written += os.pwrite(self._file.fileno(), memoryview(data)[written:], self._size + written)
        self._size += len(data)

    def file_size(self) -> int:
        """Bytes the spool file holds on disk now (0 before the first append and once closed)."""
        with self._lock:
            return 0 if self._file is None or self.closed else os.fstat(self._file.fileno()).st_size

    def truncate(self, size: int) -> None:
        """Forget everything after ``size`` bytes (the next append goes there)."""
        self._size = max(0, min(self._size, size))

    def __getitem__(self, item: slice) -> bytes:
        """``spool[start:end]``: a copy of that byte range (empty once closed)."""
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError("PcmSpool supports contiguous slices only")
        start, end, _ = item.indices(self._size)
        if end <= start or self._file is None or self.closed:
            return b""
        return os.pread(self._file.fileno(), end - start, start)

    def samples(self) -> np.ndarray:
        """The audio so far as a read-only int16 array mapped from the file (no copy).

        The mapping stays valid after :meth:`close` and after later appends or truncations
        (it keeps the length it had); pages are read from disk as they are touched.
        """
        count = self._size // 2
        with self._lock:
            if count == 0 or self._file is None or self.closed:
                return np.zeros(0, dtype="<i2")
            view = mmap.mmap(self._file.fileno(), count * 2, access=mmap.ACCESS_READ)
        return np.frombuffer(view, dtype="<i2")

    def close(self) -> None:
        """Delete the file (the kernel frees it once no mapping uses it). Safe to call twice."""
        with self._lock:
            self.closed = True
            if self._file is not None:
                self._file.close()
                self._file = None

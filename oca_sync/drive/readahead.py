"""A ``read_at`` over a re-openable download, read ahead in a thread and hashed on the way.

:meth:`oca_sync.drive.client.DriveClient.upload_chunks` asks ``read_at(offset,
length)`` for each chunk; :class:`ReadAhead` answers with a :class:`Chunk`: a
sized body that requests streams piece by piece as the download delivers
them. A chunk's PUT starts with its first piece instead of waiting for all of
it, no chunk is ever gathered into one buffer, and nothing is kept once sent:
memory is the read-ahead (``ahead`` bytes) and one piece, whatever the chunk
size.

Why each part (figures in ``benchmarks/README.md``):

* **The thread** downloads (and hashes) while the main thread sends: both wait
  on sockets, and MD5 releases the GIL for large buffers, so on two cores they
  run side by side. The queue between them is bounded in bytes.
* **The hash** covers every byte of the stream, in order, as it arrives. When
  every byte was sent once, straight from this stream, Drive's ``md5Checksum``
  equals :meth:`ReadAhead.finish`'s digest exactly when the copy is intact.
* **Asking again**: a 308 may confirm fewer bytes than were sent, a chunk may
  fail mid-way, a 401 makes requests send a body twice. Those bytes are not
  kept: the download is opened again at the offset asked for (Zoom downloads
  take ``Range``). Bytes then reach Drive from two reads, so the running hash
  no longer speaks for Drive's copy: :meth:`ReadAhead.finish` returns None and
  the caller verifies by reading the file again. Rare (a failure), and memory
  stays flat in the common case.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["DEFAULT_AHEAD", "Chunk", "ReadAhead"]

#: Bytes read ahead of the upload by default.
DEFAULT_AHEAD = 2 * 1024 * 1024


class _Producer:
    """One download, read in a thread into a queue bounded in bytes."""

    def __init__(self, source: Iterable[Any], ahead: int, md5: Any) -> None:
        self.source = source
        self.ahead = ahead
        self.md5 = md5
        self.queue: deque[Any] = deque()
        self.queued = 0
        self.end = False
        self.error: BaseException | None = None
        self.stop = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="oca-download", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for piece in self.source:
                if self.stop:
                    return
                if not piece:
                    continue
                if self.md5 is not None:
                    self.md5.update(piece)  # releases the GIL for large pieces
                with self.cond:
                    while self.queued >= self.ahead and not self.stop:
                        self.cond.wait()
                    if self.stop:
                        return
                    self.queue.append(piece)
                    self.queued += len(piece)
                    self.cond.notify_all()
        except BaseException as e:  # handed to the consumer, which raises it
            with self.cond:
                self.error = e
                self.cond.notify_all()
            return
        with self.cond:
            self.end = True
            self.cond.notify_all()

    def take(self) -> memoryview | None:
        """The next piece (None at the end of the stream); raises what the download raised."""
        with self.cond:
            while not self.queue and not self.end and self.error is None:
                self.cond.wait()
            if self.queue:
                piece = self.queue.popleft()
                self.queued -= len(piece)
                self.cond.notify_all()
                return memoryview(piece)
            if self.error is not None:
                raise self.error
            return None

    def close(self) -> None:
        with self.cond:
            self.stop = True
            self.cond.notify_all()
        close = getattr(self.source, "close", None)
        if close is not None:
            close()  # a read in progress fails, and the thread ends
        self.thread.join(timeout=5)


class ReadAhead:
    """``read_at`` over ``open(offset)``: an iterable of bytes-like from ``offset`` (e.g. a Zoom download).

    ``start`` is the first offset read. ``checksum=True`` computes the MD5 of
    the stream (:meth:`finish`). Use as a context manager, or call
    :meth:`close`, so the thread stops if the upload stops early (``close``
    also closes the iterable when it has a ``close`` method).
    """

    def __init__(self, open: Callable[[int], Iterable[Any]], *, start: int = 0, ahead: int = 2 * 1024 * 1024,
                 checksum: bool = True) -> None:
        self._open = open
        self._ahead = ahead
        self._md5: Any = hashlib.md5() if checksum else None
        self._pos = start  # the offset of the next byte handed on
        self._pending: memoryview | None = None  # the rest of a piece, at _pos
        self._asked = start
        #: times the download was opened again because bytes were asked for twice
        self.reopened = 0
        self._producer = _Producer(open(start), ahead, self._md5)

    def __call__(self, offset: int, length: int) -> Chunk:
        """Bytes ``[offset, offset + length)`` as a :class:`Chunk`."""
        if offset < self._asked:
            raise ValueError(f"offset {offset} is before {self._asked}, asked for already: offsets never go back")
        self._asked = offset
        return Chunk(self, offset, length)

    def _next(self) -> memoryview | None:
        if self._pending is not None:
            piece, self._pending = self._pending, None
            return piece
        return self._producer.take()

    def _seek(self, offset: int) -> None:
        if offset < self._pos:
            # Asked for bytes handed on already: read them again (see the module's docstring).
            self._producer.close()
            self._md5 = None
            self._pending = None
            self._pos = offset
            self.reopened += 1
            self._producer = _Producer(self._open(offset), self._ahead, None)
        while self._pos < offset:
            piece = self._next()
            if piece is None:
                return
            skip = offset - self._pos
            if skip < len(piece):
                self._pending = piece[skip:]
                self._pos = offset
            else:
                self._pos += len(piece)

    def _pieces(self, offset: int, length: int) -> Iterator[memoryview]:
        self._seek(offset)
        end = offset + length
        while self._pos < end:
            piece = self._next()
            if piece is None:
                raise ValueError(f"the source ended at byte {self._pos}, before byte {end}")
            n = min(len(piece), end - self._pos)
            if n < len(piece):
                self._pending = piece[n:]
            self._pos += n
            yield piece[:n]

    def finish(self) -> str | None:
        """Read the rest of the stream (the hash must cover every byte); its MD5 (hex), or None when
        the download was opened again (or ``checksum=False``): then the hash does not vouch for the copy."""
        while (piece := self._next()) is not None:
            self._pos += len(piece)
        self.close()
        return self._md5.hexdigest() if self._md5 is not None else None

    def close(self) -> None:
        """Stop the thread: it may be waiting for room in the queue or for the network."""
        self._producer.close()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Chunk:
    """``length`` bytes at ``offset`` of a :class:`ReadAhead`, produced as they arrive.

    requests sends it as a body with ``Content-Length: len(chunk)``, one piece
    (a ``memoryview``, no copy) at a time. Iterating it again reads its bytes
    again. A stream that ends early raises ``ValueError`` while it is sent.
    """

    def __init__(self, reader: ReadAhead, offset: int, length: int) -> None:
        self._reader = reader
        self.offset = offset
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[memoryview]:
        return self._reader._pieces(self.offset, self._length)

    def __bytes__(self) -> bytes:
        return b"".join(self)

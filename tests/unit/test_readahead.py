"""ReadAhead: the archive's read-ahead, hash and streamed chunks, without a network."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import pytest

from oca_sync.drive.readahead import ReadAhead

DATA = bytes(range(256)) * 400  # 102,400 bytes


class Source:
    """A download that can be opened at any offset; records where it was opened and what it produced."""

    def __init__(self, data: bytes = DATA, size: int = 7000) -> None:
        self.data, self.size = data, size
        self.opened: list[int] = []
        self.produced = 0
        self.closed = 0

    def __call__(self, start: int) -> Iterator[bytes]:
        self.opened.append(start)
        return self._read(start)

    def _read(self, start: int) -> Iterator[bytes]:
        for i in range(start, len(self.data), self.size):
            self.produced += min(self.size, len(self.data) - i)
            yield self.data[i:i + self.size]


def test_chunks_are_the_bytes_asked_for_and_the_hash_covers_the_stream() -> None:
    src = Source()
    with ReadAhead(src, ahead=10_000) as read:
        first = read(0, 32768)
        assert len(first) == 32768
        parts = list(first)
        assert all(isinstance(p, memoryview) for p in parts)  # no copy of the pieces
        assert b"".join(parts) == DATA[:32768]
        assert bytes(read(32768, 50000)) == DATA[32768:82768]
        assert bytes(read(82768, len(DATA) - 82768)) == DATA[82768:]
        with pytest.raises(ValueError):
            read(10, 10)  # offsets never go back before the last one asked for
        assert read.finish() == hashlib.md5(DATA).hexdigest()
    assert src.opened == [0]


def test_the_hash_covers_bytes_never_asked_for() -> None:
    # Resuming: Drive has the first 40,000 bytes; they are read (and hashed), not sent.
    with ReadAhead(Source()) as read:
        assert bytes(read(40000, 10000)) == DATA[40000:50000]
        assert read.finish() == hashlib.md5(DATA).hexdigest()


def test_bytes_asked_for_again_are_read_again_and_the_hash_then_vouches_for_nothing() -> None:
    src = Source()
    with ReadAhead(src) as read:
        chunk = read(0, 32768)
        assert bytes(chunk) == DATA[:32768]
        assert bytes(chunk) == DATA[:32768]  # sent twice (a 401 retry)
        # the server kept fewer bytes than sent: the next chunk starts inside this one
        assert bytes(read(20000, 32768)) == DATA[20000:52768]
        assert bytes(read(52768, len(DATA) - 52768)) == DATA[52768:]
        assert read.finish() is None and read.reopened == 2
    assert src.opened == [0, 0, 20000]


def test_a_short_stream_and_a_broken_download_raise_where_the_chunk_is_sent() -> None:
    with ReadAhead(Source(DATA[:5000])) as read:
        with pytest.raises(ValueError, match="ended at byte 5000"):
            bytes(read(0, 8192))

    class Broken(Exception):
        pass

    def broken(start: int) -> Iterator[bytes]:
        yield DATA[:3000]
        raise Broken("the link is gone")

    with ReadAhead(broken) as read:
        with pytest.raises(Broken):
            bytes(read(0, 8192))


def test_memory_is_the_read_ahead_whatever_the_chunk_and_close_stops_the_thread() -> None:
    src = Source(DATA * 100, 4096)
    closed = []

    class Download:
        def __init__(self, start: int) -> None:
            self.it = src(start)

        def __iter__(self) -> Iterator[bytes]:
            return self.it

        def close(self) -> None:
            closed.append(True)

    read = ReadAhead(Download, ahead=16384)
    sent = 0
    for piece in read(0, 1_000_000):  # a chunk far larger than the read-ahead
        sent += len(piece)
        if sent > 100_000:
            break
    time.sleep(0.2)  # the thread reads ahead, then waits for room
    assert src.produced <= sent + 16384 + 2 * 4096
    read.close()
    assert closed and not any(t.name == "oca-download" and t.is_alive() for t in threading.enumerate())

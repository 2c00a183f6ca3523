"""Find input files (paths, folders, globs, stdin, .gz, .zip) and open them as decompressed byte streams."""

from __future__ import annotations

import glob
import hashlib
import io
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import RawIOBase
from pathlib import Path
from typing import IO, cast

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".jl", ".gz", ".zip")


class InputError(Exception):
    """An input path cannot be used (missing, unreadable, not a supported archive)."""


class CountingReader(io.RawIOBase):
    """Wraps a binary stream; counts bytes read, hashes them, and reports progress."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None] | None = None, hash_bytes: bool = True):
        super().__init__()
        self.raw = raw
        self.count = 0
        self.sha256 = hashlib.sha256() if hash_bytes else None
        self.on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        if self.sha256 is not None:
            self.sha256.update(data)
        if self.on_bytes is not None and size:
            self.on_bytes(size)
        return size


@dataclass
class InputFile:
    """One logical input: a file, an archive member or stdin."""

    label: str
    opener: Callable[[], IO[bytes]]
    size: int | None  # bytes on disk (compressed), for progress; None when unknown

    def open(self) -> IO[bytes]:
        return self.opener()


# Decompression is bounded: past this many bytes out, a stream that expands more than MAX_RATIO times its compressed
# size is taken for a decompression bomb. Real OCDS compresses about 10–30 times; a file of NUL bytes, 1,000 times.
BOMB_CHECK_AFTER = 256 * 1024 * 1024
MAX_RATIO = 200


class DecompressionError(OSError):
    """A compressed input that cannot be read to its end: truncated, corrupt, or expanding without bound."""


class GzipStream(io.RawIOBase):
    """Gzip decompressed as it is read (every member of a multi-member file), with two differences from
    `gzip.GzipFile`: when the compressed data stop before their end marker, everything decompressed so far is
    returned first and `truncated` says so (GzipFile raises, and the lines already decompressed in its last read
    are lost); and a stream expanding more than MAX_RATIO times is stopped with a `DecompressionError`."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        super().__init__()
        self.raw = raw
        self.name = name
        self.compressed = 0
        self.decompressed = 0
        self.truncated = False
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._finished = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while not self._pending and not self._finished:
            self._pending = self._inflate(len(buffer))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.decompressed += size
        if self.decompressed > BOMB_CHECK_AFTER and self.decompressed > MAX_RATIO * max(self.compressed, 1):
            raise DecompressionError(
                f"{self.name}: expands more than {MAX_RATIO} times ({self.compressed:,} bytes gave "
                f"{self.decompressed:,}): not read further (a decompression bomb?)"
            )
        return size

    def _read_raw(self) -> bytes:
        data = self.raw.read(1 << 16)
        self.compressed += len(data)
        return data

    def _inflate(self, wanted: int) -> bytes:
        """Some decompressed bytes (possibly none: then call again), or none with `_finished` set at the end."""
        if self._inflater.eof:  # a member ended: another may follow
            data = self._inflater.unused_data
            while len(data) < 2 and (more := self._read_raw()):
                data += more
            if not data:
                self._finished = True
                return b""
            if data[:2] != GZIP_MAGIC:
                raise DecompressionError(f"{self.name}: {len(data):,}+ bytes after the gzip data that are not gzip")
            self._inflater = zlib.decompressobj(wbits=31)
        elif self._inflater.unconsumed_tail:
            data = self._inflater.unconsumed_tail
        else:
            data = self._read_raw()
            if not data:
                self._finished = True
                self.truncated = self.compressed > 0  # the input stopped inside a member
                return b""
        try:
            return self._inflater.decompress(data, max(wanted, 1 << 16))
        except zlib.error as error:
            raise DecompressionError(f"{self.name}: corrupt gzip data ({error})") from error


def is_truncated(stream: object) -> bool:
    """Whether a gzip stream under these wrappers (counting, buffering) stopped before its end marker."""
    while stream is not None:
        if isinstance(stream, GzipStream):
            return stream.truncated
        stream = getattr(stream, "raw", None)
    return False


def maybe_gzip(handle: IO[bytes], name: str) -> IO[bytes]:
    """The stream decompressed when it starts with gzip's magic bytes (whatever its name), else as it is."""
    peek = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
    if not peek and handle.seekable():
        peek = handle.read(2)
        handle.seek(0)
    if peek == GZIP_MAGIC:
        return cast(IO[bytes], io.BufferedReader(cast(RawIOBase, GzipStream(handle, name)), 1 << 20))
    return handle


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    return maybe_gzip(handle, str(path))


def _zip_members(path: Path) -> Iterator[InputFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{path}: not a readable zip archive ({error})") from error
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
    for info in sorted(members, key=lambda member: member.filename):

        def opener(info: zipfile.ZipInfo = info) -> IO[bytes]:
            archive = zipfile.ZipFile(path)
            member = cast(IO[bytes], io.BufferedReader(cast(RawIOBase, archive.open(info))))
            return maybe_gzip(member, f"{path}!{info.filename}")  # a gzip member whatever its name

        yield InputFile(f"{path}!{info.filename}", opener, info.compress_size)


def _expand_file(path: Path) -> Iterator[InputFile]:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == ZIP_MAGIC:
        yield from _zip_members(path)
    else:
        yield InputFile(str(path), lambda: _open_maybe_gzip(path), path.stat().st_size)


def _is_data_file(path: Path) -> bool:
    return path.suffix.lower() in DATA_SUFFIXES and not path.name.startswith(".")


def discover(paths: list[str], skipped: list[str] | None = None) -> Iterator[InputFile]:
    """Expand the given paths into input files, in a stable order.

    Folders are searched recursively for .json/.jsonl/.ndjson/.jl/.gz/.zip files; other files found in
    folders are listed in `skipped` (named files and glob matches are always read). `-` is standard input.
    """
    for given in paths:
        if given == "-":
            yield InputFile("<stdin>", _stdin, None)
            continue
        if any(char in given for char in "*?["):
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                raise InputError(f"{given}: no file matches this pattern")
            for match in matches:
                if Path(match).is_file():
                    yield from _expand_file(Path(match))
            continue
        path = Path(given)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file():
                    continue
                if _is_data_file(child):
                    yield from _expand_file(child)
                elif skipped is not None:
                    skipped.append(str(child))
        elif path.is_file():
            yield from _expand_file(path)
        else:
            raise InputError(f"{given}: no such file or folder")


def _stdin() -> IO[bytes]:
    return maybe_gzip(sys.stdin.buffer, "<stdin>")

"""Find input files (paths, folders, globs, stdin, .gz, .zip) and open them as decompressed byte streams."""

from __future__ import annotations

import codecs
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


class Transcoded(io.RawIOBase):
    """A stream in another Unicode encoding (UTF-16, UTF-32) read as UTF-8, decoded as it is read. Bytes that are
    not valid in that encoding stop the stream with a `DecompressionError` naming the byte offset (everything
    decoded before it is returned first)."""

    def __init__(self, raw: IO[bytes], encoding: str, name: str) -> None:
        super().__init__()
        self.raw = raw
        self.encoding = encoding
        self.name = name
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._pending = b""
        self._offset = 0
        self._finished = False
        self._error: DecompressionError | None = None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while not self._pending and not self._finished:
            if self._error is not None:
                raise self._error
            data = self.raw.read(1 << 16)
            held = len(self._decoder.getstate()[0])  # bytes of an unfinished character from the last read
            try:
                text = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as error:
                # Return what decodes before the bad bytes first; the error comes with the next read.
                good = data[: max(0, error.start - held)]
                text = self._decoder.decode(good)
                self._error = DecompressionError(
                    f"{self.name}: not valid {self.encoding.upper()} at byte {self._offset + len(good):,} "
                    f"({error.reason}): not read further"
                )
                data = good
            self._offset += len(data)
            self._finished = not data and self._error is None
            self._pending = text.encode("utf-8", "surrogatepass")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


# Byte-order marks, longest first (UTF-32's little-endian mark begins with UTF-16's).
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """(encoding, bytes of byte-order mark) of a JSON text from its first bytes: a byte-order mark if there is
    one, else the pattern of zero bytes around the first character, which in JSON is ASCII (RFC 4627 §3; RFC 8259
    requires UTF-8 but files saved by spreadsheet and Windows tools still arrive in UTF-16)."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return encoding, len(mark)
    if len(head) >= 4:
        if head[:3] == b"\0\0\0" and head[3]:
            return "utf-32-be", 0
        if head[0] and head[1:4] == b"\0\0\0":
            return "utf-32-le", 0
    if len(head) >= 2:
        if not head[0] and head[1]:
            return "utf-16-be", 0
        if head[0] and not head[1]:
            return "utf-16-le", 0
    return "utf-8", 0


def as_utf8(stream: IO[bytes], name: str) -> tuple[IO[bytes], str]:
    """The stream as UTF-8 without a byte-order mark, and the encoding it was in ("utf-8-sig": UTF-8 with a mark)."""
    head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
    encoding, mark = sniff_encoding(head)
    if mark:
        stream.read(mark)
    if encoding in ("utf-8", "utf-8-sig"):
        return stream, encoding
    transcoded = Transcoded(stream, encoding, name)
    return cast(IO[bytes], io.BufferedReader(cast(RawIOBase, transcoded), 1 << 20)), encoding


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

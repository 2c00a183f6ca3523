"""Find input files (paths, folders, globs, stdin, .gz, .zip) and open them as decompressed byte streams."""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    magic = handle.read(2)
    handle.seek(0)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


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
            member = archive.open(info)
            if info.filename.endswith(".gz"):
                return gzip.GzipFile(fileobj=member, mode="rb")  # type: ignore[return-value]
            return member

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
    stream = sys.stdin.buffer
    peek = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if peek == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream

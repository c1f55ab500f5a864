"""A file's text in memory, decompressed in bounded steps and within a size limit.

A small compressed file can expand to gigabytes (a "decompression bomb"), and a gzip
trailer can claim any size. The readers that hold a file's text in memory (XES, and CSV
when it is compressed or decoded by Python) read it through :func:`read_bytes`, which

* recognises gzip, zlib and zstd by their magic bytes, whatever the file's name (the
  three formats polars would otherwise decompress on its own, without a bound);
* decompresses at most 1 MiB of text per step into one buffer that grows geometrically,
  trusting the size in a gzip trailer only up to 64 times the compressed size;
* stops with a :class:`FileFormatError` as soon as the text passes ``max_bytes``, saying
  how far it got and what to do, and reports a truncated or corrupt stream the same way,
  never with a raw ``EOFError``, ``zlib.error`` or ``MemoryError``.

The limit is ``max_bytes=`` of the reader, else the environment variable
``JOURNEYMINE_MAX_BYTES``, else a quarter of the machine's memory (the smaller of its
physical memory and the cgroup limit of a container): reading needs three to four times
the text's size, so a larger text could not be analysed on this machine anyway.
"""

from __future__ import annotations

import io
import os
import re
import zlib
from pathlib import Path
from typing import Any, Final, Literal, NoReturn

from ._params import invalid
from .errors import FileFormatError, InvalidParameterError

__all__ = ["ENV_VAR", "codec_of", "default_max_bytes", "read_bytes", "resolve_max_bytes", "size_text"]

#: environment variable that sets the limit when ``max_bytes`` is not passed
ENV_VAR: Final = "JOURNEYMINE_MAX_BYTES"

Codec = Literal["gzip", "zlib", "zstd"]

# small steps keep each piece of text in the CPU's cache until it is copied into the
# buffer: 64 KiB in, 1 MiB out was the fastest of the sizes measured (faster than gzip's
# readinto, which the reader used before)
_IN_STEP: Final = 1 << 16  # compressed bytes read per step
_OUT_STEP: Final = 1 << 20  # most text decompressed per step
_FIRST: Final = 1 << 20  # first capacity of the buffer (grown by doubling)
_TRUST: Final = 64  # a gzip trailer is believed up to this many times the file's size
_FALLBACK_MEMORY: Final = 16 << 30  # when the machine does not tell its memory
_ZLIB_HEADS: Final = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


def default_max_bytes() -> int:
    """A quarter of the machine's memory: physical, or the container's limit if lower."""
    memory = _FALLBACK_MEMORY
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < memory:
            memory = int(text)
    return max(memory // 4, 1 << 20)


_SIZE_TEXT = re.compile(r"\s*([0-9][0-9_]*)\s*(?:([KMGT])i?B?)?\s*", re.IGNORECASE)


def resolve_max_bytes(value: Any, owner: str) -> int:
    """The limit in bytes: ``value`` (an int >= 1), else ``$JOURNEYMINE_MAX_BYTES``, else
    :func:`default_max_bytes`."""
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid("max_bytes", owner, "an int >= 1 (a number of bytes) or None", value)
        return int(value)
    text = os.environ.get(ENV_VAR)
    if text is None or not text.strip():
        return default_max_bytes()
    match = _SIZE_TEXT.fullmatch(text)
    if match is None or int(match.group(1)) < 1:
        raise InvalidParameterError(
            f"The environment variable {ENV_VAR} must be a number of bytes >= 1, optionally "
            f"with a unit K, M, G or T (powers of 1024), e.g. 8G. Got {text!r}."
        )
    unit = (match.group(2) or "").upper()
    return int(match.group(1)) << (10 * " KMGT".index(unit or " "))


def size_text(n: int) -> str:
    """``n`` bytes for people: ``"5.2 GB (5,200,000,000 bytes)"``."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def codec_of(head: bytes) -> Codec | None:
    """The compression recognised from the first bytes of a file, or None."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:2] in _ZLIB_HEADS:
        return "zlib"
    magic = int.from_bytes(head[:4], "little") if len(head) >= 4 else -1
    if magic == 0xFD2FB528 or 0x184D2A50 <= magic <= 0x184D2A5F:  # a frame, or a skippable one
        return "zstd"
    return None


def read_bytes(
    p: Path,
    where: str,
    *,
    max_bytes: int,
    owner: str,
    codecs: tuple[Codec, ...] = ("gzip",),
    pad: int = 0,
) -> tuple[bytearray, int]:
    """The text of ``p`` (decompressed when it is in one of ``codecs``) and its length,
    followed by ``pad`` zero bytes.

    Raises
    ------
    FileFormatError
        The text is longer than ``max_bytes``, the compressed stream is truncated or
        corrupt, or memory ran out while reading.
    """
    with open(p, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        codec = codec_of(head)
        if codec not in codecs:
            codec = None
        reader = _Reader(fh, where, max_bytes, owner, codec, pad)
        try:
            if codec is None:
                reader.plain()
            elif codec == "zstd":
                reader.zstd()
            else:
                reader.inflate(codec)
        except MemoryError:
            raise FileFormatError(
                f"{where}: memory ran out after reading {size_text(reader.n)} of its text "
                f"({owner} keeps the whole text in memory). Free memory, lower the limit "
                f"with max_bytes= or {ENV_VAR} so that such files are refused early, or "
                "convert the file to Parquet in smaller parts."
            ) from None
        return reader.finish(), reader.n


class _Reader:
    """One buffer filled in steps, grown by doubling, never past the limit."""

    def __init__(
        self, fh: io.BufferedReader, where: str, limit: int, owner: str, codec: Codec | None, pad: int
    ) -> None:
        self.fh, self.where, self.limit, self.owner = fh, where, limit, owner
        self.codec, self.pad = codec, pad
        self.size = os.fstat(fh.fileno()).st_size
        self.buf = bytearray()
        self.n = 0

    # -- the buffer
    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` bytes of text (and the padding) at least."""
        capacity = min(capacity, self.limit)
        if capacity + self.pad > len(self.buf):
            self.buf.extend(bytes(capacity + self.pad - len(self.buf)))

    def append(self, chunk: Any) -> None:
        m = len(chunk)
        if not m:
            return
        if self.n + m > self.limit:
            self.over(self.n + m)
        if self.n + m + self.pad > len(self.buf):
            self.reserve(max(2 * (len(self.buf) - self.pad), self.n + m, _FIRST))
        self.buf[self.n : self.n + m] = chunk
        self.n += m

    def room(self) -> int:
        """How much text one step may give: one byte past the limit shows it is passed."""
        return min(_OUT_STEP, self.limit - self.n + 1)

    def finish(self) -> bytearray:
        del self.buf[self.n + self.pad :]
        if len(self.buf) < self.n + self.pad:
            self.buf.extend(bytes(self.n + self.pad - len(self.buf)))
        self.buf[self.n :] = bytes(self.pad)
        return self.buf

    # -- the formats
    def plain(self) -> None:
        if self.size > self.limit:
            self.over(self.size, plain=True)
        self.reserve(self.size)
        with memoryview(self.buf) as view:
            self.n = self.fh.readinto(view[: self.size]) or 0
        while True:  # the file grew while read, or is not a regular file: the rest in steps
            chunk = self.fh.read(self.room())
            if not chunk:
                return
            self.append(chunk)

    def inflate(self, codec: Codec) -> None:
        wbits = 31 if codec == "gzip" else 15
        if codec == "gzip" and self.size >= 18:  # the trailer's size, believed up to a bound
            self.fh.seek(self.size - 4)
            claimed = int.from_bytes(self.fh.read(4), "little")
            self.fh.seek(0)
            self.reserve(min(claimed, _TRUST * self.size))
        inflater = zlib.decompressobj(wbits)
        pending, ended = b"", False
        try:
            while True:
                if not pending:
                    pending = self.fh.read(_IN_STEP)
                    ended = not pending
                # with the input at its end, decompress(b"") still gives what zlib holds back
                text = inflater.decompress(pending, self.room())
                pending = inflater.unconsumed_tail
                self.append(text)
                if inflater.eof:
                    rest = self.after_stream(inflater.unused_data)
                    if rest is None:
                        return
                    pending, inflater = rest, zlib.decompressobj(wbits)
                elif ended and not text:
                    break
        except zlib.error as exc:
            self.corrupt(str(exc))
        self.truncated()

    def after_stream(self, rest: bytes) -> bytes | None:
        """What follows a finished stream: None at the end of the file, or the start of
        the next gzip member (zero bytes between members are skipped, as gzip does)."""
        while True:
            if self.codec == "gzip":
                rest = rest.lstrip(b"\0")
            if len(rest) >= 2:
                break
            more = self.fh.read(_IN_STEP)
            if not more:
                if not rest:
                    return None
                break
            rest += more
        if self.codec == "gzip" and rest[:2] == b"\x1f\x8b":
            return rest
        self.corrupt(f"other data follows the end of the {self.codec} stream")

    def zstd(self) -> None:
        import pyarrow as pa

        stream = pa.CompressedInputStream(pa.PythonFile(self.fh, mode="r"), "zstd")
        try:
            while True:
                chunk = stream.read(self.room())
                if not chunk:
                    return
                self.append(memoryview(chunk))
        except OSError as exc:
            if "truncated" in str(exc).lower():
                self.truncated()
            self.corrupt(str(exc))

    # -- the errors
    def over(self, reached: int, *, plain: bool = False) -> NoReturn:
        if plain:
            what = f"{self.where} is {size_text(reached)} of text"
        else:
            what = (
                f"{self.where} expands to more than {size_text(self.limit)} of text when "
                f"decompressed (stopped there, from {size_text(self.size)} of {self.codec})"
            )
        bomb = "" if plain else " A small file that expands this much may be a decompression bomb."
        raise FileFormatError(
            f"{what}. {self.owner} holds the whole text in memory and refuses more than "
            f"max_bytes={self.limit:,} (by default a quarter of this machine's memory).{bomb} If "
            f"the file is genuine and the machine has the memory, pass a larger max_bytes= to "
            f"{self.owner} (or set {ENV_VAR}, e.g. {ENV_VAR}=32G); or "
            f"{'' if plain else 'decompress it and '}convert it to Parquet, which read_parquet "
            "reads column by column."
        )

    def truncated(self) -> NoReturn:
        raise FileFormatError(
            f"{self.where} is a truncated {self.codec} file: the compressed stream stops before "
            f"its end{f' (after {size_text(self.n)} of text)' if self.n else ''}. It was "
            "probably cut short while being copied, downloaded or written; copy or export it "
            "again."
        )

    def corrupt(self, detail: str) -> NoReturn:
        for words, meaning in _ZLIB_WORDS:
            if words in detail:
                detail = meaning
        raise FileFormatError(
            f"{self.where} is a corrupt {self.codec} file: {detail}. Copy or export it again; "
            "its data cannot be trusted as it is."
        )


#: zlib's words for a damaged trailer, in plain words
_ZLIB_WORDS: Final = (
    ("incorrect data check", "the checksum in its trailer does not match its data"),
    ("incorrect length check", "the length in its trailer does not match its data"),
)

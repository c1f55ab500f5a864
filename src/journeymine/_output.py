"""Writing output files safely: never onto an input, never half a file.

Every file journeymine writes (reports, XES, Parquet, CSV exports) goes through
:func:`write_atomic`: the content is written to a temporary file in the target's folder
and renamed over the target only when complete (``os.replace`` is atomic on one file
system), so a failure (a full disk, an interrupted run, a bad value) leaves the old file,
or no file, never a truncated one. The target must not be one of the inputs (compared as
resolved paths and as the same file on disk), and must be a regular file or not exist yet
(writing "to" ``/dev/full`` or a folder is refused rather than replacing it); when the
input is a folder (Parquet parts), nothing inside it may be written. A new version of an
existing file keeps its permissions, and a symbolic link is written through to the file it
names (the link stays).
"""

from __future__ import annotations

import errno
import gzip
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import InvalidParameterError, MissingDependencyError

__all__ = ["GzipOut", "check_output_path", "save_drawing", "svg_to_png", "write_atomic", "write_file"]


class GzipOut(gzip.GzipFile):
    """A gzip file to write whose header holds no name and no time (writers write to a
    temporary name, and the same content must give the same bytes); closing it closes the
    file it writes to."""

    def __init__(self, p: Path) -> None:
        self._raw = open(p, "wb")  # closed in close()
        try:
            super().__init__(filename="", mode="wb", compresslevel=6, fileobj=self._raw, mtime=0)
        except BaseException:
            self._raw.close()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def check_output_path(path: str | os.PathLike[str], *, owner: str, inputs: Iterable[object] = ()) -> Path:
    """Return ``path`` as a :class:`Path` after checking it can be written as a new version
    of a regular file that is none of ``inputs``."""
    p = Path(os.fspath(path))
    parent = p.parent
    if not parent.exists():
        raise FileNotFoundError(errno.ENOENT, "No such folder", str(parent))
    if not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))
    if p.exists() and not p.is_file():
        kind = "a folder" if p.is_dir() else "not a regular file (a device, pipe or socket)"
        raise InvalidParameterError(
            f"{owner}: the output {str(p)!r} is {kind}; give the path of a file to write."
        )
    target = p.resolve()
    for item in inputs:
        if item is None:
            continue
        try:
            src = Path(os.fspath(item))  # type: ignore[call-overload]
        except TypeError:
            continue
        same = src.resolve() == target
        if not same and p.exists() and src.exists():
            same = os.path.samefile(src, p)
        if not same and src.is_dir() and target.is_relative_to(src.resolve()):
            raise InvalidParameterError(
                f"{owner}: the output {str(p)!r} is inside the input folder {str(src)!r}; writing "
                "there could replace or add an input part. Choose a path outside that folder."
            )
        if same:
            raise InvalidParameterError(
                f"{owner}: the output {str(p)!r} is the input file; writing it would destroy "
                "the input. Choose another output path."
            )
    return p


def write_atomic(
    path: str | os.PathLike[str],
    write: Callable[[Path], object],
    *,
    owner: str,
    inputs: Iterable[object] = (),
) -> Path:
    """Call ``write(tmp)`` with a temporary path in the target's folder (same name ending,
    so format choices by suffix such as ``.gz`` still hold), then rename it to ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = write_atomic(out, lambda p: p.write_text("done"), owner="example")
    >>> out.read_text(), sorted(q.name for q in out.parent.iterdir())
    ('done', ['a.txt'])
    """
    p = check_output_path(path, owner=owner, inputs=inputs)
    if p.is_symlink():  # write through a link to the file it names, as open() would
        p = p.resolve()
    # a short name in the same folder, keeping the target's endings (".xes.gz" decides gzip)
    ending = "".join(p.suffixes)
    tmp = p.parent / f".jm-{secrets.token_hex(4)}{ending if len(ending) <= 16 else p.suffix}"
    try:
        write(tmp)
        if p.exists():  # a new version keeps the old file's permissions
            os.chmod(tmp, stat.S_IMODE(p.stat().st_mode))
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def write_file(
    path: str | os.PathLike[str], data: str | bytes, *, owner: str, inputs: Iterable[object] = ()
) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` with :func:`write_atomic`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.svg"
    >>> write_file(out, "<svg/>", owner="example").read_text()
    '<svg/>'
    """
    if isinstance(data, bytes):
        return write_atomic(path, lambda tmp: tmp.write_bytes(data), owner=owner, inputs=inputs)
    return write_atomic(path, lambda tmp: tmp.write_text(data, encoding="utf-8"), owner=owner, inputs=inputs)


def svg_to_png(svg: str, *, scale: float = 1.0) -> bytes:
    """PNG bytes of ``svg`` through cairosvg (MissingDependencyError without it)."""
    try:
        import cairosvg
    except (ImportError, OSError) as exc:
        raise MissingDependencyError(
            "PNG output needs cairosvg and the Cairo library: pip install cairosvg "
            "(Cairo comes with Graphviz on Debian/Ubuntu)."
        ) from exc
    out: bytes = cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale)
    return out


def save_drawing(result: Any, path: str | os.PathLike[str], owner: str, scale: float) -> Path:
    """Write ``result``'s drawing to ``.svg`` (its ``svg``), ``.png`` (its ``to_png``) or
    ``.html`` (its notebook HTML), atomically (:func:`write_atomic`)."""

    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "html"):
        from ._params import invalid

        raise invalid("path", owner, "a file name with the suffix .svg, .png or .html", str(path))
    if fmt == "png":
        return write_file(p, result.to_png(scale=scale), owner=owner)
    return write_file(p, result.svg if fmt == "svg" else result._repr_html_(), owner=owner)

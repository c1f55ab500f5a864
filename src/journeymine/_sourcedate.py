"""The time that outputs carry, after the reproducible-builds convention.

When the environment variable ``SOURCE_DATE_EPOCH`` holds an integer number of seconds
since 1970-01-01 00:00 UTC (https://reproducible-builds.org/specs/source-date-epoch/),
outputs that would show the current time show that time instead: the report's "generated
on" line and the creation date Graphviz writes into a PDF. With the same input and
``random_state`` journeymine's outputs are then the same bytes on every run; without the
variable they carry the current time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping

from .errors import InvalidParameterError

__all__ = ["ENV_VAR", "pin_pdf_date", "source_date"]

ENV_VAR = "SOURCE_DATE_EPOCH"


def source_date(owner: str, environ: Mapping[str, str] = os.environ) -> dt.datetime | None:
    """The time ``SOURCE_DATE_EPOCH`` names (UTC), or None when the variable is not set.

    Raises
    ------
    InvalidParameterError
        The variable is set to something other than a whole number of seconds.

    Examples
    --------
    >>> from journeymine._sourcedate import source_date
    >>> source_date("report", {"SOURCE_DATE_EPOCH": "1700000000"})
    datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc)
    >>> source_date("report", {}) is None
    True
    >>> source_date("report", {"SOURCE_DATE_EPOCH": "2023-11-14"})
    Traceback (most recent call last):
    ...
    journeymine.errors.InvalidParameterError: The environment variable 'SOURCE_DATE_EPOCH' read by report
    must be an integer number of seconds ... Got '2023-11-14'.
    """
    raw = environ.get(ENV_VAR)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]+", raw):
            raise ValueError(raw)
        return dt.datetime.fromtimestamp(int(raw), tz=dt.timezone.utc)
    except (ValueError, OverflowError, OSError) as exc:  # not digits, or beyond the datetime range
        raise InvalidParameterError(
            f"The environment variable {ENV_VAR!r} read by {owner} must be an integer number of "
            f"seconds since 1970-01-01 00:00 UTC (as `date +%s` prints it). Got {raw!r}."
        ) from exc


#: cairo (which Graphviz writes PDFs with) stamps the clock time, ``D:YYYYMMDDHHmmSS`` and
#: a time-zone suffix; cairo before 1.17.6 ignores SOURCE_DATE_EPOCH
_PDF_DATE = re.compile(rb"/CreationDate \(D:[0-9]{14}(Z|[+-][0-9]{2}'[0-9]{2}'?)\)")


def pin_pdf_date(pdf: bytes, when: dt.datetime | None) -> bytes:
    """Set the creation date of a PDF to ``when`` (as UTC); None leaves the PDF as it is.

    The date is written with as many bytes as it had (``Z`` or ``+00'00``), so the offsets
    in the PDF's cross-reference table stay valid.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeymine._sourcedate import pin_pdf_date
    >>> epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    >>> pin_pdf_date(b"<< /CreationDate (D:20261203165106+01'00) >>", epoch)
    b"<< /CreationDate (D:19700101000000+00'00) >>"
    >>> pin_pdf_date(b"<< /CreationDate (D:20261203165106Z) >>", epoch)
    b'<< /CreationDate (D:19700101000000Z) >>'
    """
    if when is None:
        return pdf
    stamp = when.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M%S").encode("ascii")

    def utc(match: re.Match[bytes]) -> bytes:
        zone = match.group(1)
        return b"/CreationDate (D:" + stamp + (b"Z" if zone == b"Z" else b"+00'00'"[: len(zone)]) + b")"

    return _PDF_DATE.sub(utc, pdf)

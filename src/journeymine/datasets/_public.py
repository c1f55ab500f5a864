"""The public event logs journeymine knows: where to find them, how to check and read them.

Nothing is downloaded: :func:`load` reads a copy the user already has (the folder named by
``path=``, or ``$JOURNEYMINE_DATA``, or a ``shared/data`` folder beside the working
directory or one of its parents) and checks it against the SHA-256 recorded when the copy
was taken (``SOURCES.md`` of that folder says where each file comes from).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from ..errors import DataQualityWarning, FileFormatError, InvalidParameterError

if TYPE_CHECKING:
    from .._log import JourneyLog
    from .._ocel import ObjectCentricLog

ENV_VAR = "JOURNEYMINE_DATA"


@dataclass(frozen=True)
class PublicLog:
    """One public log: its file, checksum, published size and origin.

    Examples
    --------
    >>> import journeymine as jm
    >>> info = jm.datasets.PUBLIC_LOGS["bpic2012"]
    >>> info.file, info.cases, info.events
    ('bpic2012.xes.gz', 13087, 262200)
    >>> info.what
    'BPI Challenge 2012: loan and overdraft applications at a Dutch bank (full log)'
    """

    name: str
    file: str
    sha256: str
    what: str
    cases: int | None
    events: int
    source: str
    reader: Callable[..., Any]
    extra_files: tuple[tuple[str, str], ...] = ()


def _xes(file: str) -> Callable[..., JourneyLog]:
    def read(folder: Path, **options: Any) -> JourneyLog:
        from .._io import read_xes

        return read_xes(folder / file, **options)

    return read


def _sepsis(folder: Path, **options: Any) -> JourneyLog:
    from .._io import read_csv

    kw: dict[str, Any] = {
        "sep": ";", "case": "Case ID", "activity": "Activity", "timestamp": "Complete Timestamp",
        "resource": "org:group", "lifecycle": "lifecycle:transition",
    }
    return read_csv(folder / "sepsis.csv.gz", **{**kw, **options})


def _fines(folder: Path, **options: Any) -> JourneyLog:
    from .._io import read_parquet

    kw: dict[str, Any] = {
        "case": "case_id", "activity": "activity", "timestamp": "timestamp", "resource": "resource",
        "lifecycle": "lifecycle",
        "case_attributes": ["article", "points", "vehicleclass", "notificationtype"],
    }
    return read_parquet(folder / "road_traffic_fines.parquet", **{**kw, **options})


def crm_events(folder: Path, *, accounts: bool = True) -> pd.DataFrame:
    """The Maven CRM pipeline as account journeys: an "Engage" event at the engage date and
    a close event ("Won" / "Lost") at the close date per opportunity, the activity being
    ``stage:product``; with ``accounts``, the accounts table joined on (sector, employees,
    office location) when it is there."""
    pipe = pd.read_csv(folder / "crm_sales_pipeline.csv.gz", keep_default_na=False, na_values=[""])
    pipe = pipe[pipe["account"].notna()]
    engage = pipe.assign(stage="Engage", at=pipe["engage_date"])
    close = pipe.assign(stage=pipe["deal_stage"], at=pipe["close_date"])
    events = pd.concat([engage, close]).sort_values("opportunity_id", kind="stable")
    events["touch"] = events["stage"] + ":" + events["product"]
    table_file = folder / "crm_accounts.csv.gz"
    if accounts and table_file.is_file():
        table = pd.read_csv(table_file, keep_default_na=False, na_values=[""])
        table = table[["account", "sector", "employees", "office_location"]]
        events = events.merge(table, on="account", how="left", validate="many_to_one")
    return events


def _crm(folder: Path, **options: Any) -> JourneyLog:
    from .._log import JourneyLog

    events = crm_events(folder)
    attributes = [c for c in ("sector", "employees", "office_location") if c in events.columns]
    kw: dict[str, Any] = {
        "case": "account", "activity": "touch", "timestamp": "at", "resource": "sales_agent",
        "value": "close_value", "event_attributes": ["opportunity_id", "deal_stage"],
        "case_attributes": attributes,
    }
    with warnings.catch_warnings():
        # open deals have no close date: their close rows are set aside (log.rejected says so)
        warnings.simplefilter("ignore", DataQualityWarning)
        return JourneyLog.from_frame(events, **{**kw, **options})


def _ocel(file: str) -> Callable[..., ObjectCentricLog]:
    def read(folder: Path, **options: Any) -> ObjectCentricLog:
        from .._ocel import read_ocel

        return read_ocel(folder / file, **options)

    return read


_4TU = "4TU.ResearchData, DOI "
_PM4PY = "pm4py/pm4py-core@a8cfff15107bc17a6463d70e872d426b752f07a3"

#: The public logs :func:`load` knows, by name.
PUBLIC_LOGS: dict[str, PublicLog] = {
    log.name: log
    for log in (
        PublicLog(
            "bpic2012", "bpic2012.xes.gz",
            "fdc916898cd56f0fb65f0c6c2f69140e6345fe9fc8be2ef1dde0647107db050b",
            "BPI Challenge 2012: loan and overdraft applications at a Dutch bank (full log)",
            13_087, 262_200, _4TU + "10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f; " + _PM4PY,
            _xes("bpic2012.xes.gz"),
        ),
        PublicLog(
            "bpic2019_variants", "bpic2019_one_trace_per_variant.xes.gz",
            "9067f9a6b7ae68c2c4eae3f25286bbb39092bcac317df5448344f791b94bc2bc",
            "BPI Challenge 2019 purchase orders, one trace per variant, attributes stripped",
            11_973, 338_247, _4TU + "10.4121/uuid:d06aff4b-79f0-45e6-8ec8-e19730c248f1; " + _PM4PY,
            _xes("bpic2019_one_trace_per_variant.xes.gz"),
        ),
        PublicLog(
            "receipt", "receipt.xes.gz",
            "e79b75d03aa6fefb4146473a987cea984d2244e6c39a4bd177392d879755af9f",
            "CoSeLoG WABO receipt phase: permit applications at a Dutch municipality (full log)",
            1_434, 8_577, _4TU + "10.4121/uuid:a07386a5-7be3-4367-9535-70bc9e77dbe6; " + _PM4PY,
            _xes("receipt.xes.gz"),
        ),
        PublicLog(
            "sepsis", "sepsis.csv.gz",
            "207cc4462c02d2fb9da894371554ac66b074c80a0fd7986cb4f18cc8ba0a6f5d",
            "Sepsis cases at a Dutch hospital (full log, Disco CSV export)",
            1_050, 15_214, _4TU + "10.4121/uuid:915d2bfb-7e84-49ad-a286-dc35f063a460; bupaverse/eventdataR",
            _sepsis,
        ),
        PublicLog(
            "road_traffic_fines", "road_traffic_fines.parquet",
            "568a709cca3f59e1fbcf1368ca61b44e4e09d50cb27cb5766aa2640e8881e810",
            "Road Traffic Fine Management Process, Italian police (full log, dates only)",
            150_370, 561_470,
            _4TU + "10.4121/uuid:270fd440-1057-4fb9-89a9-b699b47990f5; bupaverse/eventdataR",
            _fines,
        ),
        PublicLog(
            "crm_accounts", "crm_sales_pipeline.csv.gz",
            "11667a6efb68d45bcb1d3249c13b1fe22f09b2d69029cb72213be6b54f4d6064",
            "Maven Analytics CRM Sales Opportunities as account journeys (fictitious company)",
            85, 13_923, "Maven Analytics Data Playground; ikebude/CRM-Sales-Analysis",
            _crm,
            (("crm_accounts.csv.gz", "80525bab2579a4e33d6b1ac836919cd9b6610ae87b03c2c395aaade2c336560f"),),
        ),
        PublicLog(
            "running_example", "running_example.xes.gz",
            "216a37048b13fcf6ea5d4ecefe0c0541587ac11f3bf5406f86d3f58798ca4327",
            "van der Aalst's running example (artificial, 6 cases)",
            6, 42, _PM4PY, _xes("running_example.xes.gz"),
        ),
        PublicLog(
            "ocel20_example", "ocel/ocel20_example.jsonocel",
            "a52ea6f1914feed5003ab5f0801570ac3adb2602d41c4c9624174214b85bbe61",
            "OCEL 2.0 procure-to-pay example (artificial; an ObjectCentricLog)",
            None, 13, _PM4PY, _ocel("ocel/ocel20_example.jsonocel"),
        ),
        PublicLog(
            "recruiting", "ocel/recruiting-red.jsonocel",
            "43257e6fdcdb15fdf48653b4a690d6c62eb9fcb880ca986d314623c4be6107a4",
            "OCEL 1.0 recruiting log (artificial; an ObjectCentricLog)",
            None, 6_607, _PM4PY, _ocel("ocel/recruiting-red.jsonocel"),
        ),
    )
}


def _candidates() -> list[Path]:
    here = Path(__file__).resolve()
    cwd = Path.cwd().resolve()
    found: list[Path] = []
    for base in (cwd, *cwd.parents, *here.parents):
        for candidate in (base / "shared" / "data",):
            if candidate not in found:
                found.append(candidate)
    return found


def data_home(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of public logs: ``path``, else ``$JOURNEYMINE_DATA``, else the first
    ``shared/data`` folder holding a ``SOURCES.md`` beside the working directory or one of
    its parents (or the package's). None when there is none.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import journeymine as jm
    >>> jm.datasets.data_home("/nonexistent") is None
    True
    >>> folder = tempfile.mkdtemp()
    >>> jm.datasets.data_home(folder) == pathlib.Path(folder)
    True
    """
    if path is not None:
        folder = Path(path)
        return folder if folder.is_dir() else None
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env) if Path(env).is_dir() else None
    for candidate in _candidates():
        if (candidate / "SOURCES.md").is_file():
            return candidate
    return None


_VERIFIED: dict[tuple[str, int, int], str] = {}


def _sha256(file: Path) -> str:
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _VERIFIED[key] = digest.hexdigest()
    return _VERIFIED[key]


@overload
def load(
    name: Literal["ocel20_example", "recruiting"], path: str | os.PathLike[str] | None = ..., *,
    verify: bool = ..., **options: Any,
) -> ObjectCentricLog: ...
@overload
def load(
    name: str, path: str | os.PathLike[str] | None = ..., *, verify: bool = ..., **options: Any
) -> JourneyLog: ...
def load(
    name: str, path: str | os.PathLike[str] | None = None, *, verify: bool = True, **options: Any
) -> JourneyLog | ObjectCentricLog:
    """Read one of the public event logs journeymine knows from a local copy.

    Nothing is downloaded. The file is looked for in ``path`` (a folder), else in the folder
    named by ``$JOURNEYMINE_DATA``, else in the first ``shared/data`` folder (one holding a
    ``SOURCES.md``) beside the working directory or one of its parents. Its SHA-256 is
    checked against the one recorded when the copy was taken, so an analysis names exactly
    the data it ran on.

    Parameters
    ----------
    name : str
        One of :data:`PUBLIC_LOGS`: ``"bpic2012"``, ``"bpic2019_variants"``, ``"receipt"``,
        ``"sepsis"``, ``"road_traffic_fines"``, ``"crm_accounts"`` (the Maven CRM pipeline
        as account journeys, with the accounts' sector, employees and office location as
        case attributes), ``"running_example"``; and the object-centric ``"ocel20_example"``
        and ``"recruiting"`` (returned as :class:`~journeymine.ObjectCentricLog`).
    path : str or os.PathLike, optional
        The folder holding the file (as named in :data:`PUBLIC_LOGS`).
    verify : bool, default True
        Check the file's SHA-256; a different file raises :class:`~journeymine.errors.FileFormatError`.
        ``verify=False`` reads another copy (a newer export, say) as it is.
    **options
        Passed to the reader (``read_xes``, ``read_csv``, ``read_parquet``,
        ``JourneyLog.from_frame`` or ``read_ocel``), over the defaults it is given here:
        for example ``transitions="complete"`` for BPI 2012.

    Returns
    -------
    JourneyLog or ObjectCentricLog
        The log, its columns mapped as ``docs/data.md`` lists per log.

    Raises
    ------
    InvalidParameterError
        ``name`` is not a known log.
    FileNotFoundError
        No copy was found; the message says where it looked and where to get the file.
    FileFormatError
        The file's checksum differs from the recorded one (with ``verify=True``).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.load("running_example")
    >>> log.n_cases, log.n_events
    (6, 42)
    >>> jm.datasets.load("bpic2012", transitions="complete").n_cases
    13087
    >>> sorted(jm.datasets.PUBLIC_LOGS)[:3]
    ['bpic2012', 'bpic2019_variants', 'crm_accounts']
    """
    if not isinstance(name, str) or name not in PUBLIC_LOGS:
        known = ", ".join(sorted(PUBLIC_LOGS))
        raise InvalidParameterError(
            f"load() knows no public log named {name!r}. Known: {known}. For a file of your own, "
            "use jm.read_xes / read_csv / read_parquet."
        )
    if not isinstance(verify, bool):
        raise InvalidParameterError(f"load(verify=...) takes True or False, got {verify!r}.")
    entry = PUBLIC_LOGS[name]
    folder = data_home(path)
    if folder is None or not (folder / entry.file).is_file():
        if path is not None:
            where = f"the folder given as path= ({os.fspath(path)})"
        elif os.environ.get(ENV_VAR):
            where = f"${ENV_VAR} ({os.environ[ENV_VAR]})"
        else:
            where = f"${ENV_VAR} (not set) and any shared/data folder above {Path.cwd()}"
        raise FileNotFoundError(
            f"load({name!r}) found no {entry.file} in {where}. journeymine downloads nothing: get "
            f"the file from {entry.source}, put it in a folder, and pass path=<folder> or set "
            f"{ENV_VAR}=<folder>."
        )
    if verify:
        for file, expected in ((entry.file, entry.sha256), *entry.extra_files):
            full = folder / file
            if not full.is_file():
                continue
            actual = _sha256(full)
            if actual != expected:
                raise FileFormatError(
                    f"load({name!r}): {full} has SHA-256 {actual}, not the recorded {expected}: it is "
                    "not the copy journeymine's figures were measured on. Pass verify=False to read it "
                    "as it is."
                )
    return entry.reader(folder, **options)  # type: ignore[no-any-return]

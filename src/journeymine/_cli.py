"""The ``journeymine`` command line.

Commands: ``demo`` (the journey report on the bundled demo data), ``report`` (the journey
report of an event log), ``inspect`` (a data-quality summary), ``convert`` (to XES,
Parquet or pm4py CSV). An OCEL file (``.jsonocel``, ``.xmlocel``, or any file with
``--object-type``) is flattened into one case per object of that type.

Exit codes: 0 success; 1 nothing usable was read; 2 bad command-line usage, a file that
cannot be read or written, a bad column or option; 3 an internal error (a bug). Every
failure is one line on stderr that names the file or option and the fix; ``--debug``
shows the traceback. Outputs are written atomically and never onto the input.
"""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._log import JourneyLog
from .errors import EmptyLogError, JourneymineError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeymine", description="Process mining for B2B customer journeys."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write the journey report of the bundled demo data")
    demo.add_argument("--accounts", type=int, default=2_000, help="number of demo accounts (default 2000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument("-o", "--output", default="report.html", help="report file (default report.html)")
    demo.add_argument("--summary", action="store_true", help="print the data summary only, no report")
    for name, text in (
        ("inspect", "print a data-quality summary of an event log"),
        ("convert", "convert an event log to process-mining format"),
        ("report", "write the journey report (HTML) of an event log"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("events", nargs="?", help="CSV, Parquet, XES or OCEL file (or --sql and --db)")
        cmd.add_argument("--sql", metavar="QUERY", help="read the events of this SQL query or table (--db)")
        cmd.add_argument(
            "--db", metavar="URI",
            help="the database of --sql: postgresql://user@host/db, sqlite:///file.db or "
            "duckdb:///file.duckdb (keep a password in ~/.pgpass or $PGPASSWORD, not on the command line)",
        )
        cmd.add_argument(
            "--format", choices=["csv", "parquet", "xes", "ocel"],
            help="input format (default: from the file name; --object-type means OCEL)",
        )
        cmd.add_argument(
            "--object-type", metavar="TYPE",
            help="OCEL: the object type whose objects are the cases (e.g. account)",
        )
        cmd.add_argument(
            "--via", action="append", default=[], metavar="TYPE",
            help="OCEL: an object type through which events also reach a case (repeatable)",
        )
        cmd.add_argument("--case", help="case (account) id column")
        cmd.add_argument("--activity", help="activity column")
        cmd.add_argument("--timestamp", help="timestamp column")
        cmd.add_argument("--contact", help="column of the person at the account who made each touch")
        cmd.add_argument("--role", help="column of that person's buying-committee role")
        cmd.add_argument(
            "--case-attr",
            action="append",
            default=[],
            metavar="COL",
            help="a per-case attribute column, for XES an event attribute lifted to the case (repeatable)",
        )
        cmd.add_argument("--sep", default=",", help="CSV field separator: one character, or \\t or 'tab'")
        cmd.add_argument(
            "--encoding", default="utf8", help="CSV text encoding: utf8, utf8-lossy or a Python codec name"
        )
        cmd.add_argument("--timestamp-format", metavar="FMT", help="strftime format of the timestamps")
        order = cmd.add_mutually_exclusive_group()
        order.add_argument(
            "--dayfirst", dest="dayfirst", action="store_const", const=True, default=None,
            help="numeric dates are day first (01/02/2024 is 1 February)",
        )
        order.add_argument(
            "--monthfirst", dest="dayfirst", action="store_const", const=False,
            help="numeric dates are month first (01/02/2024 is January 2)",
        )
        cmd.add_argument("--tz", help="IANA time zone of naive timestamps (default UTC)")
        cmd.add_argument(
            "--max-bytes", type=int, default=None, metavar="N",
            help="most bytes of text a compressed or re-encoded input may expand to "
            "(default: $JOURNEYMINE_MAX_BYTES, else a quarter of the memory)",
        )
        cmd.add_argument(
            "--transitions", action="append", default=None, metavar="NAME",
            help="XES: keep only events with this lifecycle transition, e.g. complete (repeatable)",
        )
        cmd.add_argument(
            "--join-transition", action="store_true",
            help="XES: the activity is '<concept:name>+<lifecycle:transition>'",
        )
        if name == "convert":
            cmd.add_argument("--to", choices=["xes", "parquet", "pm4py-csv"], required=True)
            cmd.add_argument("-o", "--output", required=True, help="output file")
            cmd.add_argument(
                "--excel-safe", action="store_true",
                help="pm4py-csv: prefix cells starting with = + - @ with ' so spreadsheets do not run them",
            )
        if name == "report":
            cmd.add_argument(
                "--by",
                action="append",
                default=[],
                metavar="COL",
                help="case attribute defining the cohorts (repeatable)",
            )
            cmd.add_argument(
                "--outcome",
                action="append",
                default=[],
                metavar="NAME=ACT[,ACT]",
                help="an outcome and its activities, e.g. won='Contract signed' (repeatable)",
            )
            cmd.add_argument(
                "--won", default="won", metavar="NAME", help="which --outcome is a win (default: won)"
            )
            cmd.add_argument(
                "--committee-at", metavar="MILESTONE",
                help="activity or stage by which buying committees are compared (needs --contact): "
                "with --outcome, which roles engaged by then go with winning",
            )
            cmd.add_argument(
                "--funnel", action="append", default=[], metavar="STEP",
                help="a funnel step: an activity or a stage, or several activities joined by '|' "
                "(repeatable, in funnel order; at least two)",
            )
            cmd.add_argument(
                "--funnel-window", metavar="DURATION",
                help="time allowed from one funnel step to the next, e.g. 90D (default: no limit)",
            )
            cmd.add_argument("--paths-around", metavar="ACTIVITY", help="show the paths into and out of it")
            cmd.add_argument(
                "--retention-period", choices=["D", "W", "M", "Q", "Y"],
                help="add retention by start cohort and the lifecycle, per day/week/month/quarter/year",
            )
            cmd.add_argument("--title", help="report title")
            cmd.add_argument("--seed", type=int, default=0, help="random seed (clusters, bootstrap)")
            cmd.add_argument(
                "-o", "--output", default="report.html", help="report file (default report.html)"
            )
    return parser


def _step(text: str) -> str | list[str]:
    """A --funnel step: "A|B" is a step reached by either activity."""
    parts = [p.strip() for p in text.split("|")]
    return parts if len(parts) > 1 else text


def _format_of(path: str, given: str | None, object_type: str | None = None) -> str:
    if given:
        return given
    lower = path.lower()
    if object_type or lower.endswith(tuple(e + z for e in (".jsonocel", ".xmlocel") for z in ("", ".gz"))):
        return "ocel"
    if lower.endswith((".xes", ".xes.gz")):
        return "xes"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def _read(args: argparse.Namespace) -> JourneyLog:
    from . import _io

    if args.sql is not None or args.db is not None:
        if args.object_type or args.via:
            raise JourneymineError("--object-type and --via are for OCEL input, not --sql.")
        return _read_sql(args)
    fmt = _format_of(args.events, args.format, args.object_type)
    if fmt == "ocel":
        return _read_ocel(args)
    if args.object_type or args.via:
        raise JourneymineError(f"--object-type and --via are for OCEL input, not --format {fmt}.")
    if fmt == "xes":
        if args.encoding != "utf8":
            raise JourneymineError("--encoding is for CSV input (an XES file declares its own encoding).")
        given = [f"--{n}" for n in ("case", "activity", "timestamp", "contact", "role") if getattr(args, n)]
        if given:
            raise JourneymineError(
                "XES input names its own columns (concept:name, time:timestamp; the attributes contact and "
                f"org:role); drop {', '.join(given)}."
            )
        return _io.read_xes(
            args.events, case_attributes=args.case_attr, transitions=args.transitions,
            join_transition=args.join_transition, tz=args.tz, dayfirst=args.dayfirst,
            timestamp_format=args.timestamp_format, max_bytes=args.max_bytes,
        )
    if args.transitions or args.join_transition:
        raise JourneymineError("--transitions and --join-transition are for XES input.")
    if fmt != "csv" and args.encoding != "utf8":
        raise JourneymineError("--encoding is for CSV input (Parquet is UTF-8 by definition).")
    missing = [f"--{n}" for n in ("case", "activity", "timestamp") if not getattr(args, n)]
    if missing:
        raise JourneymineError(f"{fmt.upper()} input needs {', '.join(missing)} (column names).")
    kwargs: dict[str, Any] = dict(
        case=args.case, activity=args.activity, timestamp=args.timestamp, contact=args.contact,
        role=args.role, case_attributes=args.case_attr,
        tz=args.tz, dayfirst=args.dayfirst, timestamp_format=args.timestamp_format,
    )
    if fmt == "parquet":
        return _io.read_parquet(args.events, **kwargs)
    return _io.read_csv(args.events, sep=_separator(args.sep), encoding=args.encoding,
                        max_bytes=args.max_bytes, **kwargs)


def _read_ocel(args: argparse.Namespace) -> JourneyLog:
    """An OCEL file flattened by ``--object-type`` (through ``--via``)."""
    from ._ocel import read_ocel

    names = ("case", "activity", "timestamp", "contact", "role", "case_attr", "timestamp_format",
             "transitions")
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n)]
    given += ["--encoding"] if args.encoding != "utf8" else []
    given += ["--sep"] if args.sep != "," else []
    given += ["--dayfirst/--monthfirst"] if args.dayfirst is not None else []
    given += ["--join-transition"] if args.join_transition else []
    if given:
        raise JourneymineError(
            "OCEL input names its own events, objects and times, and --object-type chooses the cases; "
            f"drop {', '.join(given)}."
        )
    ocel = read_ocel(args.events, tz=args.tz, max_bytes=args.max_bytes)
    if not args.object_type:
        types = ", ".join(repr(t) for t in sorted(ocel.object_types))
        raise JourneymineError(f"OCEL input needs --object-type: one of {types} (with --via for object "
                               "types through which events reach them).")
    return ocel.flatten(args.object_type, via=args.via or None)


def _read_sql(args: argparse.Namespace) -> JourneyLog:
    from ._sql import read_sql

    if args.sql is None or args.db is None:
        raise JourneymineError("--sql QUERY and --db URI go together: give both.")
    if args.events is not None or args.format is not None:
        raise JourneymineError("--sql reads from --db: drop the events file and --format.")
    file_only = [f"--{n.replace('_', '-')}" for n in ("transitions", "join_transition", "max_bytes")
                 if getattr(args, n)] + (["--sep"] if args.sep != "," else []) + (
                 ["--encoding"] if args.encoding != "utf8" else [])
    if file_only:
        raise JourneymineError(f"{', '.join(file_only)} are for files, not --sql.")
    missing = [f"--{n}" for n in ("case", "activity", "timestamp") if not getattr(args, n)]
    if missing:
        raise JourneymineError(f"--sql needs {', '.join(missing)} (column names).")
    return read_sql(
        args.sql, args.db, case=args.case, activity=args.activity, timestamp=args.timestamp,
        contact=args.contact, role=args.role, case_attributes=args.case_attr, tz=args.tz,
        dayfirst=args.dayfirst, timestamp_format=args.timestamp_format,
    )


def summary_text(log: JourneyLog) -> str:
    """A plain-text data-quality summary of a log."""
    lines = [repr(log), f"source: {log.source}"]
    span = log.time_span
    lines.append(f"time span: {span.start} → {span.end} ({span.duration.days} days)")
    lines.append(f"case attributes: {', '.join(log.case_attributes) or '(none)'}")
    lines.append(f"roles: {', '.join(f'{k}={v}' for k, v in log.mapping.roles().items())}")
    per_case = log.cases["n_events"]
    lines.append(f"events per case: median {per_case.median():.0f}, max {per_case.max():,}")
    lines.append("top activities: " + ", ".join(log.activities[:10]))
    if log.n_rejected:
        counts = log.rejected["reason"].value_counts()
        lines.append("rejected rows: " + ", ".join(f"{n:,} {r}" for r, n in counts.items()))
    else:
        lines.append("rejected rows: none")
    return "\n".join(lines)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _os_error(exc: OSError) -> str:
    """A one-line message for an operating-system error, naming the file and the fix."""
    name = exc.filename if exc.filename is not None else "?"
    reason = exc.strerror or str(exc)
    fixes = {
        errno.ENOENT: "check the path (a missing folder must be created first)",
        errno.EACCES: "check the file's permissions, or choose another path",
        errno.EPERM: "check the file's permissions, or choose another path",
        errno.ENOSPC: "free disk space, or write to another disk",
        errno.EISDIR: "give the path of a file, not a folder",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EROFS: "the file system is read-only: write elsewhere",
        errno.ENAMETOOLONG: "use a shorter path",
    }
    fix = fixes.get(exc.errno or 0, "check the path")
    return f"{name!r}: {reason}; {fix}."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "events", "") is None and args.sql is None and args.db is None:
        parser.error(f"{args.command}: give an events file, or --sql QUERY and --db URI")
    caught: list[warnings.WarningMessage] = []
    error: BaseException | None = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = _run(args)
    except EmptyLogError as exc:
        error, code, message = exc, 1, f"journeymine: {_one_line(exc)}"
    except JourneymineError as exc:
        error, code, message = exc, 2, f"journeymine: error: {_one_line(exc)}"
    except OSError as exc:
        error, code, message = exc, 2, f"journeymine: error: {_one_line(_os_error(exc))}"
    except (MemoryError, KeyboardInterrupt) as exc:
        what = "out of memory" if isinstance(exc, MemoryError) else "interrupted"
        error, code, message = exc, 2, f"journeymine: error: {what}; nothing was written."
    except Exception as exc:  # a bug: still one line, the traceback on --debug
        error, code = exc, 3
        message = (
            f"journeymine: internal error: {type(exc).__name__}: {_one_line(exc)[:300]} "
            "(a bug; run with --debug for the traceback and report it)"
        )
    else:
        message = ""
    for w in caught:
        print(f"warning: {_one_line(w.message)}", file=sys.stderr)
    if message:
        if args.debug and error is not None:
            traceback.print_exception(error)
        print(message, file=sys.stderr)
    return code


def _separator(text: str) -> str:
    """The CSV separator from the command line: one character, ``\\t`` or ``tab``."""
    sep = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(text, text)
    if len(sep.encode("utf-8")) != 1 or sep in "\"\r\n":
        raise JourneymineError(
            f"--sep must be one single-byte character other than a quote or a line break (e.g. ';' or "
            f"'\\t' for tab). Got {text!r}."
        )
    return sep


def _outcomes(specs: Sequence[str]) -> dict[str, list[str]] | None:
    out: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, acts = spec.partition("=")
        if not sep or not name.strip() or not acts.strip():
            raise JourneymineError(f"--outcome must look like won='Contract signed,Renewal'. Got {spec!r}.")
        out[name.strip()] = [a.strip() for a in acts.split(",") if a.strip()]
    return out or None


def _inputs(args: argparse.Namespace) -> list[Any]:
    """What an output must never overwrite: the events file, and the database file of a
    ``sqlite:///`` or ``duckdb:///`` URI given with ``--db``."""
    out: list[Any] = [getattr(args, "events", None)]
    db = getattr(args, "db", None)
    for scheme in ("sqlite", "duckdb"):
        if isinstance(db, str) and db.startswith(f"{scheme}:///"):
            from urllib.parse import unquote

            out.append(unquote(db.partition("://")[2][1:].partition("?")[0]))
    return out


def _run(args: argparse.Namespace) -> int:
    from ._output import check_output_path
    from ._report import report

    if getattr(args, "output", None) is not None:  # fail fast, before any work
        check_output_path(args.output, owner=f"journeymine {args.command}", inputs=_inputs(args))
    if getattr(args, "excel_safe", False) and args.to != "pm4py-csv":
        raise JourneymineError("--excel-safe is for --to pm4py-csv (XES and Parquet keep values as written).")
    if args.command == "demo":
        from .datasets import DEMO_OUTCOMES, demo_b2b, demo_spend

        # the demo's version 2: the same journeys with money, surveys and spend, so that the
        # report shows every section ("Value and voice" included)
        log = demo_b2b(n_accounts=args.accounts, random_state=args.seed, version=2)
        print(summary_text(log))
        if args.summary:
            return 0
        report(
            log,
            by="segment",
            outcomes=DEMO_OUTCOMES,
            committee_at="Proposal sent",
            funnel=["Demo request", "Demo", "Proposal sent", "Contract signed"],
            funnel_window="90D",
            paths_around="Proposal sent",
            retention_period="Q",
            path=args.output,
            random_state=args.seed,
            title=f"Journey report: demo B2B log ({args.accounts:,} accounts)",
            value_kind="deal_type",
            value_product="deal_product",
            score="nps",
            spend=demo_spend(n_accounts=args.accounts, random_state=args.seed),
        )
        print(f"wrote the journey report to {Path(args.output).resolve()}")
        return 0
    log = _read(args)
    if args.command == "inspect":
        print(summary_text(log))
        return 0
    if args.command == "report":
        by: Any = args.by[0] if len(args.by) == 1 else (args.by or None)
        report(
            log,
            by=by,
            outcomes=_outcomes(args.outcome),
            won=args.won,
            committee_at=args.committee_at,
            funnel=[_step(s) for s in args.funnel] or None,
            funnel_window=args.funnel_window,
            paths_around=args.paths_around,
            retention_period=args.retention_period,
            path=args.output,
            title=args.title,
            random_state=args.seed,
        )
        print(f"wrote the journey report of {log.n_cases:,} accounts to {Path(args.output).resolve()}")
        return 0
    out = Path(args.output)
    if args.to == "xes":
        from ._io import write_xes

        write_xes(log, out)
    elif args.to == "parquet":
        from ._output import write_atomic
        from ._pm4py import pm4py_layout

        frame = pm4py_layout(log)
        write_atomic(out, frame.write_parquet, owner="journeymine convert", inputs=_inputs(args))
    else:
        from ._export import write_csv

        write_csv(log, out, excel_safe=args.excel_safe)
    print(f"wrote {log.n_events:,} events of {log.n_cases:,} cases to {out}")
    return 0

"""Trust on data nobody here wrote: ids exactly as written, encodings, cohorts from event
attributes, outcome roles by name, and one string wherever a list of names is taken.

Each test pins one rule of docs/data-model.md ("Rules that hold on any input").
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import journeymine as jm
from journeymine import _xes
from journeymine._cli import main as cli


def _xes_log(traces: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n' + traces + "</log>\n"
    )


def _trace(name_tag: str, events: str) -> str:
    return f"<trace>{name_tag}{events}</trace>\n"


def _event(activity: str, ts: str, extra: str = "") -> str:
    return (
        f'<event><string key="concept:name" value="{activity}"/>'
        f'<date key="time:timestamp" value="{ts}"/>{extra}</event>'
    )


# -- ids are text, exactly as written -------------------------------------------------------
IDS_XES = _xes_log(
    _trace('<int key="concept:name" value="0007"/>', _event("a", "2024-01-01T00:00:00Z"))
    + _trace('<int key="concept:name" value="7"/>', _event("b", "2024-01-02T00:00:00Z"))
    + _trace('<float key="concept:name" value="1e5"/>', _event("c", "2024-01-03T00:00:00Z"))
    + _trace('<string key="concept:name" value="100000"/>', _event("d", "2024-01-04T00:00:00Z"))
    + _trace(
        '<string key="concept:name" value="x"/>',
        '<event><int key="concept:name" value="007"/><date key="time:timestamp" value="2024-01-05T00:00:00Z"/></event>',
    )
)


def test_xes_ids_keep_their_literal_text_whatever_their_type(tmp_path: Path) -> None:
    path = tmp_path / "ids.xes"
    path.write_text(IDS_XES)
    log = jm.read_xes(path)
    assert log.cases["case"].tolist() == ["0007", "7", "1e5", "100000", "x"]
    assert log.n_cases == 5
    assert "007" in log.activities


def test_xes_ids_the_same_on_both_parser_paths(tmp_path: Path) -> None:
    path = tmp_path / "ids.xes"
    path.write_text(IDS_XES)
    buf, n = _xes._read_buffer(path, str(path))
    fast = _xes._scan(buf, n)
    assert fast is not None
    keys = frozenset({"concept:name"})
    a = _xes._assemble(fast, keys)
    b = _xes._assemble(_xes._stream(memoryview(buf)[:n], str(path)), keys)
    assert a.equals(b)
    assert a.get_column("case:concept:name").to_list() == ["0007", "7", "1e5", "100000", "x"]


def test_pandas_float_ids_become_text_deterministically() -> None:
    df = pd.DataFrame({
        "id": [1e20, 7.0, 1.5, float("nan"), 2.0**62],
        "act": ["a", "b", "c", "d", "e"],
        "ts": ["2024-01-01"] * 5,
    })
    with pytest.warns(jm.DataQualityWarning, match="1 of 5 input rows"):
        log = jm.JourneyLog.from_frame(df, case="id", activity="act", timestamp="ts")
    assert log.cases["case"].tolist() == ["1e+20", "7", "1.5", "4611686018427387904"]
    assert log.rejected["reason"].tolist() == ["missing case id"]  # only the NaN


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([b"a", b"b"], r"Column 'id' \(case\) holds bytes in 2 rows.*decode"),
        ([[1], [2]], r"Column 'id' \(case\) holds values of type List.*explode"),
    ],
)
def test_binary_and_list_ids_are_refused_by_name(values: list[object], match: str) -> None:
    df = pd.DataFrame({"id": values, "act": ["a", "b"], "ts": ["2024-01-01", "2024-01-02"]})
    with pytest.raises(jm.SchemaError, match=match):
        jm.JourneyLog.from_frame(df, case="id", activity="act", timestamp="ts")
    pdf = pl.DataFrame({"id": values, "act": ["a", "b"], "ts": ["2024-01-01", "2024-01-02"]})
    with pytest.raises(jm.SchemaError, match=match):
        jm.JourneyLog.from_frame(pdf, case="id", activity="act", timestamp="ts")


def test_xes_unparsable_timestamp_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "bad_time.xes"
    path.write_text(_xes_log(_trace(
        '<string key="concept:name" value="c"/>',
        _event("a", "2024-01-01T00:00:00Z") + _event("b", "not a time") + _event("c", "2024-01-03T10:00:00+02:00"),
    )))
    with pytest.warns(jm.DataQualityWarning, match="unparsable timestamp"):
        log = jm.read_xes(path)
    rej = log.rejected
    assert rej["reason"].tolist() == ["unparsable timestamp"]
    assert rej["time:timestamp"].tolist() == ["not a time"]
    assert log.events["timestamp"].tolist()[-1] == pd.Timestamp("2024-01-03T08:00:00Z")
    assert log.n_events + len(rej) == 3


# -- encodings ---------------------------------------------------------------------------------
LATIN1 = "account;touch;at\nA;Café;2024-01-01\nA;Démo;2024-01-02\nB;Ça va;2024-01-03\n".encode("latin-1")


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ISO-8859-1"])
def test_read_csv_any_python_codec(tmp_path: Path, encoding: str, compressed: bool) -> None:
    path = tmp_path / ("events.csv.gz" if compressed else "events.csv")
    path.write_bytes(gzip.compress(LATIN1) if compressed else LATIN1)
    log = jm.read_csv(path, sep=";", case="account", activity="touch", timestamp="at", encoding=encoding)
    assert set(log.activities) == {"Café", "Démo", "Ça va"}
    assert log.n_events == 3


def test_read_csv_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(LATIN1.decode("latin-1").encode("utf-16"))
    log = jm.read_csv(path, sep=";", case="account", activity="touch", timestamp="at", encoding="utf-16")
    assert log.cases["case"].tolist() == ["A", "B"]


@pytest.mark.parametrize("compressed", [False, True])
def test_invalid_bytes_name_the_line_offset_and_fix(tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / ("events.csv.gz" if compressed else "events.csv")
    path.write_bytes(gzip.compress(LATIN1) if compressed else LATIN1)
    with pytest.raises(jm.FileFormatError, match=r"not valid utf-8: byte\(s\) b'\\xe9' at byte offset 22 .*line 2 .*encoding='latin-1'"):
        jm.read_csv(path, sep=";", case="account", activity="touch", timestamp="at")
    with pytest.raises(jm.FileFormatError, match=r"not valid ascii.*line 2"):
        jm.read_csv(path, sep=";", case="account", activity="touch", timestamp="at", encoding="ascii")


def test_unknown_codec_is_the_standard_parameter_error(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(LATIN1)
    with pytest.raises(jm.InvalidParameterError, match=r"The 'encoding' parameter of read_csv must be .*Python text codec name.*Got 'latin-9000'"):
        jm.read_csv(path, sep=";", case="account", activity="touch", timestamp="at", encoding="latin-9000")


def test_cli_encoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(LATIN1)
    args = ["inspect", str(path), "--sep", ";", "--case", "account", "--activity", "touch", "--timestamp", "at"]
    assert cli([*args, "--encoding", "latin-1"]) == 0
    assert "Café" in capsys.readouterr().out
    assert cli(args) == 2
    assert "encoding='latin-1'" in capsys.readouterr().err


# -- cohorts from event attributes -------------------------------------------------------------
SEGMENT_XES = _xes_log(
    _trace('<string key="concept:name" value="c1"/>',
           _event("a", "2024-01-01T00:00:00Z", '<string key="segment" value="SMB"/><string key="channel" value="Web"/>')
           + _event("b", "2024-01-02T00:00:00Z", '<string key="segment" value="SMB"/><string key="channel" value="Mail"/>'))
    + _trace('<string key="concept:name" value="c2"/><string key="region" value="EU"/>',
             _event("a", "2024-01-01T00:00:00Z", '<string key="segment" value="Enterprise"/>')
             + _event("c", "2024-01-05T00:00:00Z", '<string key="segment" value="SMB"/>'))
)


def test_read_xes_lifts_event_attributes_to_the_case(tmp_path: Path) -> None:
    path = tmp_path / "seg.xes"
    path.write_text(SEGMENT_XES)
    with pytest.warns(jm.DataQualityWarning, match=r"'segment' is not constant within 1 of 2 cases"):
        log = jm.read_xes(path, case_attributes="segment")
    assert log.cases["segment"].tolist() == ["SMB", "Enterprise"]  # first value of each case
    assert "region" in log.case_attributes  # trace attributes stay case attributes
    # a column that would play a role by its name becomes the case attribute asked for
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log2 = jm.read_xes(path, case_attributes=["channel", "region"])
    assert log2.mapping.channel is None
    assert log2.cases["channel"].iloc[0] == "Web" and pd.isna(log2.cases["channel"].iloc[1])
    with pytest.raises(jm.SchemaError, match=r"Column 'segmnt' \(case attribute\) not found.*Did you mean 'segment'"):
        jm.read_xes(path, case_attributes=["segmnt"])


def test_cli_case_attr_and_lifecycle_options_for_xes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "seg.xes"
    path.write_text(SEGMENT_XES)
    assert cli(["inspect", str(path), "--case-attr", "segment"]) == 0
    out = capsys.readouterr()
    assert "case attributes: region, segment" in out.out
    assert "not constant" in out.err
    assert cli(["inspect", str(path), "--join-transition"]) == 2
    assert "lifecycle:transition" in capsys.readouterr().err
    assert cli(["inspect", str(path), "--case", "x"]) == 2
    assert "drop --case" in capsys.readouterr().err


def test_cli_transitions(tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_data: Path) -> None:
    src = shared_data / "receipt.xes.gz"
    assert cli(["inspect", str(src), "--transitions", "complete", "--join-transition"]) == 0
    assert "+complete" in capsys.readouterr().out


# -- defaults that fit how people call things -------------------------------------------------
@pytest.fixture(scope="module")
def demo() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=300, random_state=0)


def test_kpis_with_a_won_outcome_only(demo: jm.JourneyLog) -> None:
    k = jm.kpis(demo, outcomes={"won": "Contract signed"})
    kinds = set(k.table["kpi"])
    assert "lost" not in kinds and "churn_rate" not in kinds
    assert {"won", "open", "conversion_rate"} <= kinds
    both = jm.kpis(demo, outcomes={"won": ["Contract signed"], "lost": ["Closed lost"]})
    assert "lost" in set(both.table["kpi"])
    assert both.value("conversion_rate") != k.value("conversion_rate")  # won/decided vs censored


def test_outcome_roles_are_named_never_guessed(demo: jm.JourneyLog) -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"'won' parameter of kpis .*won='signed'"):
        jm.kpis(demo, outcomes={"signed": "Contract signed"})
    k = jm.kpis(demo, outcomes={"signed": "Contract signed"}, won="signed")
    assert k.value("won") > 0
    with pytest.raises(jm.InvalidParameterError, match=r"'lost' parameter of kpis"):
        jm.kpis(demo, outcomes={"won": "Contract signed"}, lost="gone")
    with pytest.raises(jm.InvalidParameterError, match=r"'won' parameter of report .*does not guess"):
        jm.report(demo, outcomes={"signed": "Contract signed"})


def test_report_with_won_only_outcome(demo: jm.JourneyLog) -> None:
    html = jm.report(demo, outcomes={"won": "Contract signed"}, by="segment")
    assert "won by the end, censored" in html
    assert "churn rate" not in html


def test_one_string_wherever_a_list_of_names_is_taken(demo: jm.JourneyLog) -> None:
    df = pd.DataFrame({"a": ["1", "1", "2"], "t": ["x", "y", "x"], "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "seg": ["S", "S", "E"], "note": ["n1", "n2", "n3"], "other": [1, 2, 3]})
    log = jm.JourneyLog.from_frame(df, case="a", activity="t", timestamp="ts", case_attributes="seg",
                                   event_attributes="note")
    assert log.case_attributes == ("seg",) and log.event_attributes == ("note",)
    a = jm.attribution(demo, conversion="Contract signed", models="linear")
    assert set(a.credits["model"]) == {"linear"}
    one = jm.subway_map(demo, conversion="Contract signed", top=3)
    many = jm.subway_map(demo, conversion=["Contract signed"], top=3)
    assert one._repr_svg_() == many._repr_svg_()
    k1 = jm.kpis(demo, outcomes={"won": "Contract signed"}, purchases="Contract signed", sales_start="Demo")
    k2 = jm.kpis(demo, outcomes={"won": ["Contract signed"]}, purchases=["Contract signed"], sales_start=["Demo"])
    assert k1.table.equals(k2.table)
    with pytest.raises(jm.InvalidParameterError, match="'conversion' parameter of attribution"):
        jm.attribution(demo, conversion=5)  # type: ignore[arg-type]


def test_from_pm4py_adds_lifted_attributes_to_the_trace_ones() -> None:
    df = pd.DataFrame({
        "case:concept:name": ["1", "1", "2"], "concept:name": ["a", "b", "a"],
        "time:timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
        "case:region": ["EU", "EU", "US"], "priority": ["high", "high", "low"],
    })
    log = jm.JourneyLog.from_pm4py(df, case_attributes="priority")
    assert log.case_attributes == ("region", "priority")
    assert log.cases["priority"].tolist() == ["high", "low"]

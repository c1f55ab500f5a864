"""Object-centric logs: the four shared files, counts against pm4py, problems, flattening,
writing, hostile files and the command line."""

from __future__ import annotations

import gzip
import json
import sqlite3
import warnings
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import journeymine as jm
from journeymine._cli import main

EXAMPLE = ("ocel20_example.jsonocel", "ocel20_example.xmlocel", "ocel20_example.sqlite")


def _ocel_dir(shared_data: Path) -> Path:
    folder = shared_data / "ocel"
    if not folder.is_dir():
        pytest.skip("no ocel folder in the shared data")
    return folder


def _json_log(tmp_path: Path, doc: dict[str, Any], name: str = "log.jsonocel") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _crm() -> dict[str, Any]:
    """Two accounts, three contacts, one opportunity: events reach accounts through both."""
    return {
        "objectTypes": [
            {"name": "account", "attributes": [{"name": "segment", "type": "string"},
                                               {"name": "employees", "type": "integer"}]},
            {"name": "contact", "attributes": []},
            {"name": "opportunity", "attributes": []},
        ],
        "eventTypes": [{"name": n, "attributes": [{"name": "channel", "type": "string"}]}
                       for n in ("Webinar", "Demo", "Proposal", "Newsletter")],
        "objects": [
            {"id": "A1", "type": "account", "attributes": [
                {"name": "segment", "time": "1970-01-01T00:00:00Z", "value": "SMB"},
                {"name": "segment", "time": "2024-03-01T00:00:00Z", "value": "Enterprise"},
                {"name": "employees", "time": "1970-01-01T00:00:00Z", "value": 40}]},
            {"id": "A2", "type": "account", "attributes": [
                {"name": "segment", "time": "2024-06-01T00:00:00Z", "value": "Mid"}]},
            {"id": "A3", "type": "account"},
            {"id": "C1", "type": "contact", "relationships": [{"objectId": "A1", "qualifier": "works at"}]},
            {"id": "C2", "type": "contact", "relationships": [{"objectId": "A1", "qualifier": "works at"},
                                                              {"objectId": "A2", "qualifier": "advises"}]},
            {"id": "C3", "type": "contact"},
            {"id": "O1", "type": "opportunity", "relationships": [{"objectId": "A2", "qualifier": "for"}]},
        ],
        "events": [
            {"id": "e1", "type": "Webinar", "time": "2024-01-02T10:00:00Z",
             "attributes": [{"name": "channel", "value": "web"}],
             "relationships": [{"objectId": "C1", "qualifier": "attendee"},
                               {"objectId": "C2", "qualifier": "attendee"}]},
            {"id": "e2", "type": "Demo", "time": "2024-02-02T10:00:00Z",
             "relationships": [{"objectId": "C2", "qualifier": "attendee"},
                               {"objectId": "A1", "qualifier": "for"}]},
            {"id": "e3", "type": "Proposal", "time": "2024-07-01T10:00:00Z",
             "relationships": [{"objectId": "O1", "qualifier": "about"}]},
            {"id": "e4", "type": "Newsletter", "time": "2024-07-05T10:00:00Z",
             "relationships": [{"objectId": "C3", "qualifier": "to"}]},
        ],
    }


def _naive_flatten(doc: dict[str, Any], object_type: str, via: tuple[str, ...]) -> dict[str, set[str]]:
    """event id -> the cases it reaches, recomputed in plain Python from the JSON."""
    types = {o["id"]: o["type"] for o in doc["objects"]}
    neighbours: dict[str, set[str]] = defaultdict(set)
    for o in doc["objects"]:
        for r in o.get("relationships") or []:
            neighbours[o["id"]].add(r["objectId"])
            neighbours[r["objectId"]].add(o["id"])
    reach: dict[str, set[str]] = {}
    for e in doc["events"]:
        cases = set()
        for r in e.get("relationships") or []:
            oid = r["objectId"]
            if types.get(oid) == object_type:
                cases.add(oid)
            elif types.get(oid) in via:
                cases |= {n for n in neighbours[oid] if types.get(n) == object_type}
        reach[e["id"]] = cases
    return reach


def _write_sqlite(path: Path, *, extra_links: list[tuple[str | None, str, str]] = ()) -> Path:  # type: ignore[assignment]
    """A minimal OCEL 2.0 SQLite file: two events of one type, two objects, links."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT);
        CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE "event_Visit" (ocel_id TEXT PRIMARY KEY, ocel_time TIMESTAMP, page TEXT);
        CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT);
        CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE "object_account" (ocel_id TEXT, ocel_time TIMESTAMP, ocel_changed_field TEXT, segment TEXT);
        CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT,
                                   PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier));
        CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT);
        INSERT INTO event VALUES ('e1', 'Visit'), ('e2', 'Visit');
        INSERT INTO event_map_type VALUES ('Visit', 'Visit');
        INSERT INTO "event_Visit" VALUES ('e1', '2024-01-01 10:00:00', '/pricing'), ('e2', '2024-01-02 10:00:00', '/');
        INSERT INTO object VALUES ('A1', 'account'), ('A2', 'account');
        INSERT INTO object_map_type VALUES ('account', 'account');
        INSERT INTO "object_account" VALUES ('A1', '1970-01-01 00:00:00', NULL, 'SMB'),
                                            ('A2', '1970-01-01 00:00:00', NULL, 'Enterprise');
        INSERT INTO event_object VALUES ('e1', 'A1', 'visitor'), ('e2', 'A2', 'visitor');
        INSERT INTO object_object VALUES ('A1', 'A2', 'parent of');
    """)
    con.executemany("INSERT INTO event_object VALUES (?, ?, ?)", extra_links)
    con.commit()
    con.close()
    return path


# -- the shared files ----------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "reader", "counts"),
    [
        # (events, objects, event–object links, object–object links)
        ("ocel20_example.jsonocel", "read_ocel2_json", (13, 9, 20, 7)),
        ("ocel20_example.xmlocel", "read_ocel2_xml", (13, 9, 20, 7)),
        ("ocel20_example.sqlite", "read_ocel2_sqlite", (13, 9, 20, 7)),
        # OCEL 1.0 has no object–object links
        ("recruiting-red.jsonocel", "read_ocel", (6607, 1051, 6877, 0)),
    ],
)
def test_counts_match_pm4py(shared_data: Path, name: str, reader: str, counts: tuple[int, ...]) -> None:
    path = _ocel_dir(shared_data) / name
    with warnings.catch_warnings():
        warnings.simplefilter("error", jm.DataQualityWarning)  # these files are clean
        ocel = jm.read_ocel(path)
    ours = (ocel.n_events, ocel.n_objects, len(ocel.event_objects), len(ocel.object_objects))
    assert ours == counts
    pm4py = pytest.importorskip("pm4py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(pm4py, reader)(str(path))
    # pm4py agrees on these files: it differs only where links are dangling (it drops them
    # without a word, see test_sqlite_dangling_links_counted_where_pm4py_drops_them)
    assert ours == (len(theirs.events), len(theirs.objects), len(theirs.relations),
                    0 if theirs.o2o is None else len(theirs.o2o))
    assert set(ocel.events["event_id"]) == set(theirs.events["ocel:eid"])
    assert set(ocel.objects["object_id"]) == set(theirs.objects["ocel:oid"])


@pytest.mark.realdata
def test_sqlite_links_equal_the_rows_of_its_tables(shared_data: Path) -> None:
    path = _ocel_dir(shared_data) / "ocel20_example.sqlite"
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    e2o = con.execute("SELECT count(*) FROM event_object").fetchone()[0]
    o2o = con.execute("SELECT count(*) FROM object_object").fetchone()[0]
    con.close()
    ocel = jm.read_ocel(path)
    assert (len(ocel.event_objects), len(ocel.object_objects)) == (e2o, o2o) == (20, 7)


@pytest.mark.realdata
def test_three_serialisations_agree_with_their_time_zone(shared_data: Path) -> None:
    folder = _ocel_dir(shared_data)
    # the JSON file writes UTC offsets; the XML and SQLite files write Central European
    # local times without an offset (e1: 14:00Z in JSON, 15:00 in the others)
    logs = [jm.read_ocel(folder / EXAMPLE[0])] + [jm.read_ocel(folder / n, tz="Europe/Berlin") for n in EXAMPLE[1:]]
    for table in ("events", "objects", "event_objects", "object_objects", "object_attributes"):
        frames = [o.to_polars(table) for o in logs]  # type: ignore[arg-type]
        first = frames[0].sort(frames[0].columns)
        for other in frames[1:]:
            assert other.select(first.columns).sort(first.columns).equals(first), table
    naive = jm.read_ocel(folder / "ocel20_example.xmlocel")
    shift = naive.to_polars("events")["timestamp"] - logs[0].to_polars("events")["timestamp"]
    assert shift.dt.total_hours().unique().to_list() == [1]


@pytest.mark.realdata
def test_object_attribute_history_is_kept(shared_data: Path) -> None:
    ocel = jm.read_ocel(_ocel_dir(shared_data) / "ocel20_example.jsonocel")
    r3 = ocel.to_polars("object_attributes").filter(pl.col("object_id") == "R3")
    assert r3["value"].to_list() == ["No", "Yes", "No"]
    assert ocel.objects.set_index("object_id").loc["R3", "is_blocked"] == "No"  # the first value
    with pytest.warns(jm.JourneymineWarning, match="8 events reaching no Purchase Order left out"):
        po = ocel.flatten("Purchase Order")
    # PO1's quantity became 600 on 13 January, after its first event (10 January)
    assert po.cases.set_index("case").loc["PO1", "po_quantity"] == "500"


# -- problems are counted, never dropped ------------------------------------------------------
def test_dangling_links_are_reported_with_counts(tmp_path: Path) -> None:
    doc = _crm()
    doc["events"][0]["relationships"].append({"objectId": "GHOST", "qualifier": "x"})
    doc["events"][1]["relationships"].append({"objectId": "GHOST", "qualifier": "y"})
    doc["objects"][0]["relationships"] = [{"objectId": "NOBODY", "qualifier": "z"}]
    doc["objects"].append({"id": "X1", "type": "partner"})
    doc["events"].append({"id": "e9", "type": "Mystery", "time": "not a time", "relationships": []})
    with pytest.warns(jm.DataQualityWarning, match=r"event–object link to an unknown object: 2 \(e\.g\. 'GHOST'\)"):
        ocel = jm.read_ocel(_json_log(tmp_path, doc))
    counts = dict(zip(ocel.problems["problem"], ocel.problems["count"], strict=True))
    assert counts == {
        "event with an unparsable time": 1,
        "event of an undeclared type": 1,
        "object of an undeclared type": 1,
        "event–object link to an unknown object": 2,
        "object–object link to an unknown object": 1,
    }
    assert len(ocel.event_objects) == 8  # every link kept as read
    assert "5 problems" not in repr(ocel) and "6 problems" in repr(ocel)


def test_sqlite_dangling_links_counted_where_pm4py_drops_them(tmp_path: Path) -> None:
    path = _write_sqlite(tmp_path / "log.sqlite",
                         extra_links=[("e1", "GONE", "visitor"), ("e404", "A1", "visitor"), (None, "A1", "x")])
    with pytest.warns(jm.DataQualityWarning, match="event–object link from an unknown event: 2"):
        ocel = jm.read_ocel(path)
    assert len(ocel.event_objects) == 5  # the rows of event_object
    counts = dict(zip(ocel.problems["problem"], ocel.problems["count"], strict=True))
    assert counts == {"event–object link from an unknown event": 2, "event–object link to an unknown object": 1}
    pm4py = pytest.importorskip("pm4py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pm4py.read_ocel2_sqlite(str(path))
    # pm4py keeps only the links whose event and object both exist, without a word
    assert len(theirs.relations) == 2


def test_sqlite_is_opened_read_only_and_unchanged(tmp_path: Path) -> None:
    path = _write_sqlite(tmp_path / "log.sqlite")
    before = path.read_bytes()
    path.chmod(0o444)
    ocel = jm.read_ocel(path)
    assert ocel.n_events == 2 and ocel.objects["segment"].tolist() == ["SMB", "Enterprise"]
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.sqlite"]


def test_sqlite_view_in_place_of_a_table_is_refused(tmp_path: Path) -> None:
    path = _write_sqlite(tmp_path / "log.sqlite")
    con = sqlite3.connect(path)
    con.executescript("DROP TABLE event_object; CREATE VIEW event_object AS "
                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                      "SELECT 'e1' AS ocel_event_id, 'A1' AS ocel_object_id, 'q' AS ocel_qualifier FROM n;")
    con.close()
    with pytest.raises(jm.FileFormatError, match="'event_object' is a view, not a table"):
        jm.read_ocel(path)


def test_sqlite_quotes_hostile_type_table_names(tmp_path: Path) -> None:
    path = _write_sqlite(tmp_path / "log.sqlite")
    con = sqlite3.connect(path)
    con.execute("""UPDATE event_map_type SET ocel_type_map = 'Visit"; DROP TABLE event; --'""")
    con.commit()
    con.close()
    with pytest.warns(jm.DataQualityWarning, match="event type without its table"):
        ocel = jm.read_ocel(path)
    assert ocel.n_events == 2 and ocel.events["timestamp"].isna().all()
    with closing(sqlite3.connect(path)) as con, con:
        assert con.execute("SELECT count(*) FROM event").fetchone()[0] == 2


# -- format recognition ------------------------------------------------------------------------
def test_name_and_content_disagree(tmp_path: Path) -> None:
    path = _json_log(tmp_path, _crm(), "log.xmlocel")
    with pytest.raises(jm.FileFormatError, match=r"name says XML but the content is JSON.*format='ocel2-json'"):
        jm.read_ocel(path)
    assert jm.read_ocel(path, format="ocel2-json").n_events == 4
    with pytest.raises(jm.FileFormatError, match="format='ocel2-sqlite' was asked, but the file holds JSON"):
        jm.read_ocel(path, format="ocel2-sqlite")


def test_ambiguous_json_version(tmp_path: Path) -> None:
    doc = {**_crm(), "ocel:events": {}}
    with pytest.raises(jm.FileFormatError, match=r"keys of both OCEL 1.0.*format='ocel1-json' or 'ocel2-json'"):
        jm.read_ocel(_json_log(tmp_path, doc))
    with pytest.raises(jm.FileFormatError, match="JSON, but not OCEL"):
        jm.read_ocel(_json_log(tmp_path, {"traces": []}, "other.json"))
    with pytest.raises(jm.InvalidParameterError, match="'format' parameter of read_ocel"):
        jm.read_ocel(tmp_path / "log.jsonocel", format="json")  # type: ignore[arg-type]


def test_malformed_json_is_a_file_format_error(tmp_path: Path) -> None:
    doc = _crm()
    del doc["events"][0]["type"]
    with pytest.raises(jm.FileFormatError, match=r"not OCEL 2.0 JSON as the standard defines it"):
        jm.read_ocel(_json_log(tmp_path, doc))
    deep = tmp_path / "deep.jsonocel"
    deep.write_text("{" + '"a":[' * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(jm.FileFormatError):
        jm.read_ocel(deep)


# -- hostile files ------------------------------------------------------------------------------
def test_xml_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    path = tmp_path / "evil.xmlocel"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE log [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<log><object-types/><event-types/><objects/><events>'
        '<event id="e1" type="&x;" time="2024-01-01T00:00:00Z"/></events></log>'
    )
    with pytest.raises(jm.FileFormatError) as info:
        jm.read_ocel(path)
    assert "TOP SECRET" not in str(info.value)
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE log [<!ENTITY x "harmless">]>'
        '<log><object-types/><event-types/><objects/><events>'
        '<event id="e1" type="A" time="2024-01-01T00:00:00Z"><attributes><attribute name="n">&x;</attribute>'
        '</attributes></event></events></log>'
    )
    with pytest.raises(jm.FileFormatError, match=r"has a DOCTYPE.*never loads DTDs or entities"):
        jm.read_ocel(path)


def test_compressed_json_is_read_within_the_limit(tmp_path: Path) -> None:
    doc = _crm()
    path = tmp_path / "log.jsonocel.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert jm.read_ocel(path).n_events == 4
    bomb = tmp_path / "bomb.jsonocel.gz"
    padding = " " * 50_000_000  # 50 MB of whitespace compress to about 50 kB
    bomb.write_bytes(gzip.compress(('{"events": [], "objects": []' + padding + "}").encode(), 9))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(jm.FileFormatError, match="max_bytes"):
        jm.read_ocel(bomb, max_bytes=1_000_000)


def test_display_escapes_names(tmp_path: Path) -> None:
    doc = _crm()
    doc["objectTypes"].append({"name": "<script>alert(1)</script>", "attributes": []})
    doc["objects"].append({"id": "S1", "type": "<script>alert(1)</script>"})
    doc["objects"].append({"id": "S2", "type": "<b>undeclared</b>"})
    with pytest.warns(jm.DataQualityWarning, match="undeclared type"):
        ocel = jm.read_ocel(_json_log(tmp_path, doc))
    html = ocel._repr_mimebundle_()["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>undeclared" not in html and "&lt;b&gt;undeclared" in html
    assert json.dumps(ocel.to_dict())  # JSON-safe


# -- flattening ---------------------------------------------------------------------------------
@pytest.mark.parametrize("via", [(), ("contact",), ("contact", "opportunity")])
def test_flatten_matches_a_naive_recomputation(tmp_path: Path, via: tuple[str, ...]) -> None:
    doc = _crm()
    ocel = jm.read_ocel(_json_log(tmp_path, doc))
    reach = _naive_flatten(doc, "account", via)
    report = ocel.flattening("account", via=list(via) or None)
    assert dict(zip(report.per_event["event_id"], report.per_event["n_cases"], strict=True)) == {
        e: len(c) for e, c in reach.items()
    }
    assert report.n_copied == sum(len(c) > 1 for c in reach.values())
    assert report.n_copies == sum(max(len(c) - 1, 0) for c in reach.values())
    assert report.n_dropped == sum(not c for c in reach.values())
    with pytest.warns(jm.JourneymineWarning, match=r"Flattening by account.*left out"):
        log = ocel.flatten("account", via=list(via) or None)
    pairs = {(c, e) for c, e in zip(log.events["case"], log.events["event_id"], strict=True)}
    assert pairs == {(c, e) for e, cases in reach.items() for c in cases}
    assert log.n_events == report.n_rows


def test_flatten_case_attributes_are_those_in_force_at_the_first_event(tmp_path: Path) -> None:
    ocel = jm.read_ocel(_json_log(tmp_path, _crm()))
    with pytest.warns(jm.JourneymineWarning, match=r"2 events copied to several cases \(2 extra copies\)"):
        log = ocel.flatten("account", via=["contact", "opportunity"])
    cases = log.cases.set_index("case")
    # A1 starts on 2 January: SMB then (Enterprise from March); A2's segment is set only
    # later (June), so it takes its first value
    assert cases.loc["A1", "segment"] == "SMB" and cases.loc["A2", "segment"] == "Mid"
    assert cases.loc["A1", "employees"] == 40
    assert "A3" not in cases.index  # no event reaches it
    report = ocel.flattening("account", via=["contact", "opportunity"])
    assert report.summary.loc[0, ["n_cases", "n_objects", "n_events_dropped"]].tolist() == [2, 3, 1]
    assert "1 account object reaches no event" in report.sentence
    assert log.source.endswith("(flattened by account via contact, opportunity)")


@pytest.mark.realdata
def test_flatten_recruiting_log(shared_data: Path) -> None:
    ocel = jm.read_ocel(_ocel_dir(shared_data) / "recruiting-red.jsonocel")
    report = ocel.flattening("offers")
    linked = ocel.to_polars("event_objects").join(
        ocel.to_polars("objects").filter(pl.col("object_type") == "offers"), on="object_id")
    assert report.n_rows == linked.unique(["event_id", "object_id"]).height == 270
    assert report.n_dropped == ocel.n_events - linked["event_id"].n_unique()
    with pytest.warns(jm.JourneymineWarning, match="6,337 events reaching no offers left out"):
        log = ocel.flatten("offers")
    assert log.n_cases == 135


def test_flatten_refuses_unknown_types(tmp_path: Path) -> None:
    ocel = jm.read_ocel(_json_log(tmp_path, _crm()))
    with pytest.raises(jm.InvalidParameterError, match=r"'object_type' parameter of ObjectCentricLog.flatten"):
        ocel.flatten("acount")
    with pytest.raises(jm.InvalidParameterError, match="'via' parameter"):
        ocel.flatten("account", via="account")


# -- writing ------------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize("name", [*EXAMPLE, "recruiting-red.jsonocel"])
def test_round_trip(shared_data: Path, tmp_path: Path, name: str) -> None:
    first = jm.read_ocel(_ocel_dir(shared_data) / name)
    out = jm.write_ocel(first, tmp_path / "copy.jsonocel")
    again = jm.read_ocel(out)
    for table in ("events", "objects", "event_objects", "object_objects"):
        a, b = first.to_polars(table), again.to_polars(table)  # type: ignore[arg-type]
        if name.startswith("recruiting") and table == "event_objects":
            a = a.with_columns(pl.col("qualifier").fill_null(""))  # OCEL 2.0 needs a qualifier
        assert sorted(b.columns) == sorted(a.columns), table
        b = b.select(a.columns)  # attribute columns come in file order
        if table == "object_objects":  # written under their source object, so in object order
            a, b = a.sort(a.columns), b.sort(b.columns)
        assert b.equals(a), table
    history = first.to_polars("object_attributes")
    if name.startswith("recruiting"):  # OCEL 1.0 values have no time: written at the epoch
        history = history.with_columns(pl.col("time").fill_null(pl.datetime(1970, 1, 1, time_zone="UTC")))
    by_object = {"by": "object_id", "maintain_order": True}  # JSON holds them under their object
    assert again.to_polars("object_attributes").sort(**by_object).equals(history.sort(**by_object))
    assert [p.name for p in tmp_path.iterdir()] == ["copy.jsonocel"]


def test_write_refuses_other_formats_and_the_input(tmp_path: Path) -> None:
    path = _json_log(tmp_path, _crm())
    ocel = jm.read_ocel(path)
    with pytest.raises(jm.InvalidParameterError, match=r"writes OCEL 2.0 JSON"):
        jm.write_ocel(ocel, tmp_path / "out.xmlocel")
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        ocel.save(path)
    # a flattened log's source says more than the path, but it is still the input
    before = path.read_bytes()
    with pytest.warns(jm.JourneymineWarning, match="Flattening by account"):
        flat = ocel.flatten("account")
    for write in (jm.write_xes, jm.write_csv):
        with pytest.raises(jm.InvalidParameterError, match="is the input file"):
            write(flat, path)
    with pytest.raises(jm.InvalidParameterError, match="is the input file"):
        jm.write_csv(flat.split_episodes(gap="30D"), path)
    assert path.read_bytes() == before


# -- command line -------------------------------------------------------------------------------
def test_cli_report_of_an_ocel_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _json_log(tmp_path, _crm())
    out = tmp_path / "report.html"
    code = main(["report", str(path), "--object-type", "account", "--via", "contact", "--via", "opportunity",
                 "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "wrote the journey report of 2 accounts" in captured.out
    assert "warning: Flattening by account (directly or via contact, opportunity)" in captured.err
    assert out.exists()
    assert main(["inspect", str(path)]) == 2
    assert "OCEL input needs --object-type: one of 'account', 'contact', 'opportunity'" in capsys.readouterr().err
    assert main(["inspect", str(path), "--object-type", "account", "--case", "x"]) == 2
    assert "drop --case" in capsys.readouterr().err


def test_flatten_types_boolean_object_attributes(tmp_path: Path) -> None:
    doc = {
        "objectTypes": [{"name": "account", "attributes": [{"name": "vip", "type": "boolean"}]}],
        "eventTypes": [{"name": "Demo", "attributes": []}],
        "objects": [{"id": "A1", "type": "account",
                     "attributes": [{"name": "vip", "time": "1970-01-01T00:00:00Z", "value": "true"}]},
                    {"id": "A2", "type": "account",
                     "attributes": [{"name": "vip", "time": "1970-01-01T00:00:00Z", "value": "false"}]}],
        "events": [{"id": f"e{i}", "type": "Demo", "time": "2024-01-01T00:00:00Z",
                    "relationships": [{"objectId": a, "qualifier": ""}]} for i, a in enumerate(["A1", "A2"])],
    }
    log = jm.read_ocel(_json_log(tmp_path, doc)).flatten("account")
    assert log.cases.set_index("case")["vip"].to_dict() == {"A1": True, "A2": False}


@pytest.mark.parametrize("extra", [["--format", "csv"], ["--sep", ";"], ["--monthfirst"]])
def test_cli_refuses_options_that_would_be_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    path = _json_log(tmp_path, _crm())
    code = main(["inspect", str(path), "--object-type", "account", *extra])
    assert code == 2 and ("OCEL" in capsys.readouterr().err)


def test_flatten_says_when_validation_sets_rows_aside(tmp_path: Path) -> None:
    doc = {
        "objectTypes": [{"name": "account", "attributes": []}],
        "eventTypes": [{"name": "Demo", "attributes": []}],
        "objects": [{"id": "A1", "type": "account"}],
        "events": [{"id": "e1", "type": "Demo", "time": "2024-01-01T00:00:00Z",
                    "relationships": [{"objectId": "A1", "qualifier": ""}]},
                   {"id": "e2", "type": "Demo", "time": None,
                    "relationships": [{"objectId": "A1", "qualifier": ""}]}],
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ocel = jm.read_ocel(_json_log(tmp_path, doc))
        log = ocel.flatten("account")
    text = " ".join(str(w.message) for w in caught)
    assert log.n_events == 1 and log.n_rejected == 1
    assert "1 were set aside by validation" in text and "holds 1 events" in text


def test_sqlite_repeated_row_of_an_event_type_table_is_counted(tmp_path: Path) -> None:
    path = _write_sqlite(tmp_path / "repeat.sqlite")
    with closing(sqlite3.connect(path)) as con, con:
        con.executescript("""
            DROP TABLE "event_Visit";
            CREATE TABLE "event_Visit" (ocel_id TEXT, ocel_time TIMESTAMP, page TEXT);
            INSERT INTO "event_Visit" VALUES ('e1', '2024-01-01 10:00:00', '/pricing'),
                ('e2', '2024-01-02 10:00:00', 'b'), ('e2', '2024-05-02 10:00:00', 'c');
        """)
    with pytest.warns(jm.DataQualityWarning):
        ocel = jm.read_ocel(path)
    problems = ocel.problems.set_index("problem")["count"].to_dict()
    assert problems["repeated row in an event type table (first kept)"] == 1
    e2 = ocel.events.set_index("event_id").loc["e2"]
    assert str(e2["timestamp"])[:10] == "2024-01-02" and e2["page"] == "b"  # one row, the first


# -- attributes named like the reader's own columns (hostile-file sweep) --------------------------
@pytest.mark.parametrize("name", ["row", "type", "value", "attribute", "ocel_type"])
def test_sqlite_attribute_columns_named_like_working_columns_are_kept(tmp_path: Path, name: str) -> None:
    """A type table's attribute column called row, type, value or attribute is an
    attribute like any other (it clashed with the reader's own columns, or was dropped)."""
    path = _write_sqlite(tmp_path / "named.sqlite")
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(f'ALTER TABLE "event_Visit" ADD COLUMN "{name}" TEXT')
        con.execute(f'UPDATE "event_Visit" SET "{name}" = \'kept-' + "' || ocel_id")
        con.execute(f'ALTER TABLE "object_account" ADD COLUMN "{name}" TEXT')
        con.execute(f'UPDATE "object_account" SET "{name}" = \'obj-' + "' || ocel_id")
    ocel = jm.read_ocel(path)
    assert ocel.events.set_index("event_id")[name].to_dict() == {"e1": "kept-e1", "e2": "kept-e2"}
    assert ocel.objects.set_index("object_id")[name].to_dict() == {"A1": "obj-A1", "A2": "obj-A2"}
    assert ocel.problems.empty


def test_attributes_named_like_the_id_columns_are_renamed_not_a_crash(tmp_path: Path) -> None:
    doc = {"objectTypes": [{"name": "account", "attributes": [{"name": "object_id", "type": "string"},
                                                              {"name": "case", "type": "string"}]}],
           "eventTypes": [{"name": "Demo", "attributes": [{"name": "event_id", "type": "string"}]}],
           "objects": [{"id": "A1", "type": "account", "attributes": [
               {"name": "object_id", "time": "1970-01-01T00:00:00Z", "value": "q"},
               {"name": "case", "time": "1970-01-01T00:00:00Z", "value": "c1"}]}],
           "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
                       "attributes": [{"name": "event_id", "value": "x"}],
                       "relationships": [{"objectId": "A1", "qualifier": ""}]}]}
    ocel = jm.read_ocel(_json_log(tmp_path, doc))
    assert ocel.events.loc[0, "event_id"] == "e1" and ocel.events.loc[0, "event_id (attribute)"] == "x"
    assert ocel.objects.loc[0, "object_id"] == "A1" and ocel.objects.loc[0, "object_id (attribute)"] == "q"
    log = ocel.flatten("account")
    assert log.cases.loc[0, "case"] == "A1"
    assert log.cases.loc[0, "object_case"] == "c1" and log.cases.loc[0, "object_id"] == "q"


def test_ocel1_text_where_a_list_belongs_is_refused(tmp_path: Path) -> None:
    """OCEL 1.0's omap and object-types are lists: a text was read character by character
    (links to objects 'A' and '1')."""
    event = {"ocel:activity": "Demo", "ocel:timestamp": "2024-01-02T10:00:00Z", "ocel:omap": "A1"}
    doc = {"ocel:global-log": {}, "ocel:events": {"1": event}, "ocel:objects": {"A1": {"ocel:type": "account"}}}
    with pytest.raises(jm.FileFormatError, match=r"not OCEL 1.0 JSON .*ocel:omap must be a list, not str 'A1'"):
        jm.read_ocel(_json_log(tmp_path, doc, "a.jsonocel"))
    event["ocel:omap"] = ["A1"]
    doc["ocel:global-log"] = {"ocel:object-types": "account"}
    with pytest.raises(jm.FileFormatError, match="ocel:object-types must be a list"):
        jm.read_ocel(_json_log(tmp_path, doc, "b.jsonocel"))


def test_write_counts_the_values_of_unknown_objects_it_leaves_out(tmp_path: Path) -> None:
    path = _write_sqlite(tmp_path / "ghost.sqlite")
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("""INSERT INTO "object_account" VALUES ('GHOST', '1970-01-01 00:00:00', NULL, 'SMB')""")
    with pytest.warns(jm.DataQualityWarning):
        ocel = jm.read_ocel(path)
    assert ocel.problems.set_index("problem")["count"].to_dict()["attribute value of an unknown object"] == 1
    with pytest.warns(jm.DataQualityWarning, match=r"1 attribute values of 1 unknown objects \(e.g. 'GHOST'\)"):
        jm.write_ocel(ocel, tmp_path / "out.jsonocel")


def test_events_without_an_id_are_counted_and_not_taken_for_one_repeated_id(tmp_path: Path) -> None:
    path = tmp_path / "noid.xmlocel"
    path.write_text(
        '<?xml version="1.0"?><log><object-types><object-type name="account"><attributes/></object-type>'
        '</object-types><event-types><event-type name="Demo"><attributes/></event-type></event-types>'
        '<objects><object id="A1" type="account"/></objects><events>'
        '<event type="Demo" time="2024-01-02T10:00:00Z"/><event type="Demo" time="2024-01-03T10:00:00Z"/>'
        '<event id="e3" type="Demo" time="2024-01-04T10:00:00Z"><objects>'
        '<relationship object-id="A1" qualifier=""/></objects></event></events></log>'
    )
    with pytest.warns(jm.DataQualityWarning, match=r"event without an id \(the examples are its type\): 2"):
        ocel = jm.read_ocel(path)
    assert ocel.n_events == 3 and ocel.events["event_id"].isna().sum() == 2
    assert "repeated event id (the first row is kept)" not in set(ocel.problems["problem"])
    with pytest.warns(jm.DataQualityWarning, match="2 events or objects without an id .* were left out"):
        out = jm.write_ocel(ocel, tmp_path / "out.jsonocel")
    import json as _json

    written = _json.loads(out.read_text())["events"]
    assert [e["id"] for e in written] == ["e3"] and written[0]["relationships"] == [{"objectId": "A1", "qualifier": ""}]


def test_number_times_in_ocel_are_counted_problems_not_an_error(tmp_path: Path) -> None:
    """The error for a log's timestamp column of numbers is for the log's reader; an OCEL
    value time "0" stays a counted problem."""
    doc = {"objectTypes": [{"name": "account", "attributes": [{"name": "tier", "type": "string"}]}],
           "eventTypes": [{"name": "Demo"}],
           "objects": [{"id": "A1", "type": "account", "attributes": [{"name": "tier", "time": "0", "value": "x"}]}],
           "events": [{"id": "e1", "type": "Demo", "time": "2024-01-02T10:00:00Z",
                       "relationships": [{"objectId": "A1", "qualifier": ""}]}]}
    with pytest.warns(jm.DataQualityWarning, match="unparsable time"):
        ocel = jm.read_ocel(_json_log(tmp_path, doc))
    assert ocel.n_events == 1

"""jm.datasets.load: the public logs from a local copy, checksum verified, nothing downloaded."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import journeymine as jm
from journeymine.errors import FileFormatError, InvalidParameterError


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(jm.datasets.PUBLIC_LOGS))
def test_every_public_log_loads_with_its_published_size(shared_data: Path, name: str) -> None:
    entry = jm.datasets.PUBLIC_LOGS[name]
    options = {"duplicates": "keep"} if isinstance(entry.cases, int) and name != "crm_accounts" else {}
    log = jm.datasets.load(name, shared_data, **options)
    if isinstance(log, jm.ObjectCentricLog):
        assert entry.cases is None
        assert log.n_events == entry.events
    else:
        assert (log.n_cases, log.n_events) == (entry.cases, entry.events)
        assert str(shared_data) in log.source or name == "crm_accounts"


@pytest.mark.realdata
def test_the_folder_is_found_from_the_environment(shared_data: Path, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("JOURNEYMINE_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    assert jm.datasets.data_home() == shared_data
    assert jm.datasets.load("running_example").n_cases == 6


@pytest.mark.realdata
def test_crm_accounts_carry_the_accounts_table(shared_data: Path) -> None:
    log = jm.datasets.load("crm_accounts", shared_data)
    assert log.case_attributes == ("sector", "employees", "office_location")
    # open deals have no close date: set aside with a reason, not dropped
    assert len(log.rejected) == 827
    assert set(log.cases["sector"]) >= {"technolgy", "medical"}  # the source's own spelling


@pytest.mark.realdata
def test_reader_options_override_the_defaults(shared_data: Path) -> None:
    complete = jm.datasets.load("bpic2012", shared_data, transitions="complete")
    assert set(complete.events["lifecycle"].astype(str)) == {"COMPLETE"}


def test_a_changed_copy_is_refused_with_the_fix(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "running_example.xes.gz", "wb") as handle:
        handle.write(b"<log/>")
    with pytest.raises(FileFormatError, match=r"SHA-256 .* verify=False"):
        jm.datasets.load("running_example", tmp_path)


@pytest.mark.realdata
def test_verify_false_reads_another_copy(shared_data: Path, tmp_path: Path) -> None:
    raw = gzip.decompress((shared_data / "running_example.xes.gz").read_bytes())
    (tmp_path / "running_example.xes.gz").write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    with pytest.raises(FileFormatError):
        jm.datasets.load("running_example", tmp_path)
    assert jm.datasets.load("running_example", tmp_path, verify=False).n_events == 42


def test_a_missing_copy_says_where_it_looked_and_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match=r"no receipt\.xes\.gz in the folder given as path=.*downloads nothing"):
        jm.datasets.load("receipt", tmp_path)
    monkeypatch.setenv("JOURNEYMINE_DATA", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=r"\$JOURNEYMINE_DATA .*10\.4121"):
        jm.datasets.load("receipt")


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidParameterError, match=r"'bpic2017'.*Known: bpic2012, bpic2019_variants"):
        jm.datasets.load("bpic2017")
    with pytest.raises(InvalidParameterError, match="verify"):
        jm.datasets.load("receipt", verify="yes")  # type: ignore[arg-type]


@pytest.mark.realdata
def test_recorded_checksums_match_sources_md(shared_data: Path) -> None:
    """The checksums journeymine records are those SOURCES.md publishes for the copies."""
    sources = (shared_data / "SOURCES.md").read_text(encoding="utf-8")
    for entry in jm.datasets.PUBLIC_LOGS.values():
        assert entry.sha256 in sources, entry.name
        for _, sha in entry.extra_files:
            assert sha in sources


def test_no_network_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load() opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    with pytest.raises(FileNotFoundError):
        jm.datasets.load("bpic2012", tmp_path)

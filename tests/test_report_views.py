"""The report's funnel, paths and over-time sections, and drift with period cohorts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import journeymine as jm
from journeymine._cli import main

OUT = jm.datasets.DEMO_OUTCOMES
STEPS = ["Demo request", "Demo", "Proposal sent", "Contract signed"]


@pytest.fixture(scope="module")
def log() -> jm.JourneyLog:
    return jm.datasets.demo_b2b(n_accounts=500, random_state=0)


def test_funnel_paths_and_time_sections(log: jm.JourneyLog) -> None:
    html = jm.report(log, by="segment", outcomes=OUT, funnel=STEPS, funnel_window="90D",
                     paths_around="Proposal sent", retention_period="Q", generated=False)
    for s in ("funnel", "paths", "time"):
        assert f'<section id="{s}">' in html and f'href="#{s}"' in html
    funnel = html.split('<section id="funnel">')[1].split("</section>")[0]
    f = jm.funnel(log, STEPS, window="90D", lost=OUT["lost"])
    first = f.steps.iloc[0]
    assert f"<td>{int(first['entered']):,}</td>" in funnel
    assert "Reaching Closed lost before the next step is a drop-off" in funnel
    assert "Paths around Proposal sent by segment" in html
    assert "Retention by start cohort" in html and "Lifecycle of active accounts" in html
    assert html.count('class="jm-dotted"') == 1 and "data:image/png;base64," in html
    assert "Funnel (strict order)" in html  # its Methods paragraph


def test_without_view_inputs_only_the_dotted_chart(log: jm.JourneyLog) -> None:
    html = jm.report(log, generated=False)
    assert '<section id="funnel">' not in html and '<section id="paths">' not in html
    assert '<section id="time">' in html and "Retention by start cohort" not in html


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"funnel": ["Demo request", "Dmeo"]}, "did you mean 'Demo'"),
        ({"funnel": STEPS, "funnel_window": "-1D"}, "positive"),
        ({"funnel_window": "30D"}, "only with funnel"),
        ({"paths_around": "Proposal snt"}, "did you mean 'Proposal sent'"),
        ({"retention_period": "fortnight"}, "retention_period"),
    ],
)
def test_bad_view_input_fails_before_the_work(log: jm.JourneyLog, kw: dict, match: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from journeymine import _report

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("the work started")

    monkeypatch.setattr(_report, "data_quality", boom)
    with pytest.raises(jm.InvalidParameterError, match=match):
        jm.report(log, **kw)


def test_view_strings_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    frame = jm.datasets.demo_b2b(n_accounts=200, random_state=0, as_frame=True)
    frame["touchpoint"] = frame["touchpoint"].replace({"Demo": evil})
    frame["segment"] = frame["segment"].replace({"SMB": "<b>SMB</b>"})
    log = jm.JourneyLog.from_frame(frame, case="account_id", activity="touchpoint", timestamp="timestamp",
                                   case_attributes=["segment"])
    html = jm.report(log, by="segment", funnel=["Demo request", evil, "Contract signed"], funnel_window="60D",
                     paths_around=evil, retention_period="M", generated=False)
    assert "<script>" not in html and "<b>SMB" not in html
    assert "&lt;script&gt;" in html


def test_period_cohorts_compare_each_period_with_the_one_before(log: jm.JourneyLog) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = jm.report(log, by=jm.period("Y"), generated=False)
    assert "each period against the one before it: drift" in html
    assert "by first touch year" in html


def test_cli_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "events.csv"
    jm.datasets.demo_b2b(200, random_state=0, as_frame=True).to_csv(src, index=False)
    out = tmp_path / "r.html"
    args = ["report", str(src), "--case", "account_id", "--activity", "touchpoint", "--timestamp", "timestamp",
            "--case-attr", "segment", "--by", "first_touch_quarter", "--funnel", "Demo request",
            "--funnel", "Demo|Free trial", "--funnel", "Contract signed", "--funnel-window", "60D",
            "--paths-around", "Demo", "--retention-period", "M", "-o", str(out)]
    assert main(args) == 0
    html = out.read_text()
    assert "Demo | Free trial" in html and '<section id="paths">' in html
    assert main([*args[:-2], "--funnel-window", "soon", "-o", str(out)]) == 2
    assert "window" in capsys.readouterr().err

"""The documentation is tested: its code runs as written and its figures are the measured ones.

Code blocks (README.md and every docs/*.md, one test per file)
    The fenced blocks of a file run in order, in one fresh namespace per file, in a
    temporary working directory (files an example writes land there), with
    ``JOURNEYMINE_PROGRESS=0``. Warnings are errors, as everywhere in this suite.

    * ```` ```python ```` blocks are executed as they are (``exec``). They show no output:
      a comment in them describes, it never claims a value.
    * ```` ```pycon ```` blocks are doctests (``>>> `` prompts, ``... `` continuation lines,
      the expected output below), run by :mod:`doctest` with ``NORMALIZE_WHITESPACE`` and
      ``ELLIPSIS`` in the same namespace: every output the docs show is checked.
    * Other blocks (```` ```bash ````, plain ```` ``` ````) are not run.
    * A python or pycon block is skipped only under a visible marker on the line before its
      fence: ``<!-- not-run: the reason -->``.

    A file whose code loads a public log (``jm.datasets.load(...)``) gets
    ``$JOURNEYMINE_DATA`` from the ``shared_data`` fixture, and is skipped where the logs are
    absent. Files whose blocks take long are marked ``slow`` (they still run in ``make test``).

Figures (every markdown file)
    A speed or quality figure comes from ``benchmarks/results/*.json`` and says where:

    * in a comment under its paragraph, one ``TEXT == EXPR`` a line (the text must be in the
      paragraph above)::

          <!-- figures
          4.5x == {discovery:sizes/5000000/rows/step=jm/x pd total}
          -->

    * or in a marker around it: ``<!-- bench: EXPR -->4.5x<!-- /bench -->``.

    ``{file:path}`` reads ``benchmarks/results/<file>.json``; the path's parts are dict keys,
    list positions, or ``key=value`` (the one list item whose ``key`` is ``value``;
    ``k1=v1&k2=v2`` for several keys); ``<!-- bench-alias name = file:path -->`` lets a file
    write ``{name:rest}``. Lookups combine with arithmetic (``{a} / {b}``). The first number
    of the text must be the value rounded to as many decimals as the text shows (× 100 when
    the text has a ``%``; within 5% too when the text starts with "about ").

    A table generated from the results sits between ``<!-- begin: table NAME -->`` and
    ``<!-- end: table NAME -->`` and must equal what ``benchmarks/docs_tables.py`` writes
    (``python benchmarks/docs_tables.py`` rewrites them after a benchmark run).

docs/development.md ("Documentation that is tested") describes the conventions for writers.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import re
import statistics
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RESULTS = ROOT / "benchmarks" / "results"

RUN = ("python", "pycon")
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")

# docs files whose blocks take more than a few seconds (they still run in `make test`)
SLOW = {"README.md", "clustering.md", "funnels.md", "kpis.md", "process-models.md", "scaling.md", "value.md"}
# docs files whose blocks start a local Spark session: on the xdist worker of the Spark tests
SPARK = {"scaling.md"}


@dataclass(frozen=True)
class Block:
    """One fenced code block of a markdown file."""

    path: Path
    line: int  # the line of the opening fence, 1-based
    lang: str
    text: str
    not_run: str | None  # the reason of a <!-- not-run: ... --> marker

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a markdown file, in order; an unclosed fence is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        lang = opening["info"].strip().split(" ")[0].lower()
        marker = NOT_RUN.match(lines[i - 1]) if i > 0 else None
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = FENCE.match(lines[j])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        else:
            raise AssertionError(f"{path.relative_to(ROOT)}:{i + 1}: the code fence is never closed")
        found.append(Block(path, i + 1, lang, "\n".join(body) + "\n", marker["reason"] if marker else None))
        i = j + 1
    return found


def _loads_public_logs(path: Path) -> bool:
    """Whether the file's code reads the public logs (``jm.datasets.load`` or ``data_home``)."""
    return any(
        "datasets.load(" in b.text or "datasets.data_home(" in b.text
        for b in blocks(path) if b.lang in RUN and b.not_run is None
    )


def _param(path: Path) -> Any:
    marks: list[Any] = []
    if path.name in SLOW:
        marks.append(pytest.mark.slow)
    if path.name in SPARK:
        marks.append(pytest.mark.xdist_group("spark"))
    return pytest.param(path, id=str(path.relative_to(ROOT)), marks=marks)


def _stop_spark() -> None:
    """Stop a Spark session a doc block started, so that no JVM outlives its file."""
    if "pyspark" in sys.modules:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    """Run one block in ``namespace``: exec for python, doctest for pycon."""
    if block.lang == "python":
        # the leading newlines make tracebacks point at the markdown file's own lines
        code = compile("\n" * block.line + block.text, str(block.path), "exec")
        exec(code, namespace)
        return
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.text, namespace, block.where, str(block.path), block.line)
    test.globs = namespace  # share the file's namespace (get_doctest copies it)
    report: list[str] = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False
    )
    result = runner.run(test, out=report.append, clear_globs=False)
    if result.failed:
        pytest.fail(f"{block.where}: {result.failed} of {result.attempted} examples failed\n" + "".join(report),
                    pytrace=False)


def run_markdown(path: Path) -> int:
    """Run every python and pycon block of ``path`` in one namespace; returns how many ran."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    ran = 0
    try:
        for block in blocks(path):
            if block.lang not in RUN or block.not_run is not None:
                continue
            run_block(block, namespace)
            ran += 1
    finally:
        _stop_spark()
    return ran


# --- the code blocks ----------------------------------------------------------------------


def test_every_code_fence_is_closed() -> None:
    for path in DOCS:
        blocks(path)  # raises on a fence that is never closed


def test_blocks_keep_to_the_convention() -> None:
    """python blocks show no prompts; pycon blocks have them; not-run markers are few and named."""
    not_run = []
    for path in DOCS:
        for block in blocks(path):
            if block.lang == "python":
                assert not re.search(r"^\s*>>> ", block.text, re.M), f"{block.where}: a python block with >>> (use pycon)"
                # an output written as a comment is not checked: show it in a pycon block
                claims = re.findall(r"#\s*(<\w[^>]*>|\{'|\"[A-Z][^\"]*\"$)", block.text, re.M)
                assert not claims, f"{block.where}: output shown in a comment {claims}; use a pycon block"
            if block.lang == "pycon":
                assert block.text.lstrip().startswith(">>> "), f"{block.where}: a pycon block starts with >>>"
            if block.not_run is not None:
                assert block.lang in RUN, f"{block.where}: not-run on a block that never runs"
                not_run.append(block.where)
    assert len(not_run) <= 8, f"not-run markers should stay rare: {not_run}"


@pytest.mark.parametrize("path", [_param(p) for p in DOCS])
def test_code_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOURNEYMINE_PROGRESS", "0")
    if _loads_public_logs(path):
        monkeypatch.setenv("JOURNEYMINE_DATA", str(request.getfixturevalue("shared_data")))
    else:
        monkeypatch.delenv("JOURNEYMINE_DATA", raising=False)
    if path.name in SPARK:
        pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'journeymine[spark]')")
        monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # machines whose host name does not resolve
    run_markdown(path)


def test_readme_has_runnable_quickstarts() -> None:
    readme = [b for b in blocks(ROOT / "README.md") if b.lang in RUN and b.not_run is None]
    text = "".join(b.text for b in readme)
    for needed in ("to_csv(", "jm.read_csv(", "jm.journey_map(", "jm.compare_cohorts(", "jm.report(",
                   'jm.datasets.load("bpic2012"'):
        assert needed in text, f"README's quickstarts lack {needed}"


# --- architecture.md names the modules that exist ---------------------------------------


def test_architecture_names_every_module() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = {p.name for p in (ROOT / "src" / "journeymine").glob("_*.py")} - {"__init__.py", "__main__.py"}
    missing = sorted(m for m in modules if f"`{m}`" not in text)
    assert not missing, f"docs/architecture.md does not name {missing}"
    named = set(re.findall(r"`(_[a-z_]+\.py)`", text))
    gone = sorted(n for n in named if not (ROOT / "src" / "journeymine" / n).exists())
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"


def test_architecture_layers_follow_the_contract() -> None:
    """Every module of a layer in pyproject's import contract is in architecture.md's layer table."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Modules, by layer", 1)[1].split("\n## ", 1)[0]
    for layer in layers:
        for module in re.split(r"\s*[|:]\s*", layer):
            name = module.removeprefix("journeymine.")
            file = "__main__.py" if name == "__main__" else f"{name}.py"
            assert f"`{file}`" in table, f"docs/architecture.md's layer table lacks `{file}` ({layer})"


# --- figures from benchmarks/results -----------------------------------------------------

BENCH = re.compile(r"<!--\s*bench:\s*(?P<expr>.+?)\s*-->(?P<text>.*?)<!--\s*/bench\s*-->")
BLOCK = re.compile(r"^<!--\s*figures\s*$")
ALIAS = re.compile(r"<!--\s*bench-alias\s+(?P<name>\w+)\s*=\s*(?P<target>[\w.-]+:.*?)\s*-->")
LOOKUP = re.compile(r"\{(?P<file>[\w.-]+):(?P<path>[^{}]+)\}")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
TABLE = re.compile(
    r"<!-- begin: table (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- end: table (?P=name) -->", re.S
)


def _results(file: str) -> Any:
    return json.loads((RESULTS / f"{file}.json").read_text(encoding="utf-8"))


def _step(value: Any, part: str) -> Any:
    """One part of a path: a dict key, a list position, or ``key=value[&key=value]``."""
    if isinstance(value, list) and "=" in part:
        wants = [condition.split("=", 1) for condition in part.split("&")]
        hits = [item for item in value if isinstance(item, dict) and all(str(item.get(k)) == w for k, w in wants)]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} items with {part!r}")
        return hits[0]
    if isinstance(value, list):
        return value[int(part)]
    return value[part]


def lookup(file: str, path: str) -> Any:
    """The value at ``path`` in ``benchmarks/results/<file>.json``.

    Parts are separated by ``/``; a key that holds a ``/`` itself (``x mem / pm4py``) is found
    by trying the longest run of parts that names something first.
    """
    value = _results(file)
    parts = path.strip().split("/")
    i = 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            try:
                found = _step(value, "/".join(parts[i:j]))
            except (KeyError, IndexError, ValueError, TypeError):
                continue
            value, i = found, j
            break
        else:
            raise KeyError(f"{file}:{path}: nothing at {'/'.join(parts[i:])!r}")
    return value


def evaluate(expr: str, aliases: dict[str, str] | None = None) -> float:
    """A marker's expression: lookups in braces, combined with arithmetic.

    ``{name:rest}`` where ``name`` is an alias of the file (``<!-- bench-alias name =
    file:path -->``) reads ``file:path/rest``.
    """
    aliases = aliases or {}
    values: dict[str, Any] = {}

    def name(match: re.Match[str]) -> str:
        key = f"_v{len(values)}"
        file, path = match["file"], match["path"]
        if file in aliases:
            file, base = aliases[file].split(":", 1)
            path = f"{base.rstrip('/')}/{path}"
        values[key] = lookup(file, path)
        return key

    code = LOOKUP.sub(name, expr)
    helpers = {"median": statistics.median, "mean": statistics.fmean, "min": min, "max": max, "abs": abs}
    return float(eval(code, {"__builtins__": {}}, {**helpers, **values}))


def shown_matches(text: str, value: float) -> bool:
    """Whether ``text`` shows ``value`` rounded as it is written (``%``: × 100)."""
    found = NUMBER.search(text)
    if found is None:
        raise ValueError(f"no number in {text!r}")
    written = found.group().replace(",", "")
    decimals = len(written.split(".")[1]) if "." in written else 0
    if "%" in text:
        value *= 100
    if abs(value - float(written)) <= 0.5 * 10**-decimals + 1e-9:
        return True
    # "about 150": a figure rounded further than its digits say, within 5%
    return text.startswith(("about ", "~")) and abs(value - float(written)) <= 0.05 * abs(value)


@dataclass(frozen=True)
class Figure:
    """A figure the docs quote: where, the text shown, and the expression it comes from."""

    line: int
    text: str
    expr: str
    paragraph: str | None  # for a figure listed under its paragraph: that paragraph's text


def aliases(text: str) -> dict[str, str]:
    return {m["name"]: m["target"] for m in ALIAS.finditer(text)}


def figures(path: Path) -> list[Figure]:
    """The figures of a markdown file: marked in place (``<!-- bench: EXPR -->TEXT<!-- /bench -->``)
    or listed in a ``<!-- figures`` comment under their paragraph, one ``TEXT == EXPR`` a line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Figure] = []
    fenced = False
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            fenced = not fenced
        if fenced:
            i += 1
            continue
        out.extend(Figure(i + 1, m["text"], m["expr"], None) for m in BENCH.finditer(lines[i]))
        if BLOCK.match(lines[i]):
            top = i
            while top > 0 and lines[top - 1].strip() and not lines[top - 1].lstrip().startswith("<!--"):
                top -= 1
            paragraph = "\n".join(lines[top:i])
            i += 1
            while not lines[i].strip().startswith("-->"):
                text, expr = lines[i].split(" == ", 1)
                out.append(Figure(i + 1, text.strip(), expr.strip(), paragraph))
                i += 1
        i += 1
    return out


def _shown_in(paragraph: str, text: str) -> bool:
    flat = " ".join(paragraph.split())
    return re.search(r"(?<![\d.,])" + re.escape(" ".join(text.split())) + r"(?![\d])", flat) is not None


def _docs_tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_tables", ROOT / "benchmarks" / "docs_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_quoted_figures_equal_the_results(path: Path) -> None:
    names = aliases(path.read_text(encoding="utf-8"))
    wrong = []
    for f in figures(path):
        where = f"{path.relative_to(ROOT)}:{f.line}"
        if f.paragraph is not None and not _shown_in(f.paragraph, f.text):
            wrong.append(f"{where}: {f.text!r} is listed but not in the paragraph above")
            continue
        value = evaluate(f.expr, names)
        if not shown_matches(f.text, value):
            wrong.append(f"{where}: {f.text!r} but the results give {value:.6g} ({f.expr})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", ["README.md", "benchmarks.md", "scaling.md", "clustering.md", "kpis.md"])
def test_speed_and_quality_figures_are_marked(name: str) -> None:
    path = ROOT / name if name == "README.md" else ROOT / "docs" / name
    text = path.read_text(encoding="utf-8")
    assert figures(path) or TABLE.search(text), f"{name} quotes benchmark figures without markers"


def test_generated_tables_are_up_to_date() -> None:
    tables = _docs_tables()
    seen = set()
    for path in DOCS:
        for match in TABLE.finditer(path.read_text(encoding="utf-8")):
            name = match["name"]
            seen.add(name)
            assert name in tables.TABLES, f"{path.relative_to(ROOT)}: no generator for table {name!r}"
            assert match["body"] == tables.TABLES[name]() + "\n", (
                f"{path.relative_to(ROOT)}: table {name!r} differs from benchmarks/results; "
                "run `.venv/bin/python benchmarks/docs_tables.py`"
            )
    assert seen == set(tables.TABLES), f"generated tables used nowhere: {sorted(set(tables.TABLES) - seen)}"


def test_the_marker_checks_catch_a_wrong_figure() -> None:
    ratio = lookup("discovery", "sizes/5000000/rows/step=jm/x pd total")
    assert shown_matches("4.5x", ratio) and not shown_matches("5.9x", ratio)
    assert shown_matches("3.0%", lookup("compare", "validity/aa/rate"))
    assert shown_matches("2,036 tests", 2036.0) and not shown_matches("2,037", 2036.0)
    assert shown_matches("about 150", 150.6) and not shown_matches("150", 150.6)
    with pytest.raises(KeyError):
        lookup("discovery", "sizes/5000000/rows/step=nobody/x pd total")

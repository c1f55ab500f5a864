"""At-risk and high-opportunity accounts: an outcome model trained on journey prefixes.

Every training example is an (account, cut-off) pair. Its features use only the events
*before* the cut-off, and its label says whether the target outcome happened after the
cut-off (within ``horizon`` when one is given). With calendar cut-offs (or cut-offs you
give), nothing after a cut-off leaks into its features; a test alters every later event
and checks that the features do not move. ``at="halfway"`` is different by construction:
the midpoint of an account's journey depends on when the journey ends, so features at
that cut-off (events so far, days since the first event) reveal half the journey's length.
It serves to compare models at a comparable point of every journey, as BPI Challenge
studies do, not to estimate how well live scoring will do; use calendar cut-offs for that.

Cut-offs (``at=``):

* ``None`` (fit only): calendar cut-offs every ``step`` from the first event, up to the
  last event minus ``horizon``, so that every label is observed;
* a timestamp: one calendar cut-off for every account;
* a list of timestamps (or a DatetimeIndex): each is a calendar cut-off for every account
  that has started by then (an account is scored at each one while it is open);
* ``"halfway"``: for each account, the midpoint between its first and last event (this
  uses the journey's end, see above);
* a pandas Series (case id → timestamp): one cut-off per account.

An account is scored at a cut-off when it has started (an event before the cut-off) and
has not yet reached the target. Features: events and distinct activities so far, days
since the first and the last event (recency), events in the last 30 and 90 days, distinct
contacts, the deepest and the current stage, back-steps so far, log-counts of each activity
and of the most frequent transitions, and one-hot case attributes. The model is a
standardised L2 logistic regression, so :meth:`JourneyOutcomeModel.explain` can read its
coefficients as odds ratios per standard deviation. A recency/frequency logistic
regression (days since the last event, log events so far) is fitted alongside as the
baseline that :meth:`JourneyOutcomeModel.evaluate` reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import polars as pl

from ._base import Estimator
from ._display import Displayed, section, table
from ._encoding import require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._outcomes import PREFIX, outcome_times
from ._params import check_choice, check_int, invalid

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JourneyOutcomeModel", "OutcomeEvaluation"]

_DAY = 86_400.0


def _cutoffs(log: JourneyLog, at: Any, *, step: Any, horizon: Any, owner: str) -> pl.DataFrame:
    """(case, cutoff) pairs for the accounts to consider."""
    import pandas as pd

    cases = log.to_polars("cases").select("case", "start", "end")
    if isinstance(at, str) and at == "halfway":
        return cases.select("case", (pl.col("start") + (pl.col("end") - pl.col("start")) / 2).alias("cutoff"))
    if isinstance(at, pd.Series):
        s = pd.to_datetime(at, utc=True)
        frame = pl.DataFrame(
            {"case": [str(i) for i in s.index], "cutoff": pl.Series(s.dt.tz_localize(None).to_numpy())}
        ).with_columns(pl.col("cutoff").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        return frame.join(cases.select("case"), on="case", how="inner", maintain_order="left")
    if isinstance(at, (list, tuple, pd.DatetimeIndex)):
        try:
            stamps = pd.DatetimeIndex([pd.Timestamp(a) for a in at])
        except (TypeError, ValueError) as exc:
            raise invalid("at", owner, "a list of timestamps", at) from exc
        if not len(stamps):
            raise invalid("at", owner, "a non-empty list of timestamps", at)
        stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
        cut = pl.DataFrame(
            {"cutoff": pl.Series(stamps.sort_values().unique().tz_localize(None).to_numpy())}
        ).with_columns(pl.col("cutoff").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        return (
            cases.join(cut, how="cross").filter(pl.col("start") < pl.col("cutoff")).select("case", "cutoff")
        )
    if at is not None:
        try:
            stamp = pd.Timestamp(at)
        except (TypeError, ValueError) as exc:
            raise invalid(
                "at", owner, "None, 'halfway', a timestamp or a Series of timestamps per case", at
            ) from exc
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return cases.select(
            "case", pl.lit(stamp.to_pydatetime()).cast(pl.Datetime("us", "UTC")).alias("cutoff")
        )
    first, last = log.time_span
    stop = last - (pd.Timedelta(horizon) if horizon is not None else pd.Timedelta(0))
    if horizon is not None and stop <= first:
        raise invalid(
            "horizon", owner,
            f"shorter than the log, which spans {last - first} ({first} to {last}): no cut-off leaves "
            "a whole horizon after it to see the outcome in. Pass a shorter horizon, or horizon=None",
            horizon,
        )
    grid = pd.date_range(first + pd.Timedelta(step), stop, freq=pd.Timedelta(step))
    if len(grid) == 0:
        raise invalid(
            "step", owner, f"a step that fits at least one cut-off between {first} and {stop}", step
        )
    cut = pl.DataFrame(
        {"cutoff": pl.Series(grid.tz_convert("UTC").tz_localize(None).to_numpy())}
    ).with_columns(pl.col("cutoff").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return cases.join(cut, how="cross").filter(pl.col("start") < pl.col("cutoff")).select("case", "cutoff")


_LEARNERS = ("auto", "blend", "boosting", "logistic")
#: prefixes of the pivoted keys in ``_design``: no column of its frame starts with one, and
#: each pivot has its own, so no activity name can collide with a column (arrow takes no NUL)
_ACT, _STEP, _INDEX = "\u27e8a\u27e9", "\u27e8t\u27e9", "\u27e8i\u27e9"
_ENCODINGS = ("aggregate", "last", "stages", "transitions", "index")
#: "auto" leaves the blend only for a learner better on every fold and by this much on average
_AUC_MARGIN = 0.01
#: the recency/frequency baseline's features
_RF = ["recency_days", "n_events"]
#: the hold-out needs this many examples of each class to choose and calibrate
_MIN_HELD = 20
#: time-ordered validation folds
_FOLDS = 2
#: the smallest effect (in probability) that reasons() gives as a reason
_MIN_EFFECT = 0.0005
#: hold-out rows kept to explain the boosting model
_EXPLAIN_ROWS = 2_000
#: features stored as log1p(count or days), shown as counts and days in reasons
_LOGGED = ("n_events", "days_since_first", "recency_days", "events_30d", "events_90d", "last_gap_days")


def _choose(per_fold: Mapping[str, Sequence[float]], brier: Mapping[str, float] | None = None) -> str:
    """The learner ``"auto"`` keeps, from each candidate's hold-out AUC per fold (and its
    mean hold-out Brier score, ``brier``): the blend, unless boosting or the logistic model
    is better on every fold and by more than the margin on average (hold-outs are small:
    noise is not evidence), and its Brier score is not worse than the blend's (a learner
    that ranks better but whose probabilities are further off is not a better score); then
    the best such learner on average. The baseline is a reference, never chosen (see
    ``fit``)."""
    better = [
        (float(np.mean(np.subtract(aucs, per_fold["blend"]))), name)
        for name, aucs in per_fold.items()
        if name in ("boosting", "logistic") and (np.subtract(aucs, per_fold["blend"]) > 0).all()
        and (brier is None or brier[name] <= brier["blend"])
    ]
    better = [(gap, name) for gap, name in better if gap > _AUC_MARGIN]
    return max(better)[1] if better else "blend"


def _as_text(values: pd.Series) -> pd.Series:
    """Attribute values as text, the same whatever the column's dtype: an integral float
    (a column of integers with a missing value) reads as the integer ("1", not "1.0")."""

    def one(v: Any) -> str:
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    return values.map(one)


def _encoding(value: Any, owner: str) -> tuple[str, ...]:
    """The encoding parts, checked: ``"aggregate"`` always among them."""
    parts = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if not parts or any(p not in _ENCODINGS for p in parts) or "aggregate" not in parts:
        raise invalid("encoding", owner, f"'aggregate' with any of {list(_ENCODINGS[1:])}", value)
    return tuple(p for p in _ENCODINGS if p in parts)


class _Boosting:
    """scikit-learn's histogram gradient boosting (its defaults; no early stopping: its
    validation split would be drawn at random across time) on one OpenMP thread: several
    processes each running it on every core slow down many times over (measured 7x with two
    on two cores), and one thread costs little at these sizes."""

    def __init__(self, random_state: int | None) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model = HistGradientBoostingClassifier(early_stopping=False, random_state=random_state)

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Boosting:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            self.model.fit(X, y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return np.asarray(self.model.predict_proba(X), dtype=float)


class _Blend:
    """The mean of the probabilities of gradient boosting and the logistic model."""

    def __init__(self, C: float, random_state: int | None) -> None:
        self.parts = [_learner("boosting", C, random_state), _learner("logistic", C, random_state)]

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Blend:
        for part in self.parts:
            part.fit(X, y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(np.mean([part.predict_proba(X) for part in self.parts], axis=0), dtype=float)


def _learner(name: str, C: float, random_state: int | None) -> Any:
    """A fresh, unfitted learner."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "blend":
        return _Blend(C, random_state)
    if name == "boosting":
        return _Boosting(random_state)
    if name == "logistic":
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=random_state)
        )
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _columns(X: np.ndarray, names: list[str], learner: str) -> np.ndarray:
    """The columns of ``X`` a learner uses: all, or the baseline's two."""
    if learner != "baseline":
        return X
    return X[:, [names.index(c) for c in _RF]]


class _Fold(NamedTuple):
    """One time-ordered fold: its training rows, their labels as known when its hold-out
    starts, its hold-out rows and that start (nanoseconds)."""

    train: np.ndarray
    y_train: np.ndarray
    hold: np.ndarray
    start: int


def _time_folds(
    cutoffs: np.ndarray, y: np.ndarray, reached: np.ndarray, share: float, horizon: Any
) -> tuple[list[_Fold], list[str]]:
    """Two time-ordered folds (cut-offs and target times in nanoseconds): the latest
    ``share`` of examples by cut-off is the second fold's hold-out, the ``share`` before it
    the first's. Each trains on the earlier examples with their labels as known when the
    hold-out starts: with a ``horizon``, examples whose label window reaches past that start
    are left out; without one (any later time), a target reached after the start counts as
    not (yet) reached. Folds without enough examples of each class are left out; the
    second value says why, per fold left out."""
    import pandas as pd

    n = len(cutoffs)
    ordered = np.sort(cutoffs)
    folds, dropped = [], []
    for k in range(_FOLDS, 0, -1):
        lo = int(ordered[min(n - 1, int(np.floor(n * (1 - k * share))))])
        hi = ordered[min(n - 1, int(np.floor(n * (1 - (k - 1) * share))))] if k > 1 else ordered[-1] + 1
        hold = (cutoffs >= lo) & (cutoffs < hi)
        train = cutoffs < lo
        if horizon is not None:
            train &= cutoffs + pd.Timedelta(horizon).as_unit("ns").value <= lo
            y_train = y[train]
        else:
            y_train = (y[train] == 1) & (reached[train] < lo)
        short = [
            (what, np.bincount(labels.astype(int), minlength=2))
            for labels, what in ((y_train, "training part"), (y[hold], "hold-out"))
            if np.bincount(labels.astype(int), minlength=2).min() < _MIN_HELD
        ]
        if short:
            what, counts = short[0]
            dropped.append(
                f"the {'later' if k == 1 else 'earlier'} fold's {what} has {counts[1]:,} examples with the "
                f"outcome and {counts[0]:,} without (at least {_MIN_HELD} of each are needed)"
            )
            continue
        folds.append(_Fold(train, y_train.astype(int), hold, lo))
    return folds, dropped


class _Calibrator:
    """Maps probabilities to calibrated ones: Platt's sigmoid on the logit, or isotonic."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.model: Any = None

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        q = np.clip(p, 1e-6, 1 - 1e-6)
        return np.asarray(np.log(q / (1 - q)), dtype=float).reshape(-1, 1)

    def fit(self, p: np.ndarray, y: np.ndarray) -> _Calibrator:
        if self.kind == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            self.model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        else:
            from sklearn.linear_model import LogisticRegression

            self.model = LogisticRegression(C=1e6, max_iter=1000).fit(self._logit(p), y)
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        if self.kind == "isotonic":
            return np.asarray(self.model.predict(p), dtype=float)
        return np.asarray(self.model.predict_proba(self._logit(p))[:, 1], dtype=float)


#: folds of the latest hold-out that decide whether calibrating it helps
_CALIBRATION_FOLDS = 5


def _cross_calibrated(p: np.ndarray, y: np.ndarray, kind: str, random_state: int | None) -> np.ndarray:
    """Out-of-fold calibrated probabilities of one hold-out: each of
    :data:`_CALIBRATION_FOLDS` stratified parts (seeded) mapped by a calibrator learned on
    the others (one period: the parts are not ordered in time)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(p), dtype=float)
    seed = 0 if random_state is None else random_state
    parts = StratifiedKFold(_CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    for fit_rows, score_rows in parts.split(p.reshape(-1, 1), y):
        out[score_rows] = _Calibrator(kind).fit(p[fit_rows], y[fit_rows]).transform(p[score_rows])
    return out


def _reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of predictions: mean predicted, observed share and size."""
    import pandas as pd

    frame = pd.DataFrame({"predicted": p, "observed": y})
    if not len(frame):
        return pd.DataFrame({"predicted": [], "observed": [], "n": []})
    rank = np.empty(len(p), dtype=np.int64)
    rank[np.argsort(p, kind="stable")] = np.arange(len(p))
    frame["bin"] = rank * bins // len(p)
    return (
        frame.groupby("bin")
        .agg(predicted=("predicted", "mean"), observed=("observed", "mean"), n=("observed", "size"))
        .reset_index(drop=True)
    )


def _natural(names: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Feature values as a person reads them: log-scaled counts and days back to counts
    and days."""
    logged = np.array(
        [n in _LOGGED or str(n).startswith(("activity: ", "step: ")) for n in names], dtype=bool
    )
    out = np.asarray(values, dtype=float).copy()
    out[logged] = np.expm1(out[logged])
    return out


_NUMERIC_TEXT = {
    "n_events": "{v} events so far",
    "n_activities": "{v} distinct touchpoints",
    "days_since_first": "{v} days since the first event",
    "recency_days": "{v} days since the last event",
    "events_30d": "{v} events in the last 30 days",
    "events_90d": "{v} events in the last 90 days",
    "deepest_stage": "deepest stage rank {v}",
    "current_stage": "current stage rank {v}",
    "backsteps": "{v} back-steps",
    "contacts": "{v} contacts",
    "last_gap_days": "{v} days between the last two events",
}


def _number(v: float) -> str:
    whole = abs(v - round(v)) < 1e-6  # counts come back from log1p with float noise
    return f"{v:,.0f}" if abs(v) >= 10 or whole else f"{v:.1f}"


def reason_text(feature: str, value: float, typical: float, effect: float) -> str:
    """One reason as a sentence: what the account shows, what is typical, and how much it
    moves the probability (percentage points)."""
    move = f"{'raises' if effect > 0 else 'lowers'} by {abs(effect) * 100:.1f} pts"
    if feature in _NUMERIC_TEXT:
        said = _NUMERIC_TEXT[feature].format(v=_number(value))
        return f"{said} (typically {_number(typical)}): {move}"
    for prefix, yes, no in (("last: ", "last touchpoint {x}", "last touchpoint not {x}"),):
        if feature.startswith(prefix):
            x = feature[len(prefix) :]
            return f"{(yes if value else no).format(x=x)}: {move}"
    if feature.startswith("event ") and ": " in feature:
        pos, x = feature[len("event ") :].split(": ", 1)
        return f"touchpoint {pos} {'was' if value else 'was not'} {x}: {move}"
    if feature.startswith(("activity: ", "step: ")):
        x = feature.split(": ", 1)[1]
        return f"{x} ×{_number(value)} (typically ×{_number(typical)}): {move}"
    if " = " in feature:
        attr, x = feature.split(" = ", 1)
        return f"{attr} {'is' if value else 'is not'} {x}: {move}"
    return f"{feature} {_number(value)} (typically {_number(typical)}): {move}"


@dataclass(frozen=True, eq=False, repr=False)
class OutcomeEvaluation(Displayed):
    """How well an outcome model scores a log (see :meth:`JourneyOutcomeModel.evaluate`).

    It reads like a dict: ``r["auc"]``, ``r["auc_baseline"]``, ``r["brier"]``,
    ``r["brier_baseline"]``, ``r["brier_base_rate"]``, ``r["n"]``, ``r["positives"]``,
    ``r["base_rate"]``, ``r["learner"]``, ``r["calibrated"]`` and ``r["calibration"]`` (the
    model's reliability bins); a notebook shows the reliability diagram.

    Attributes
    ----------
    target : str
    metrics : dict

    Examples
    --------
    Train on the journeys known on 1 June 2024, evaluate on monthly cut-offs after it:

    >>> import pandas as pd
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    >>> m = jm.JourneyOutcomeModel(outcomes=jm.datasets.DEMO_OUTCOMES, target="won", horizon="90D",
    ...                            random_state=0).fit(log.filter_time(end="2024-06-01", mode="contained"))
    >>> r = m.evaluate(log, at=pd.date_range("2024-09-01", "2025-06-01", freq="MS", tz="UTC"))
    >>> r["n"], r["positives"]  # (open account, cut-off) pairs scored, and those won within 90 days
    (4241, 65)
    >>> bool(r["auc"] > 0.9 and r["brier"] < r["brier_base_rate"])  # it beats guessing the base rate
    True
    >>> r.summary["scorer"].tolist()  # doctest: +ELLIPSIS
    ['model (...)', 'recency/frequency baseline', 'base rate']
    """

    target: str
    metrics: dict[str, Any]
    _calibration: pd.DataFrame
    _baseline_calibration: pd.DataFrame

    def __getitem__(self, key: str) -> Any:
        if key == "calibration":
            return self._calibration.copy()
        if key == "baseline_calibration":
            return self._baseline_calibration.copy()
        try:
            return self.metrics[key]
        except KeyError:
            raise KeyError(f"No {key!r} in the evaluation; it has {sorted(self.keys())}.") from None

    def keys(self) -> list[str]:
        """The names ``r[...]`` reads."""
        return [*self.metrics, "calibration", "baseline_calibration"]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, as a dict's."""
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[Any]:
        """The values, as a dict's."""
        return [self[k] for k in self.keys()]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    @property
    def calibration(self) -> pd.DataFrame:
        """The model's reliability bins (equal-count deciles of the predictions):
        ``predicted``, ``observed``, ``n``."""
        return self._calibration.copy()

    @property
    def summary(self) -> pd.DataFrame:
        """One row per scorer: the model, the recency/frequency baseline and the base rate,
        with ``auc`` and ``brier``."""
        import pandas as pd

        m = self.metrics
        return pd.DataFrame(
            {
                "scorer": [
                    f"model ({m['learner']}{', calibrated' if m['calibrated'] else ''})",
                    "recency/frequency baseline",
                    "base rate",
                ],
                "auc": [m["auc"], m["auc_baseline"], 0.5],
                "brier": [m["brier"], m["brier_baseline"], m["brier_base_rate"]],
            }
        )

    def to_dataframe(self) -> pd.DataFrame:
        """The reliability bins of the model and of the baseline, with a ``scorer`` column."""
        import pandas as pd

        return pd.concat(
            [self._calibration.assign(scorer="model"), self._baseline_calibration.assign(scorer="baseline")],
            ignore_index=True,
        )[["scorer", "predicted", "observed", "n"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe metrics and reliability bins."""
        from ._jsonsafe import jsonable, records

        return {
            "target": self.target,
            "metrics": jsonable(self.metrics),
            "calibration": records(self._calibration),
            "baseline_calibration": records(self._baseline_calibration),
        }

    def draw(self) -> str:
        """The reliability diagram (SVG text)."""
        from ._outcome_draw import ReliabilitySeries, reliability_svg

        m = self.metrics
        series = [
            ReliabilitySeries(
                f"model ({m['learner']}): Brier {m['brier']:.3f}", *self._bins(self._calibration)
            ),
            ReliabilitySeries(
                f"recency/frequency: Brier {m['brier_baseline']:.3f}", *self._bins(self._baseline_calibration)
            ),
        ]
        return reliability_svg(
            series,
            title=f"Reliability: {self.target}",
            caption=f"{m['n']:,} examples, {m['positives']:,} with {self.target}; a dot per tenth of the "
            "predictions, on the dashed diagonal when calibrated.",
        )

    @staticmethod
    def _bins(t: pd.DataFrame) -> tuple[list[float], list[float], list[int]]:
        return (
            t["predicted"].astype(float).tolist(),
            t["observed"].astype(float).tolist(),
            t["n"].astype(int).tolist(),
        )

    def _display_svg(self) -> str | None:
        return self.draw()

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"<OutcomeEvaluation: {self.target}, {m['learner']}, AUC {m['auc']:.3f} (baseline "
            f"{m['auc_baseline']:.3f}), Brier {m['brier']:.3f} ({m['brier_baseline']:.3f}), "
            f"{m['n']:,} examples>"
        )

    def _display_html(self, svg: str | None) -> str:
        fmt = {"auc": (lambda v: f"{v:.3f}"), "brier": (lambda v: f"{v:.3f}")}
        return section("outcome-evaluation", repr(self), table(self.summary, formats=fmt), svg or "")


@dataclass(frozen=True)
class _Vocabulary:
    """What the features of the training log mean, so that any later log gets the same
    columns: the stage rank of each activity, the activities, the most frequent
    transitions ("a → b") and the values of each case attribute one-hot encoded."""

    rank: dict[str, int]
    activities: list[str]
    transitions: list[str]
    attributes: dict[str, list[str]]

    @classmethod
    def of(cls, log: JourneyLog, n_transitions: int) -> _Vocabulary:
        from ._stages import stage_assignment

        stages = stage_assignment(log)
        ev = log.to_polars("events").select("case", "activity")
        # events are sorted by case and time, so a shift within a case sees the next event
        nxt = pl.when(pl.col("case") == pl.col("case").shift(-1)).then(pl.col("activity").shift(-1))
        steps = (
            ev.with_columns(nxt.alias("nxt"))
            .filter(pl.col("nxt").is_not_null())
            .group_by("activity", "nxt")
            .len()
            .sort(["len", "activity", "nxt"], descending=[True, False, False])
            .head(n_transitions)
        )
        attributes = {}
        cases = log.cases
        for attr in log.case_attributes:
            vals = cases[attr].dropna()
            if 0 < vals.nunique() <= 30:
                attributes[attr] = sorted(_as_text(vals).unique())
        return cls(
            rank={a: stages.order.index(s) for a, s in stages.activity_stage.items()},
            activities=list(log.activities),
            transitions=[f"{a} → {b}" for a, b in steps.select("activity", "nxt").iter_rows()],
            attributes=attributes,
        )


class JourneyOutcomeModel(Estimator):
    """Scores open accounts for an outcome (won, churned …) from what is known so far.

    ``fit`` builds (account, cut-off) examples and two time-ordered hold-outs: the latest
    ``validation`` share of examples by cut-off time and the share before it, each with a
    training part of the examples before it, labelled as known when the hold-out starts
    (with a ``horizon``, those whose label window ends before it; without one, an outcome
    reached after it counts as not reached). Every candidate learner is fitted on each training part and
    scored on its hold-out; ``selection_`` shows their mean ROC AUC and Brier score and
    which one was chosen (``learner``). The probabilities are calibrated on the latest
    hold-out when that helps (``calibration``), and the chosen learner is refitted on every
    example (the calibration learned from the hold-out applies to it, as in scikit-learn's
    ``CalibratedClassifierCV(ensemble=False)``). ``validation_`` is the figure of the last
    hold-out: its own learner, calibrated out of fold when the calibration was kept (the
    learner was chosen on this hold-out, so slightly flattering; ``evaluate`` on a later
    period is the unbiased figure).

    Parameters
    ----------
    outcomes : mapping
        Outcome name → activities, e.g. ``{"won": ["Contract signed"], "churned": ["Churned"]}``.
    target : str
        The outcome to predict (a key of ``outcomes``).
    horizon : str or Timedelta, optional
        Predict the outcome within this time after the cut-off (e.g. ``"90D"``); None means
        "at any later time in the log", which suits logs of finished journeys.
    step : str or Timedelta
        Spacing of the calendar cut-offs used by ``fit(log)`` without ``at``.
    encoding : str or sequence of str
        Which features describe a prefix (the encodings of predictive process monitoring):
        ``"aggregate"`` (always: events and distinct activities so far, days since the
        first and the last event, events in the last 30 and 90 days, days between the last
        two events, distinct contacts, log-counts of each activity, one-hot case
        attributes), ``"last"`` (the last touchpoint, one-hot), ``"stages"`` (the deepest
        and the current stage, back-steps so far), ``"transitions"`` (log-counts of the
        ``n_transitions`` most frequent transitions) and ``"index"`` (the activity at each of
        the first ``index_events`` positions). Default ``("aggregate", "last")``: the best
        on the real logs measured (docs/kpis.md).
    n_transitions : int
        How many of the most frequent transitions the ``"transitions"`` encoding uses.
    index_events : int
        How many leading positions the ``"index"`` encoding uses.
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    learner : {"auto", "blend", "boosting", "logistic"}
        ``"blend"``: the mean of the probabilities of scikit-learn's histogram gradient
        boosting and of the logistic model; ``"boosting"`` alone; ``"logistic"``: the
        standardised L2 logistic regression, whose :meth:`explain` reads as odds ratios;
        ``"auto"`` (default): the blend, unless the logistic model or boosting beats it on
        both time-ordered hold-outs and by more than 0.01 ROC AUC on average, with a mean
        hold-out Brier score no worse than the blend's (then the better of those). The
        recency/frequency baseline is fitted and scored alongside as the reference, never
        chosen: on the logs measured, hold-outs that favoured it did not predict a later
        period better (docs/kpis.md); ``selection_`` shows its figures.
    calibration : {"sigmoid", "isotonic", None}
        How the hold-outs calibrate the probabilities (Platt's sigmoid, isotonic
        regression, or not at all). With a ``horizon``, the map is learned on the latest
        hold-out and kept only when it lowers that hold-out's Brier score out of fold
        (learned on four fifths, scored on the fifth left out, five times); without one
        (the latest labels are censored), it is learned on the first hold-out and kept
        only when it lowers the second's Brier score. ``calibrator_`` is None when it was
        not kept.
    validation : float
        The share of examples (the latest by cut-off) held out to choose and calibrate.
    random_state : int or None
        Seed of the learners.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=1_500, random_state=0)
    >>> train = log.filter_time(end="2024-01-01", mode="contained")
    >>> m = jm.JourneyOutcomeModel(outcomes=jm.datasets.DEMO_OUTCOMES, target="won", horizon="90D",
    ...                            random_state=0).fit(train)
    >>> p = m.predict_proba(log, at="2024-06-01")
    >>> bool(p.between(0, 1).all()), p.name
    (True, 'probability')
    >>> m.learner_ in ("blend", "boosting", "logistic", "baseline")
    True
    """

    # learned in fit (see _fitted), all at once
    feature_names_: list[str]
    model_: Any  # the chosen learner (a scikit-learn estimator), fitted on the earlier part
    learner_: str  # "boosting", "logistic" or "baseline"
    calibrator_: Any  # maps the learner's probability to a calibrated one (or None)
    baseline_: Any  # the recency/frequency Pipeline, fitted on all examples
    selection_: pd.DataFrame
    n_examples_: int
    base_rate_: float
    validation_: OutcomeEvaluation | None  # the chosen learner on the hold-out
    _reference: np.ndarray
    _explain_rows: np.ndarray
    _params: dict[str, Any]
    _vocabulary: _Vocabulary

    def __init__(
        self,
        *,
        outcomes: Mapping[str, Sequence[str]] | None = None,
        target: str = "won",
        horizon: str | Any | None = "90D",
        step: str | Any = "30D",
        encoding: str | Sequence[str] = ("aggregate", "last"),
        n_transitions: int = 40,
        index_events: int = 5,
        C: float = 1.0,
        learner: str = "auto",
        calibration: str | None = "sigmoid",
        validation: float = 0.25,
        random_state: int | None = None,
    ) -> None:
        self.outcomes = outcomes
        self.target = target
        self.horizon = horizon
        self.step = step
        self.encoding = encoding
        self.n_transitions = n_transitions
        self.index_events = index_events
        self.C = C
        self.learner = learner
        self.calibration = calibration
        self.validation = validation
        self.random_state = random_state

    def _validate(self) -> None:
        owner = "JourneyOutcomeModel"
        if not isinstance(self.outcomes, Mapping) or not self.outcomes:
            raise invalid("outcomes", owner, "a mapping of outcome name to activities", self.outcomes)
        if self.target not in self.outcomes:
            raise invalid("target", owner, f"one of the outcomes {sorted(self.outcomes)}", self.target)
        check_int("n_transitions", owner, self.n_transitions, minimum=0)
        check_int("index_events", owner, self.index_events, minimum=0)
        parts = _encoding(self.encoding, owner)
        if "transitions" in parts and self.n_transitions == 0:
            raise invalid("n_transitions", owner, "at least 1 with the 'transitions' encoding", 0)
        if "index" in parts and self.index_events == 0:
            raise invalid("index_events", owner, "at least 1 with the 'index' encoding", 0)
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or self.C <= 0:
            raise invalid("C", owner, "a positive float", self.C)
        check_choice("learner", owner, self.learner, _LEARNERS)
        if self.calibration is not None:
            check_choice("calibration", owner, self.calibration, ("sigmoid", "isotonic"))
        v = self.validation
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.05 <= v <= 0.5:
            raise invalid("validation", owner, "a share between 0.05 and 0.5", v)
        import pandas as pd

        for name in ("horizon", "step"):
            value = getattr(self, name)
            if value is None and name == "horizon":
                continue
            try:
                if pd.Timedelta(value) <= pd.Timedelta(0):
                    raise ValueError
            except (TypeError, ValueError) as exc:
                raise invalid(
                    name,
                    owner,
                    "a positive duration such as '90D'" + (" or None" if name == "horizon" else ""),
                    value,
                ) from exc

    # -- features ----------------------------------------------------------------------------
    def _design(
        self, log: JourneyLog, at: Any, params: Mapping[str, Any], vocabulary: _Vocabulary | None
    ) -> tuple[pd.DataFrame, np.ndarray, _Vocabulary, np.ndarray]:
        """Features and labels of the (account, cut-off) examples of ``log`` for the task
        that ``params`` (:meth:`get_params` as fitted) define, in the columns of
        ``vocabulary``; without one (in fit), the vocabulary is learned from ``log``. It is
        returned with them, and when each example's account first reached the target
        (nanoseconds; the largest int64 when it never did), so that folds can read labels
        as they were known at a given time."""
        import pandas as pd

        owner = "JourneyOutcomeModel"
        horizon = params["horizon"]
        samples = _cutoffs(log, at, step=params["step"], horizon=horizon, owner=owner)
        # scoring a later log: no account may have reached the target yet, which is no error
        times = outcome_times(log, params["outcomes"], owner, require_known=vocabulary is None, prefix=PREFIX)
        target = times.select("case", pl.col(PREFIX + params["target"]).alias("_t"))
        samples = samples.join(target, on="case", how="left", maintain_order="left").filter(
            pl.col("_t").is_null() | (pl.col("_t") > pl.col("cutoff"))
        )
        if samples.height == 0:
            raise invalid(
                "at", owner, "cut-offs at which some account is open (started, target not yet reached)", at
            )
        ev = log.to_polars("events")
        # stage ranks, activities, transitions and attribute values come from the training
        # log, so that features mean the same later
        n_transitions = (
            params["n_transitions"] if "transitions" in _encoding(params["encoding"], owner) else 0
        )
        vocab = _Vocabulary.of(log, n_transitions) if vocabulary is None else vocabulary
        rank = vocab.rank
        read = ["case", "activity", "timestamp"] + (["contact"] if "contact" in ev.columns else [])
        e = ev.select(read).with_columns(
            pl.col("activity").replace_strict(rank, default=0, return_dtype=pl.Int32).alias("srank")
        )
        # events are sorted by case and time, so shifts within a case see its neighbours
        same_next = pl.col("case") == pl.col("case").shift(-1)
        same_prev = pl.col("case") == pl.col("case").shift(1)
        e = e.with_columns(
            pl.when(same_next).then(pl.col("activity").shift(-1)).alias("nxt"),
            pl.when(same_next).then(pl.col("timestamp").shift(-1)).alias("nxt_ts"),
            pl.when(same_prev).then(pl.col("srank").shift(1)).alias("prev_rank"),
        )
        joined = (
            samples.with_row_index("_i")
            .join(e, on="case", how="inner", maintain_order="left_right")
            .filter(pl.col("timestamp") < pl.col("cutoff"))
            .sort("_i", "timestamp", maintain_order=True)
        )
        days = (pl.col("cutoff") - pl.col("timestamp")).dt.total_seconds() / _DAY
        agg = [
            pl.len().alias("n_events"),
            pl.col("activity").n_unique().alias("n_activities"),
            days.max().alias("days_since_first"),
            days.min().alias("recency_days"),
            (days <= 30).sum().alias("events_30d"),
            (days <= 90).sum().alias("events_90d"),
            pl.col("srank").max().alias("deepest_stage"),
            pl.col("srank").last().alias("current_stage"),
            (pl.col("srank") < pl.col("prev_rank")).sum().alias("backsteps"),
            # the last state and the gap before it (aggregation encoding's time features)
            pl.col("activity").last().alias("_last"),
            (pl.col("timestamp").diff().dt.total_seconds().last() / _DAY).alias("last_gap_days"),
        ]
        if "contact" in ev.columns:
            agg.append(pl.col("contact").drop_nulls().n_unique().alias("contacts"))
        base = joined.group_by("_i").agg(agg)
        # pivot keys carry a prefix no column has, so no activity name collides with the
        # frame's own columns ("case", "n_events" …)
        acts = (
            joined.group_by("_i", "activity")
            .len()
            .with_columns(pl.concat_str([pl.lit(_ACT), pl.col("activity")]).alias("_key"))
            .pivot(on="_key", index="_i", values="len")
        )
        # a step counts only when its second event is before the cut-off too (no leakage)
        trans_rows = (
            joined.filter(pl.col("nxt_ts") < pl.col("cutoff"))
            .with_columns(pl.concat_str(["activity", "nxt"], separator=" → ").alias("tr"))
            .filter(pl.col("tr").is_in(pl.Series(vocab.transitions, dtype=pl.String).implode()))
            .with_columns(pl.concat_str([pl.lit(_STEP), pl.col("tr")]).alias("tr"))
        )
        trans = (
            trans_rows.group_by("_i", "tr").len().pivot(on="tr", index="_i", values="len")
            if trans_rows.height
            else pl.DataFrame({"_i": pl.Series([], dtype=pl.UInt32)})
        )
        # index encoding: the activity at each of the first k positions of the prefix
        parts = _encoding(params.get("encoding", ("aggregate", "last")), "JourneyOutcomeModel")
        k = (params.get("index_events", 0) or 0) if "index" in parts else 0
        if k:
            pos = (
                joined.select("_i", "activity")
                .with_columns(pl.int_range(pl.len()).over("_i").alias("_pos"))
                .filter(pl.col("_pos") < k)
                .with_columns(
                    pl.concat_str(
                        [
                            pl.lit(_INDEX + "event "),
                            (pl.col("_pos") + 1).cast(pl.String),
                            pl.lit(": "),
                            pl.col("activity"),
                        ]
                    ).alias("_ix")
                )
                .with_columns(pl.lit(1.0).alias("_one"))
            )
            index = (
                pos.pivot(on="_ix", index="_i", values="_one")
                if pos.height
                else pl.DataFrame({"_i": pl.Series([], dtype=pl.UInt32)})
            )
        else:
            index = pl.DataFrame({"_i": pl.Series([], dtype=pl.UInt32)})
        frame = (
            samples.with_row_index("_i")
            .select("_i", "case", "cutoff", "_t")
            .join(base, on="_i", how="inner", maintain_order="left")
        )
        frame = (
            frame.join(acts, on="_i", how="left", maintain_order="left")
            .join(trans, on="_i", how="left", maintain_order="left")
            .join(index, on="_i", how="left", maintain_order="left")
        )
        x = frame.to_pandas()
        n = len(x)
        cols: dict[str, np.ndarray] = {}
        group: dict[str, str] = {}  # the encoding each column belongs to, set where it is made

        def put(name: str, part: str, values: np.ndarray) -> None:
            cols[name] = values
            group[name] = part

        numeric = [
            "n_events",
            "n_activities",
            "days_since_first",
            "recency_days",
            "events_30d",
            "events_90d",
            *(["contacts"] if "contact" in ev.columns else []),
        ]
        for c in numeric:
            put(c, "aggregate", x[c].to_numpy(dtype=float))
        for c in ("deepest_stage", "current_stage", "backsteps"):
            put(c, "stages", x[c].to_numpy(dtype=float))
        for c in ("n_events", "days_since_first", "recency_days", "events_30d", "events_90d"):
            cols[c] = np.log1p(np.clip(cols[c], 0, None))
        # one event so far: no gap (0); reasons() never names it for such accounts
        gap = np.log1p(np.clip(x["last_gap_days"].fillna(0).to_numpy(dtype=float), 0, None))
        put("last_gap_days", "aggregate", gap)
        zeros = np.zeros(n)

        def counts(key: str) -> np.ndarray:
            return np.log1p(x[key].fillna(0).to_numpy(dtype=float)) if key in x.columns else zeros

        for a in vocab.activities:
            put(f"activity: {a}", "aggregate", counts(_ACT + a))
        for t in vocab.transitions:
            put(f"step: {t}", "transitions", counts(_STEP + t))
        last = x["_last"].to_numpy(dtype=object)
        for a in vocab.activities:
            put(f"last: {a}", "last", (last == a).astype(float))
        for i in range(1, k + 1):
            for a in vocab.activities:
                key = f"{_INDEX}event {i}: {a}"
                put(
                    f"event {i}: {a}",
                    "index",
                    x[key].fillna(0).to_numpy(dtype=float) if key in x.columns else zeros,
                )
        if vocab.attributes:
            attrs = log.cases.set_index("case")
            for attr, values in vocab.attributes.items():
                if attr not in attrs.columns:  # a log without this attribute: no value is set
                    for v in values:
                        put(f"{attr} = {v}", "aggregate", zeros)
                    continue
                col = _as_text(attrs[attr]).reindex(x["case"]).to_numpy()
                for v in values:
                    put(f"{attr} = {v}", "aggregate", (col == v).astype(float))
        cols = {c: v for c, v in cols.items() if group[c] in parts}
        feats = pd.DataFrame(
            cols, index=pd.MultiIndex.from_arrays([x["case"], x["cutoff"]], names=["case", "cutoff"])
        )
        reached = x["_t"]
        if horizon is None:
            label = reached.notna().to_numpy()
        else:
            h = pd.Timedelta(horizon)
            label = (reached.notna() & (reached <= x["cutoff"] + h)).to_numpy()
        never = np.iinfo(np.int64).max
        reached_ns = pd.DatetimeIndex(reached).as_unit("ns").asi8.copy()
        reached_ns[reached.isna().to_numpy()] = never
        return feats, label.astype(int), vocab, reached_ns

    # -- fitting and scoring ---------------------------------------------------------------
    def fit(self, log: JourneyLog, y: Any = None, *, at: Any = None) -> JourneyOutcomeModel:
        """Fit on (account, cut-off) examples of ``log`` (cut-offs as in the module notes),
        choosing and calibrating on the latest ``validation`` share of them."""
        import pandas as pd
        from sklearn.metrics import brier_score_loss, roc_auc_score

        self._validate()
        owner = "JourneyOutcomeModel.fit"
        if not isinstance(log, JourneyLog):
            raise invalid("log", owner, "a JourneyLog", type(log).__name__)
        require_events(log, owner)
        require_embedded(log, owner)
        params = self.get_params()
        x, y_, vocabulary, reached = self._design(log, at, params, None)
        if len(set(y_.tolist())) < 2:
            raise invalid(
                "target",
                owner,
                "an outcome that both happens and does not happen after the cut-offs",
                self.target,
            )
        names = list(x.columns)
        X = x.to_numpy()
        cut = pd.DatetimeIndex(x.index.get_level_values("cutoff")).as_unit("ns").asi8
        folds, dropped = _time_folds(cut, y_, reached, self.validation, self.horizon)
        why = "; ".join(dropped) if not folds else None
        if self.learner == "auto":
            candidates = ["blend", "boosting", "logistic", "baseline"]
        else:
            candidates = [self.learner, "baseline"]
        if why is None:
            # each learner fitted on each fold's earlier part, scored on its hold-out (the
            # blend is the mean of boosting and logistic, so those are fitted once)
            base = {"blend": ["boosting", "logistic"]}
            fit_names = list(dict.fromkeys(n for c in candidates for n in base.get(c, [c])))
            got = {
                name: [
                    _learner(name, self.C, self.random_state)
                    .fit(_columns(X[f.train], names, name), f.y_train)
                    .predict_proba(_columns(X[f.hold], names, name))[:, 1]
                    for f in folds
                ]
                for name in fit_names
            }
            held = {
                c: [np.mean(ps, axis=0) for ps in zip(*(got[n] for n in base[c]), strict=True)]
                if c in base
                else got[c]
                for c in candidates
            }
            per_fold = {
                c: [roc_auc_score(y_[f.hold], p) for f, p in zip(folds, held[c], strict=True)]
                for c in candidates
            }
            brier = {
                c: float(np.mean([brier_score_loss(y_[f.hold], p)
                                  for f, p in zip(folds, held[c], strict=True)]))
                for c in candidates
            }
            table = pd.DataFrame(
                {
                    "learner": candidates,
                    "auc": [float(np.mean(per_fold[c])) for c in candidates],
                    "brier": [brier[c] for c in candidates],
                }
            )
            chosen = _choose(per_fold, brier) if self.learner == "auto" else self.learner
            # calibration, with a horizon: learned on the latest hold-out (the period nearest
            # to the accounts scored next; on logs whose outcome rate drifts, an earlier
            # period's map is stale), kept when its out-of-fold predictions there have a lower
            # Brier score than the raw ones (the figure shown is then the out-of-fold one).
            # Without a horizon the latest hold-out's labels are censored (outcomes not yet
            # reached when the log ends count as not reached) and would pull every score
            # down: the map is learned on the first hold-out with its labels as known when
            # the second starts, kept when it lowers the second's Brier score, then learned
            # again on both.
            last = folds[-1].hold
            y_last = y_[last]
            raw_last = held[chosen][-1]
            p_last = raw_last
            calibrator = None
            if self.calibration is not None and self.horizon is not None:
                if np.bincount(y_last, minlength=2).min() >= _MIN_HELD:
                    crossed = _cross_calibrated(raw_last, y_last, self.calibration, self.random_state)
                    if brier_score_loss(y_last, crossed) < brier_score_loss(y_last, raw_last):
                        p_last = crossed
                        calibrator = _Calibrator(self.calibration).fit(raw_last, y_last)
            elif self.calibration is not None and len(folds) > 1:
                first, start = folds[0], folds[-1].start
                early_p = held[chosen][0]
                early_y = ((y_[first.hold] == 1) & (reached[first.hold] < start)).astype(int)
                if np.bincount(early_y, minlength=2).min() >= _MIN_HELD:
                    tried = _Calibrator(self.calibration).fit(early_p, early_y).transform(raw_last)
                    if brier_score_loss(y_last, tried) < brier_score_loss(y_last, raw_last):
                        p_last = tried
                        calibrator = _Calibrator(self.calibration).fit(
                            np.concatenate(held[chosen]), np.concatenate([y_[f.hold] for f in folds])
                        )
            table["brier_calibrated"] = np.where(
                (table["learner"] == chosen) & (calibrator is not None),
                float(brier_score_loss(y_last, p_last)),
                np.nan,
            )
            validation = OutcomeEvaluation(
                target=str(self.target),
                metrics={
                    "n": len(y_last),
                    "positives": int(y_last.sum()),
                    "base_rate": float(y_last.mean()),
                    "learner": chosen,
                    "calibrated": calibrator is not None,
                    "auc": float(roc_auc_score(y_last, p_last)),
                    "auc_baseline": float(roc_auc_score(y_last, held["baseline"][-1])),
                    "brier": float(brier_score_loss(y_last, p_last)),
                    "brier_baseline": float(brier_score_loss(y_last, held["baseline"][-1])),
                    "brier_base_rate": float(brier_score_loss(y_last, np.full(len(y_last), y_last.mean()))),
                },
                _calibration=_reliability(p_last, y_last),
                _baseline_calibration=_reliability(held["baseline"][-1], y_last),
            )
            # the latest hold-out examples by cut-off
            latest = np.flatnonzero(last)[np.argsort(cut[last], kind="stable")][-_EXPLAIN_ROWS:]
            explain_rows = X[np.sort(latest)]
        else:
            # no time-ordered hold-out is possible: the learner asked for (the blend for
            # "auto") on all examples, uncalibrated; selection_ says why
            chosen = "blend" if self.learner == "auto" else self.learner
            calibrator = None
            table = pd.DataFrame(
                {"learner": [chosen], "auc": [np.nan], "brier": [np.nan], "brier_calibrated": [np.nan]}
            )
            validation = None
            explain_rows = X[np.sort(np.argsort(cut, kind="stable")[-_EXPLAIN_ROWS:])]
        # the chosen learner refitted on every example; the calibration learned from the
        # folds' hold-out predictions applies to it (scikit-learn's CalibratedClassifierCV
        # with ensemble=False does the same)
        model = _learner(chosen, self.C, self.random_state).fit(_columns(X, names, chosen), y_)
        reference = np.median(X, axis=0)
        table["folds"] = len(folds)
        table["chosen"] = table["learner"] == chosen
        if why is not None:
            note = f"no time-ordered hold-out: {why}; {chosen} fitted on all examples, uncalibrated"
        elif dropped:
            note = (
                f"one time-ordered fold only ({dropped[0]}): it chose the learner"
                + (" and the calibration" if self.horizon is not None else "; no calibration was tried")
            )
        else:
            note = ""
        table["note"] = note
        table["holdout_examples"] = sum(int(f.hold.sum()) for f in folds)
        baseline = _learner("baseline", self.C, self.random_state).fit(_columns(X, names, "baseline"), y_)
        # everything learned is set here, at once: nothing of an earlier fit is left, and a
        # fit that raised above left the earlier one whole
        self._fitted(
            feature_names_=names,
            model_=model,
            learner_=chosen,
            calibrator_=calibrator,
            baseline_=baseline,
            selection_=table,
            n_examples_=len(y_),
            base_rate_=float(np.mean(y_)),
            validation_=validation,
            _reference=reference,
            _explain_rows=explain_rows,
            # later logs are read as the training log was: the same task (outcomes,
            # target, horizon, step) and feature vocabulary, whatever set_params changes
            _params=params,
            _vocabulary=vocabulary,
        )
        return self

    def _aligned(self, log: JourneyLog, at: Any) -> tuple[pd.DataFrame, np.ndarray]:
        require_embedded(log, "JourneyOutcomeModel")
        x, y, _, _ = self._design(log, at, self._params, self._vocabulary)
        return x.reindex(columns=self.feature_names_, fill_value=0.0), y

    def _score(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of the chosen learner for feature rows ``X``."""
        raw = self.model_.predict_proba(_columns(X, self.feature_names_, self.learner_))[:, 1]
        p = np.asarray(raw, dtype=float)
        return p if self.calibrator_ is None else self.calibrator_.transform(p)

    def predict_proba(self, log: JourneyLog, *, at: Any) -> pd.Series:
        """Probability of the target for the accounts open at the cut-off(s).

        Returns a Series named ``probability`` indexed by case (and by cut-off when
        several cut-offs are scored per account).
        """
        import pandas as pd

        self._check_fitted("predict_proba")
        x, _ = self._aligned(log, at)
        out = pd.Series(self._score(x.to_numpy()), index=x.index, name="probability")
        if not out.index.get_level_values("case").duplicated().any():
            out.index = out.index.get_level_values("case")
        return out

    def evaluate(self, log: JourneyLog, *, at: Any) -> OutcomeEvaluation:
        """ROC AUC, Brier score and a reliability diagram on ``log`` (e.g. a later period),
        with the recency/frequency baseline and the base rate.

        The result reads like a dict (``r["auc"]``, ``r["brier_baseline"]``,
        ``r["calibration"]``) and draws the reliability diagram in a notebook.
        """
        from sklearn.metrics import brier_score_loss, roc_auc_score

        self._check_fitted("evaluate")
        x, y = self._aligned(log, at)
        if len(set(y.tolist())) < 2:
            raise invalid(
                "log",
                "JourneyOutcomeModel.evaluate",
                "a log in which the target both happens and not",
                self._params["target"],
            )
        X = x.to_numpy()
        p = self._score(X)
        pb = self.baseline_.predict_proba(_columns(X, self.feature_names_, "baseline"))[:, 1]
        metrics = {
            "n": len(y),
            "positives": int(y.sum()),
            "base_rate": float(y.mean()),
            "learner": self.learner_,
            "calibrated": self.calibrator_ is not None,
            "auc": float(roc_auc_score(y, p)),
            "auc_baseline": float(roc_auc_score(y, pb)),
            "brier": float(brier_score_loss(y, p)),
            "brier_baseline": float(brier_score_loss(y, pb)),
            "brier_base_rate": float(brier_score_loss(y, np.full(len(y), y.mean()))),
        }
        return OutcomeEvaluation(
            target=str(self._params["target"]),
            metrics=metrics,
            _calibration=_reliability(p, y),
            _baseline_calibration=_reliability(pb, y),
        )

    def _effects(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row of ``X``, how much each feature moves the score: the calibrated
        probability minus the probability with that feature set to its typical (median)
        training value. Returned sparse: (row, feature, effect) for the features that differ
        from the typical value, and the probabilities."""
        p = self._score(X)
        used = (
            [self.feature_names_.index(c) for c in _RF]
            if self.learner_ == "baseline"
            else range(len(self.feature_names_))
        )
        rows, feats, effects = [], [], []
        for j in used:
            differ = np.flatnonzero(X[:, j] != self._reference[j])
            if not len(differ):
                continue
            moved = X[differ].copy()
            moved[:, j] = self._reference[j]
            rows.append(differ)
            feats.append(np.full(len(differ), j))
            effects.append(p[differ] - self._score(moved))
        if not rows:
            empty = np.array([], dtype=np.int64)
            return empty, empty, np.array([], dtype=float), p
        return np.concatenate(rows), np.concatenate(feats), np.concatenate(effects), p

    def reasons(self, log: JourneyLog, *, at: Any, top: int = 3) -> pd.DataFrame:
        """Why each open account scores as it does: the ``top`` features that raised or
        lowered its probability most.

        A feature's effect is the account's probability minus its probability with that
        feature alone set to the typical (median) value of the training examples; features
        at their typical value have no effect, and effects under 0.05 percentage points are
        not given. Effects do not add up to the score (features interact in the boosting
        model). An account with one event has no gap between its last two events, so that
        feature is never its reason.

        Returns
        -------
        DataFrame
            One row per account (and cut-off) and reason: ``case`` (``cutoff`` when several
            per account), ``probability``, ``rank`` (1 = largest effect), ``feature``,
            ``value`` (counts and days as such, not log-scaled), ``typical``, ``effect``
            (in probability, + raises) and ``text`` (the reason as a sentence).

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0)
        >>> m = jm.JourneyOutcomeModel(outcomes=jm.datasets.DEMO_OUTCOMES, target="won",
        ...                            random_state=0)
        >>> m = m.fit(log.filter_time(end="2024-06-01", mode="contained"))
        >>> r = m.reasons(log, at="2024-09-01", top=2)
        >>> list(r.columns)
        ['case', 'probability', 'rank', 'feature', 'value', 'typical', 'effect', 'text']
        """
        import pandas as pd

        self._check_fitted("reasons")
        check_int("top", "JourneyOutcomeModel.reasons", top, minimum=1)
        x, _ = self._aligned(log, at)
        X = x.to_numpy()
        rows, feats, effects, p = self._effects(X)
        # no reason moves the probability by less than 0.05 points, and the gap between the
        # last two events is no reason for an account with one event
        keep = np.abs(effects) >= _MIN_EFFECT
        if "last_gap_days" in self.feature_names_ and "n_events" in self.feature_names_:
            gap, count = self.feature_names_.index("last_gap_days"), self.feature_names_.index("n_events")
            keep &= ~((feats == gap) & (X[rows, count] <= np.log1p(1.0) + 1e-12))
        rows, feats, effects = rows[keep], feats[keep], effects[keep]
        order = np.lexsort((feats, -np.abs(effects), rows))
        rows, feats, effects = rows[order], feats[order], effects[order]
        starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1] if len(rows) else np.array([], dtype=np.int64)
        rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)])) + 1
        keep = rank <= top
        rows, feats, effects, rank = rows[keep], feats[keep], effects[keep], rank[keep]
        names = np.array(self.feature_names_, dtype=object)
        value = _natural(names[feats], X[rows, feats])
        typical = _natural(names[feats], self._reference[feats])
        several = x.index.get_level_values("case").duplicated().any()
        out = pd.DataFrame(
            {
                "case": x.index.get_level_values("case")[rows],
                **({"cutoff": x.index.get_level_values("cutoff")[rows]} if several else {}),
                "probability": p[rows],
                "rank": rank.astype(int),
                "feature": names[feats].astype(str),
                "value": value,
                "typical": typical,
                "effect": effects,
            }
        )
        out["text"] = [
            reason_text(*r)
            for r in zip(out["feature"], out["value"], out["typical"], out["effect"], strict=True)
        ]
        return out.reset_index(drop=True)

    def explain(self, top: int = 15) -> pd.DataFrame:
        """The features that drive the score, strongest first.

        For the logistic learner: its standardised coefficients (``coefficient``,
        ``odds_ratio_per_sd``, ``direction``). For boosting (or the baseline): on the
        hold-out examples, the mean absolute effect of each feature on the probability
        (as in :meth:`reasons`) as ``importance``, and ``direction``, the sign of its mean
        effect where it differs from the typical value.
        """
        import pandas as pd

        self._check_fitted("explain")
        if self.learner_ == "logistic":
            coef = self.model_[-1].coef_[0]
            out = pd.DataFrame(
                {"feature": self.feature_names_, "coefficient": coef, "odds_ratio_per_sd": np.exp(coef)}
            )
            out["direction"] = np.where(coef > 0, "raises", "lowers")
            return (
                out.reindex(out["coefficient"].abs().sort_values(ascending=False).index)
                .head(top)
                .reset_index(drop=True)
            )
        X = self._explain_rows
        _, feats, effects, _ = self._effects(X)
        d = len(self.feature_names_)
        total = np.bincount(feats, weights=np.abs(effects), minlength=d) / max(len(X), 1)
        signed = np.bincount(feats, weights=effects, minlength=d)
        out = pd.DataFrame(
            {
                "feature": self.feature_names_,
                "importance": total,
                "direction": np.where(signed > 0, "raises", np.where(signed < 0, "lowers", "–")),
            }
        )
        out = out[out["importance"] > 0]
        return (
            out.sort_values(["importance", "feature"], ascending=[False, True])
            .head(top)
            .reset_index(drop=True)
        )

"""The demo's second version: the same journeys, with money and voice (issue 25).

``demo_b2b(version=2)`` starts from exactly the events of version 1 (same seed, same
touchpoints, times, contacts and channels) and adds, from a stream of its own:

* **A seller-side team** per touchpoint (``team``, mapped as the log's resource): Marketing
  (awareness, Case study viewed, Re-engaged), SDR (Demo request, Discovery call), AE (Demo,
  Free trial, the decision stage, Expansion) and CSM (retention and advocacy, surveys,
  Contraction).
* **Deal values that depend on the journey.** "Contract signed" is worth the segment's
  median deal (Enterprise 120k, Mid-market 40k, SMB 8k) × 1.3 when a Security review came
  before it, × 0.8 after a Free trial, × 1.2 when three or more contacts had made touches,
  × a log-normal factor (σ = 0.3).
* **NPS surveys** ("NPS survey", score 0–10 in ``nps``) 45 days after each signing and then
  every 180 days while the customer stays. Scores relate to the relationship's fate: in one
  that ends in "Churned", a survey is a detractor (0–6) with probability 0.6, a passive
  (7–8) 0.3, a promoter (9–10) 0.1; in one that renews and stays, 0.1, 0.3 and 0.6; in one
  that stays without a renewal, 0.2, 0.4 and 0.4. Promoters churn less and renew more, by
  construction.
* **Renewals at a new value**: the previous contract value × 1.10 after a promoter's last
  score, × 1.0 after a passive's, × 0.9 after a detractor's (× 1.0 with no survey yet),
  × a log-normal factor (σ = 0.05).
* **Expansions and contractions**: a customer that does not churn buys another product
  ("Expansion", value half its contract × a log-normal factor) with probability 0.5
  (Enterprise), 0.35 (Mid-market) or 0.15 (SMB), 90 days or more after signing; one that
  churns downgrades first ("Contraction", 30% of its contract) with probability 0.3.
  ``deal_type`` says which each value event is (new, renewal, expansion, contraction) and
  ``deal_product`` its product (the account's ``product`` for its own deals) and
  ``deal_unit`` the business unit that bought it ("BU 1" signs the first deal; an expansion
  comes from a second unit, "BU 2", with probability 0.6 in Enterprise, 0.3 in Mid-market,
  0.05 in SMB).
* **Marketing spend** (:func:`demo_spend`): per month and channel, a fixed amount plus an
  amount per awareness or consideration touch of that channel that month, × a log-normal
  factor; and a "Podcast" channel that has spend and no touches, as real budgets do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._demo import _DEAL_MEDIAN, OBSERVED_DAYS, PRODUCTS, TOUCHPOINTS

__all__ = ["TEAMS", "add_value_and_voice", "spend_table"]

#: the seller-side team of each touchpoint
TEAMS: dict[str, str] = {
    **{t: "Marketing" for t, (stage, _) in TOUCHPOINTS.items() if stage == "awareness"},
    "Case study viewed": "Marketing",
    "Demo request": "SDR",
    "Discovery call": "SDR",
    "Demo": "AE",
    "Free trial": "AE",
    **{t: "AE" for t, (stage, _) in TOUCHPOINTS.items() if stage == "decision"},
    **{t: "CSM" for t, (stage, _) in TOUCHPOINTS.items() if stage in ("retention", "advocacy")},
    "NPS survey": "CSM",
    "Expansion": "AE",
    "Contraction": "CSM",
}
_EXPANSION_P = {"Enterprise": 0.5, "Mid-market": 0.35, "SMB": 0.15}
#: the share of expansions bought by another business unit of the account ("BU 2")
_OTHER_UNIT_P = {"Enterprise": 0.6, "Mid-market": 0.3, "SMB": 0.05}
_BANDS = ((0, 7), (7, 9), (9, 11))  # detractor 0-6, passive 7-8, promoter 9-10 (upper bound excluded)
#: survey bands (detractor, passive, promoter) by the relationship's fate: it churns; it
#: stays and renews; it stays without a renewal (yet)
_BAND_P = {"churns": (0.6, 0.3, 0.1), "renews": (0.1, 0.3, 0.6), "stays": (0.2, 0.4, 0.4)}
_RENEWAL_FACTOR = (0.9, 1.0, 1.10)
_SPEND = {  # channel: (fixed per month, per touch)
    "Paid social": (24_000.0, 900.0),
    "Event": (30_000.0, 2_400.0),
    "Web": (24_000.0, 320.0),
    "Email": (8_000.0, 120.0),
    "Partner": (16_000.0, 2_400.0),
    "Podcast": (20_000.0, 0.0),
}
_DAY = pd.Timedelta(days=1)


def _band(score: float) -> int:
    return 0 if score <= 6 else 1 if score <= 8 else 2


def add_value_and_voice(
    frame: pd.DataFrame, random_state: int | None, start: str = "2023-01-01"
) -> pd.DataFrame:
    """Version 2 of the demo from version 1's ``frame`` (see the module docstring)."""
    rng = np.random.default_rng([0 if random_state is None else random_state, 25])
    log_end = pd.Timestamp(start, tz="UTC") + pd.Timedelta(days=OBSERVED_DAYS)
    frame = frame.reset_index(drop=True)
    frame["team"] = frame["touchpoint"].map(TEAMS)
    cols = _Columns(
        value=frame["value"].to_numpy(dtype=float).copy(),
        deal_type=np.full(len(frame), None, dtype=object),
        deal_product=np.full(len(frame), None, dtype=object),
        deal_unit=np.full(len(frame), None, dtype=object),
    )
    added: list[dict[str, object]] = []
    signed = frame["touchpoint"].to_numpy() == "Contract signed"
    won = set(frame["account_id"].to_numpy()[signed].tolist())
    for acc, rows in frame.groupby("account_id", sort=True).indices.items():
        if acc in won:
            _account(frame, np.asarray(rows), cols, rng, log_end, added)
    frame["value"] = cols.value
    frame["deal_type"] = cols.deal_type
    frame["deal_product"] = cols.deal_product
    frame["deal_unit"] = cols.deal_unit
    frame["nps"] = np.nan
    out = pd.concat([frame, pd.DataFrame(added, columns=frame.columns)], ignore_index=True)
    out["timestamp"] = out["timestamp"].astype(frame["timestamp"].dtype)  # version 1's unit (µs)
    out = out.sort_values(["account_id", "timestamp"], kind="stable").reset_index(drop=True)
    return out


@dataclass
class _Columns:
    """The columns version 2 rewrites, as arrays (written back once)."""

    value: np.ndarray
    deal_type: np.ndarray
    deal_product: np.ndarray
    deal_unit: np.ndarray

    def set(self, row: int, value: float, deal_type: str, product: str) -> None:
        self.value[row], self.deal_type[row], self.deal_product[row] = value, deal_type, product
        self.deal_unit[row] = "BU 1"  # the first business unit signs and renews


def _account(
    frame: pd.DataFrame,
    rows: np.ndarray,
    cols: _Columns,
    rng: np.random.Generator,
    log_end: pd.Timestamp,
    added: list[dict[str, object]],
) -> None:
    """Rewrite one won account's values and add its surveys, expansions and contractions
    (``rows``: its rows of ``frame``, in time order)."""
    ev = frame.iloc[rows]
    seg = str(ev["segment"].iloc[0])
    main = str(ev["product"].iloc[0])
    others = [p for p in PRODUCTS if p != main]
    champion = ev.iloc[0][
        ["account_id", "contact_id", "contact_role", "segment", "product", "market", "team"]
    ]
    touches = ev["touchpoint"].tolist()
    times = ev["timestamp"].tolist()
    contact_ids = ev["contact_id"].tolist()
    i = 0
    while i < len(rows):
        if touches[i] != "Contract signed":
            i += 1
            continue
        seen = set(touches[: i + 1])
        n_contacts = len(set(contact_ids[: i + 1]))
        # one relationship: from this signing to the next churn (or the log's end)
        end_idx = next((j for j in range(i + 1, len(rows)) if touches[j] == "Churned"), None)
        churns = end_idx is not None
        until = times[end_idx] if end_idx is not None else log_end
        renews = "Renewal" in touches[i + 1 : end_idx if end_idx is not None else len(rows)]
        fate = "churns" if churns else "renews" if renews else "stays"
        factor = (1.3 if "Security review" in seen else 1.0) * (0.8 if "Free trial" in seen else 1.0)
        factor *= 1.2 if n_contacts >= 3 else 1.0
        deal = round(_DEAL_MEDIAN[seg] * factor * float(rng.lognormal(0.0, 0.3)), 2)
        cols.set(rows[i], deal, "new", main)
        contract = deal
        # surveys from 45 days after signing, every 180 days, while the customer stays
        surveys: list[tuple[pd.Timestamp, float]] = []
        t = times[i] + 45 * _DAY
        while t < until - _DAY and t < log_end:
            lo, hi = _BANDS[int(rng.choice(3, p=_BAND_P[fate]))]
            score = float(rng.integers(lo, hi))
            when = t + pd.Timedelta(hours=int(rng.integers(8, 18)))
            if when >= until or when >= log_end:
                break
            surveys.append((when, score))
            added.append(_event(champion, "NPS survey", when, nps=score))
            t += 180 * _DAY
        # renewals of this relationship at a value that follows the last score before them
        last = end_idx if end_idx is not None else len(rows)
        for j in range(i + 1, last):
            if touches[j] != "Renewal":
                continue
            before = [s for w, s in surveys if w < times[j]]
            f = _RENEWAL_FACTOR[_band(before[-1])] if before else 1.0
            contract = round(contract * f * float(rng.lognormal(0.0, 0.05)), 2)
            cols.set(rows[j], contract, "renewal", main)
        # a cross-sell for customers who stay, a downgrade before churn for some who leave
        span = (until - times[i]) / _DAY
        if not churns and span > 120 and rng.random() < _EXPANSION_P[seg]:
            when = times[i] + pd.Timedelta(days=float(rng.uniform(90, span - 10)))
            amount = round(deal * 0.5 * float(rng.lognormal(0.0, 0.2)), 2)
            product = str(rng.choice(others))
            unit = "BU 2" if rng.random() < _OTHER_UNIT_P[seg] else "BU 1"  # another business unit buys
            added.append(
                _event(
                    champion,
                    "Expansion",
                    when,
                    value=amount,
                    deal_type="expansion",
                    deal_product=product,
                    deal_unit=unit,
                )
            )
        if churns and span > 60 and rng.random() < 0.3:
            when = times[i] + pd.Timedelta(days=float(rng.uniform(30, span - 15)))
            added.append(
                _event(
                    champion,
                    "Contraction",
                    when,
                    value=round(contract * 0.3, 2),
                    deal_type="contraction",
                    deal_product=main,
                    deal_unit="BU 1",
                )
            )
        i = last if end_idx is None else end_idx
    # renewals outside any relationship (none in the demo's chain) keep version 1's value


def _event(
    like: pd.Series,
    touchpoint: str,
    when: pd.Timestamp,
    *,
    value: float = np.nan,
    deal_type: str | None = None,
    deal_product: str | None = None,
    deal_unit: str | None = None,
    nps: float = np.nan,
) -> dict[str, object]:
    stage = "retention"
    return {
        **{str(k): v for k, v in like.items()},
        "touchpoint": touchpoint,
        "channel": "Email" if touchpoint == "NPS survey" else "Meeting",
        "stage": stage,
        "timestamp": when.floor("s"),
        "value": value,
        "team": TEAMS[touchpoint],
        "deal_type": deal_type,
        "deal_product": deal_product,
        "deal_unit": deal_unit,
        "nps": nps,
    }


def spend_table(frame: pd.DataFrame, random_state: int | None) -> pd.DataFrame:
    """Monthly marketing spend per channel for a version-2 demo ``frame``: ``channel``,
    ``month`` (``YYYY-MM``), ``spend``."""
    rng = np.random.default_rng([0 if random_state is None else random_state, 26])
    early = frame[frame["stage"].isin(["awareness", "consideration"])]
    month = early["timestamp"].dt.strftime("%Y-%m")
    touches = early.groupby([early["channel"], month]).size()
    months = pd.period_range(
        frame["timestamp"].min().strftime("%Y-%m"), frame["timestamp"].max().strftime("%Y-%m"), freq="M"
    ).strftime("%Y-%m")
    rows = []
    for channel, (fixed, per_touch) in _SPEND.items():
        for m in months:
            n = int(touches.get((channel, m), 0))
            rows.append(
                {
                    "channel": channel,
                    "month": m,
                    "spend": round((fixed + per_touch * n) * float(rng.lognormal(0.0, 0.15)), 2),
                }
            )
    return pd.DataFrame(rows)

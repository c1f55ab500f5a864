"""A generator of realistic synthetic B2B touchpoint logs.

Generative model
----------------
Each account belongs to a segment (Enterprise 25%, Mid-market 35%, SMB 40%), buys or
considers one product (Analytics Cloud, Data Platform, Security Suite) and sits in one
market (NA, EMEA, APAC). Its journey is a first-order Markov chain over 24 touchpoints
grouped in five stages:

* awareness: Ad click, Website visit, Webinar, Content download, Trade show, Re-engaged;
* consideration: Demo request, Discovery call, Demo, Free trial, Case study viewed;
* decision: Proposal sent, Pricing negotiation, Security review, Contract signed,
  Closed lost;
* retention: Onboarding, Product usage, Support ticket, QBR, Renewal, Churned;
* advocacy: Referral, Review posted, Case study published.

The chain has an absorbing end state; accounts that reach it without an outcome stay open.
Journeys are non-linear by construction: Demo ↔ Discovery call loops, back-steps from the
decision stage to consideration (Proposal sent → Demo, Pricing negotiation → Demo),
Pricing negotiation ↔ Proposal sent rework, and lost or churned accounts that come back
months later through "Re-engaged". The transition matrix is shared, then adjusted per
segment and product:

* Enterprise: back-step transitions ×2.2, Security review ×3, Free trial ×0.3, stopping
  without an outcome ×0.45 (longer journeys), gaps ×2;
* Mid-market: stopping without an outcome ×0.7;
* SMB: back-steps ×0.45, Security review ×0.2, Free trial ×2.5, gaps ×0.5;
* Security Suite: Security review ×2; Data Platform: Free trial ×1.5; Analytics Cloud:
  Case study viewed ×1.4.

The time to the next touchpoint is log-normal (σ = 0.8) with a median that depends on the
stage of the next touchpoint (awareness 6 days, consideration 10, decision 12, retention 30,
advocacy 40; Re-engaged 150) times the segment's factor (and ×1.15 in APAC), plus at least
one minute, so times are strictly increasing within an account; times are whole seconds.
Journeys start uniformly over the 18 months from ``start`` and stop after 40 touchpoints at most;
the log ends three years after ``start``, so journeys still running then are open (censored).

Each account has a buying committee: 3–8 contacts in Enterprise, 2–5 in Mid-market, 1–3
in SMB. The first is the Champion; the others draw roles from Decision maker, Economic
buyer, Technical evaluator, Procurement and User. Each touchpoint is made by one contact,
drawn as the journey unfolds with weight 1, or 4 for contacts whose role fits the stage
(Champion and User early, Technical evaluator in consideration, Decision maker, Economic
buyer and Procurement in the decision stage), and three planted committee effects:

* **Economic buyer engaged early wins.** In 45% of accounts the seller reaches the
  Economic buyer early (weight 3 in awareness and consideration; 0.2 otherwise). Once an
  Economic buyer has made a touch, the weights of "Contract signed" in every transition
  are ×1.9 and of "Closed lost" ×0.6; until then ×0.75 and ×1.25. This is the effect
  :func:`journeymine.buying_committee` should find at ``at="Proposal sent"``.
* **Multi-threading helps.** Once three or more contacts have made touches, "Contract
  signed" ×1.3 and "Closed lost" ×0.8.
* **Procurement is a consequence, not a cause.** Procurement rarely makes any touch
  (weight 0.1) but signs: "Contract signed" is made by a Procurement contact with weight
  12. Over the whole journey, accounts with Procurement engaged win far more often; by
  "Proposal sent" Procurement makes no difference. An analysis that looks ahead finds it;
  one that stops at the milestone does not.

The channel follows the touchpoint (85%) or is drawn from all channels.
"Contract signed" and "Renewal" carry a deal value, log-normal around 120k (Enterprise),
40k (Mid-market) or 8k (SMB).

Everything is drawn from one ``numpy.random.default_rng(random_state)`` (the committee from
a stream spawned from it) and simulated for all accounts at once, step by step, so 100,000
accounts take a few seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAGES = ("awareness", "consideration", "decision", "retention", "advocacy")
# touchpoint: (stage, usual channel)
TOUCHPOINTS: dict[str, tuple[str, str]] = {
    "Ad click": ("awareness", "Paid social"),
    "Website visit": ("awareness", "Web"),
    "Webinar": ("awareness", "Event"),
    "Content download": ("awareness", "Web"),
    "Trade show": ("awareness", "Event"),
    "Re-engaged": ("awareness", "Email"),
    "Demo request": ("consideration", "Web"),
    "Discovery call": ("consideration", "Sales call"),
    "Demo": ("consideration", "Meeting"),
    "Free trial": ("consideration", "Product"),
    "Case study viewed": ("consideration", "Web"),
    "Proposal sent": ("decision", "Email"),
    "Pricing negotiation": ("decision", "Meeting"),
    "Security review": ("decision", "Meeting"),
    "Contract signed": ("decision", "Sales call"),
    "Closed lost": ("decision", "Sales call"),
    "Onboarding": ("retention", "Meeting"),
    "Product usage": ("retention", "Product"),
    "Support ticket": ("retention", "Email"),
    "QBR": ("retention", "Meeting"),
    "Renewal": ("retention", "Sales call"),
    "Churned": ("retention", "Email"),
    "Referral": ("advocacy", "Partner"),
    "Review posted": ("advocacy", "Web"),
    "Case study published": ("advocacy", "Web"),
}
NAMES = list(TOUCHPOINTS)
END = "(end)"
START = "(start)"
CHANNELS = ("Web", "Email", "Paid social", "Event", "Sales call", "Meeting", "Partner", "Product")
SEGMENTS = ("Enterprise", "Mid-market", "SMB")
SEGMENT_SHARE = (0.25, 0.35, 0.40)
PRODUCTS = ("Analytics Cloud", "Data Platform", "Security Suite")
MARKETS = ("NA", "EMEA", "APAC")
ROLES = ("Decision maker", "Economic buyer", "Technical evaluator", "Procurement", "User")
ALL_ROLES = ("Champion", *ROLES)

_BASE: dict[str, dict[str, float]] = {
    START: {"Ad click": 0.22, "Website visit": 0.3, "Webinar": 0.15, "Content download": 0.1,
            "Trade show": 0.1, "Demo request": 0.08, "Free trial": 0.05},
    "Ad click": {"Website visit": 0.6, "Content download": 0.15, "Demo request": 0.1, END: 0.15},
    "Website visit": {"Content download": 0.2, "Webinar": 0.13, "Demo request": 0.25,
                      "Free trial": 0.1, "Case study viewed": 0.1, "Website visit": 0.07, END: 0.15},
    "Webinar": {"Website visit": 0.25, "Content download": 0.2, "Demo request": 0.25,
                "Discovery call": 0.1, END: 0.2},
    "Content download": {"Website visit": 0.2, "Webinar": 0.2, "Demo request": 0.25,
                         "Discovery call": 0.1, END: 0.25},
    "Trade show": {"Discovery call": 0.35, "Website visit": 0.25, "Demo request": 0.2, END: 0.2},
    "Re-engaged": {"Website visit": 0.3, "Discovery call": 0.35, "Demo": 0.2, END: 0.15},
    "Demo request": {"Discovery call": 0.6, "Demo": 0.3, END: 0.1},
    "Discovery call": {"Demo": 0.55, "Free trial": 0.1, "Case study viewed": 0.1,
                       "Proposal sent": 0.1, END: 0.15},
    "Demo": {"Discovery call": 0.12, "Free trial": 0.15, "Case study viewed": 0.12,
             "Proposal sent": 0.4, "Demo": 0.06, "Closed lost": 0.05, END: 0.1},
    "Free trial": {"Demo": 0.2, "Discovery call": 0.1, "Proposal sent": 0.35,
                   "Contract signed": 0.1, "Closed lost": 0.1, END: 0.15},
    "Case study viewed": {"Demo": 0.3, "Proposal sent": 0.3, "Discovery call": 0.1, END: 0.3},
    "Proposal sent": {"Pricing negotiation": 0.35, "Demo": 0.13, "Security review": 0.1,
                      "Contract signed": 0.15, "Closed lost": 0.12, "Discovery call": 0.05, END: 0.1},
    "Pricing negotiation": {"Contract signed": 0.4, "Proposal sent": 0.13, "Demo": 0.08,
                            "Closed lost": 0.17, "Security review": 0.08, END: 0.14},
    "Security review": {"Pricing negotiation": 0.3, "Contract signed": 0.3, "Proposal sent": 0.1,
                        "Demo": 0.1, "Closed lost": 0.1, END: 0.1},
    "Contract signed": {"Onboarding": 0.92, END: 0.08},
    "Closed lost": {"Re-engaged": 0.2, END: 0.8},
    "Onboarding": {"Product usage": 0.8, "Support ticket": 0.1, END: 0.1},
    "Product usage": {"Product usage": 0.3, "Support ticket": 0.2, "QBR": 0.2, "Renewal": 0.12,
                      "Churned": 0.06, "Referral": 0.04, "Review posted": 0.03, END: 0.05},
    "Support ticket": {"Product usage": 0.55, "Support ticket": 0.1, "Churned": 0.1, "QBR": 0.1,
                       END: 0.15},
    "QBR": {"Renewal": 0.35, "Product usage": 0.3, "Case study published": 0.08, "Referral": 0.07,
            "Churned": 0.08, END: 0.12},
    "Renewal": {"Product usage": 0.45, "Referral": 0.12, "Review posted": 0.1,
                "Case study published": 0.08, "QBR": 0.1, END: 0.15},
    "Churned": {"Re-engaged": 0.25, END: 0.75},
    "Referral": {"Product usage": 0.3, "Review posted": 0.2, END: 0.5},
    "Review posted": {"Product usage": 0.3, "Referral": 0.2, END: 0.5},
    "Case study published": {"Referral": 0.3, "Product usage": 0.3, END: 0.4},
}
_BACK_STEPS = {("Proposal sent", "Demo"), ("Pricing negotiation", "Demo"),
               ("Pricing negotiation", "Proposal sent"), ("Security review", "Demo"),
               ("Security review", "Proposal sent")}
_SEGMENT_FACTORS = {
    "Enterprise": ({"back": 2.2, "Security review": 3.0, "Free trial": 0.3, END: 0.45}, 2.0),
    "Mid-market": ({END: 0.7}, 1.0),
    "SMB": ({"back": 0.45, "Security review": 0.2, "Free trial": 2.5}, 0.5),
}
_PRODUCT_FACTORS = {
    "Analytics Cloud": {"Case study viewed": 1.4},
    "Data Platform": {"Free trial": 1.5},
    "Security Suite": {"Security review": 2.0},
}
_STAGE_GAP_DAYS = {"awareness": 6.0, "consideration": 10.0, "decision": 12.0, "retention": 30.0,
                   "advocacy": 40.0}
_DEAL_MEDIAN = {"Enterprise": 120_000.0, "Mid-market": 40_000.0, "SMB": 8_000.0}
_CONTACTS = {"Enterprise": (3, 8), "Mid-market": (2, 5), "SMB": (1, 3)}
_STAGE_ROLES = {
    "awareness": {"Champion", "User"},
    "consideration": {"Champion", "Technical evaluator", "User"},
    "decision": {"Decision maker", "Economic buyer", "Procurement"},
    "retention": {"User", "Champion"},
    "advocacy": {"Champion", "Decision maker"},
}
MAX_STEPS = 40
OBSERVED_DAYS = 1_095  # the log covers three years from ``start``


#: committee effects on the weights of (Contract signed, Closed lost): Economic buyer engaged
#: or not, three or more contacts engaged (multi-threaded) or not
_EB_EFFECT = {True: (1.9, 0.6), False: (0.75, 1.25)}
_MULTI_EFFECT = {True: (1.3, 0.8), False: (1.0, 1.0)}
_EB_EARLY_SHARE = 0.45
_MULTI_THREADED = 3


def _transition_matrices() -> np.ndarray:
    """Cumulative transition matrices, one per (segment, product, Economic buyer engaged,
    multi-threaded): shape (36, S, S), index ``((segment * 3 + product) * 2 + eb) * 2 + multi``."""
    states = [START, *NAMES, END]
    index = {s: i for i, s in enumerate(states)}
    n = len(states)
    won, lost = index["Contract signed"], index["Closed lost"]
    out = np.zeros((len(SEGMENTS) * len(PRODUCTS) * 4, n, n))
    for si, seg in enumerate(SEGMENTS):
        factors, _ = _SEGMENT_FACTORS[seg]
        for pi, prod in enumerate(PRODUCTS):
            base = np.zeros((n, n))
            for src, row in _BASE.items():
                for dst, w in row.items():
                    if (src, dst) in _BACK_STEPS:
                        w *= factors.get("back", 1.0)
                    w *= factors.get(dst, 1.0) * _PRODUCT_FACTORS[prod].get(dst, 1.0)
                    base[index[src], index[dst]] = w
            base[index[END], index[END]] = 1.0
            for eb in (False, True):
                for multi in (False, True):
                    mat = base.copy()
                    mat[:, won] *= _EB_EFFECT[eb][0] * _MULTI_EFFECT[multi][0]
                    mat[:, lost] *= _EB_EFFECT[eb][1] * _MULTI_EFFECT[multi][1]
                    mat /= mat.sum(axis=1, keepdims=True)
                    out[((si * len(PRODUCTS) + pi) * 2 + eb) * 2 + multi] = mat
    return np.cumsum(out, axis=2)


def _contact_weights(
    roles: np.ndarray, n_contacts: np.ndarray, eb_early: np.ndarray, code: np.ndarray
) -> np.ndarray:
    """Weight of each contact (columns) making the touchpoint ``code`` of each account (rows)."""
    stage = _STAGE_OF[code]
    w = np.where(_FIT[stage[:, None], roles], 4.0, 1.0)
    early = (stage <= STAGES.index("consideration"))[:, None]
    eb = roles == ALL_ROLES.index("Economic buyer")
    w = np.where(eb & early, np.where(eb_early[:, None], 3.0, 0.2), w)
    proc = roles == ALL_ROLES.index("Procurement")
    signs = (code == NAMES.index("Contract signed"))[:, None]
    w = np.where(proc, np.where(signs, 12.0, 0.1), w)
    w[np.arange(roles.shape[1])[None, :] >= n_contacts[:, None]] = 0.0
    return w


_STAGE_OF = np.array([STAGES.index(TOUCHPOINTS[n][0]) for n in NAMES])
_FIT = np.array([[role in _STAGE_ROLES[st] for role in ALL_ROLES] for st in STAGES])


def generate_demo_events(
    n_accounts: int = 400, *, random_state: int | None = 0, start: str = "2023-01-01"
) -> pd.DataFrame:
    """Generate the demo touchpoint log as a pandas DataFrame (one row per event).

    Columns: ``account_id``, ``contact_id``, ``contact_role``, ``touchpoint``, ``channel``,
    ``stage``, ``timestamp`` (UTC), ``segment``, ``product``, ``market``, ``value``.
    Sorted by (account_id, timestamp). See the module docstring for the model.

    Examples
    --------
    >>> from journeymine.datasets._demo import generate_demo_events
    >>> df = generate_demo_events(10, random_state=0)
    >>> df["account_id"].nunique()
    10
    """
    if not isinstance(n_accounts, int) or isinstance(n_accounts, bool) or n_accounts < 1:
        raise ValueError(
            f"The 'n_accounts' parameter of demo_b2b must be an int >= 1. Got {n_accounts!r}."
        )
    rng = np.random.default_rng(random_state)
    n_states = len(NAMES) + 2
    end_code = n_states - 1
    cum = _transition_matrices()

    segment = rng.choice(len(SEGMENTS), size=n_accounts, p=SEGMENT_SHARE)
    product = rng.integers(0, len(PRODUCTS), size=n_accounts)
    market = rng.choice(len(MARKETS), size=n_accounts, p=(0.5, 0.3, 0.2))
    matrix = segment * len(PRODUCTS) + product
    gap_scale = np.array([_SEGMENT_FACTORS[s][1] for s in SEGMENTS])[segment]
    gap_scale = gap_scale * np.where(market == MARKETS.index("APAC"), 1.15, 1.0)
    t0 = pd.Timestamp(start, tz="UTC").value // 1_000  # microseconds
    span_us = int(pd.Timedelta(days=548).value // 1_000)
    clock = t0 + rng.integers(0, span_us, size=n_accounts)
    log_end = t0 + int(pd.Timedelta(days=OBSERVED_DAYS).value // 1_000)

    # buying committee: drawn from its own stream, picked touch by touch as journeys unfold
    crng = rng.spawn(1)[0]
    lo_hi = np.array([_CONTACTS[s] for s in SEGMENTS])[segment]
    n_contacts = crng.integers(lo_hi[:, 0], lo_hi[:, 1] + 1)
    max_c = int(lo_hi[:, 1].max())
    roles = crng.integers(1, len(ALL_ROLES), size=(n_accounts, max_c))
    roles[:, 0] = 0  # Champion
    eb_early = crng.random(n_accounts) < _EB_EARLY_SHARE
    is_eb = roles == ALL_ROLES.index("Economic buyer")
    engaged = np.zeros((n_accounts, max_c), dtype=bool)  # contacts who made a touch so far

    median_gap = np.array([_STAGE_GAP_DAYS[TOUCHPOINTS[n][0]] for n in NAMES])
    median_gap[NAMES.index("Re-engaged")] = 150.0
    day_us = 86_400_000_000

    state = np.zeros(n_accounts, dtype=np.int64)  # START
    acc_parts, code_parts, time_parts, pick_parts = [], [], [], []
    active = np.arange(n_accounts)
    for step in range(MAX_STEPS):
        eb_in = (engaged[active] & is_eb[active]).any(axis=1)
        multi = engaged[active].sum(axis=1) >= _MULTI_THREADED
        which = (matrix[active] * 2 + eb_in) * 2 + multi
        rows = cum[which, state[active]]
        u = rng.random(len(active))[:, None]
        nxt = (rows < u).sum(axis=1)
        nxt = np.minimum(nxt, end_code)
        going = nxt != end_code
        active, nxt = active[going], nxt[going]
        if len(active) == 0:
            break
        code = nxt - 1  # index into NAMES
        gap = median_gap[code] * gap_scale[active] * rng.lognormal(0.0, 0.8, size=len(active))
        if step == 0:
            gap = gap * 0.0
        when = clock[active] + (gap * day_us).astype(np.int64) + 60_000_000 + rng.integers(
            0, 3_600_000_000, size=len(active))
        seen = when < log_end  # the log ends: later touchpoints are not observed yet
        active, nxt, code, when = active[seen], nxt[seen], code[seen], when[seen]
        if len(active) == 0:
            break
        cw = np.cumsum(_contact_weights(roles[active], n_contacts[active], eb_early[active], code), axis=1)
        pick = (cw < crng.random(len(active))[:, None] * cw[:, -1:]).sum(axis=1)
        engaged[active, pick] = True
        clock[active] = when
        state[active] = nxt
        acc_parts.append(active.copy())
        code_parts.append(code)
        time_parts.append(when)
        pick_parts.append(pick)

    acc = np.concatenate(acc_parts)
    code = np.concatenate(code_parts)
    when = np.concatenate(time_parts)
    pick = np.concatenate(pick_parts)
    order = np.lexsort((when, acc))
    acc, code, when, pick = acc[order], code[order], when[order], pick[order]
    ev_stage = _STAGE_OF[code]
    contact_role = np.array(ALL_ROLES)[roles[acc, pick]]

    usual = np.array([CHANNELS.index(TOUCHPOINTS[n][1]) for n in NAMES])
    channel_code = np.where(rng.random(len(acc)) < 0.85, usual[code],
                            rng.integers(0, len(CHANNELS), size=len(acc)))

    deal = np.array([_DEAL_MEDIAN[s] for s in SEGMENTS])[segment[acc]]
    paid = np.isin(code, [NAMES.index("Contract signed"), NAMES.index("Renewal")])
    amount = np.round(deal * rng.lognormal(0.0, 0.35, size=len(acc)), 2)
    value = np.where(paid, amount, np.nan)

    width = max(5, len(str(n_accounts)))
    account_ids = np.char.add("ACC-", np.char.zfill(np.arange(1, n_accounts + 1).astype(str), width))
    acc_id = account_ids[acc]
    contact_id = np.char.add(np.char.add(acc_id, "-C"), (pick + 1).astype(str))
    return pd.DataFrame({
        "account_id": acc_id.astype(object),
        "contact_id": contact_id.astype(object),
        "contact_role": contact_role.astype(object),
        "touchpoint": np.array(NAMES, dtype=object)[code],
        "channel": np.array(CHANNELS, dtype=object)[channel_code],
        "stage": np.array(STAGES, dtype=object)[ev_stage],
        "timestamp": pd.to_datetime(when // 1_000_000 * 1_000_000, unit="us", utc=True),
        "segment": np.array(SEGMENTS, dtype=object)[segment[acc]],
        "product": np.array(PRODUCTS, dtype=object)[product[acc]],
        "market": np.array(MARKETS, dtype=object)[market[acc]],
        "value": value,
    })

"""One result per cohort: the read-only mapping behind :class:`JourneyMaps` and
:class:`ProcessModels`.

:class:`CohortResults` holds one result per cohort (largest cohort first), the resolved
:class:`~journeymine._cohorts.Cohorts` they came from and the cohorts left out for being
small. It gives every such container the same contract as a single result: ``summary``
(one row per cohort, the items' own summaries stacked), ``to_dataframe()`` (the items'
tables with a ``cohort`` column first), ``to_dict()`` and the notebook display (the summary
table, then each cohort's drawing under its name).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from ._base import restore_slots
from ._cohorts import Cohorts
from ._display import Displayed, error, escape, fit, note, section, table
from ._jsonsafe import jsonable
from .errors import MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CohortResults"]


class _Item(Protocol):
    """What a container needs of a result: its one-row summary, export and size."""

    @property
    def summary(self) -> pd.DataFrame: ...

    @property
    def n_cases(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...

    def to_dataframe(self, *args: Any, **options: Any) -> pd.DataFrame: ...

    def _display_svg(self) -> str | None: ...


T = TypeVar("T", bound=_Item)


class CohortResults(Displayed, Mapping[str, T]):
    """A read-only mapping of cohort key to result, largest cohort first.

    Subclasses name their items (``_noun``, ``_items_key``) and say how to draw one
    (:meth:`_draw`) and how the items' table looks when there is none
    (:meth:`_empty_columns`).
    """

    __slots__ = ("_cohorts", "_excluded", "_items")
    _cohorts: Cohorts
    _excluded: dict[str, int]
    _items: dict[str, T]

    #: what one item is called in messages ("journey map", "model")
    _noun: ClassVar[str] = "result"
    #: the key of the items' list in :meth:`to_dict`
    _items_key: ClassVar[str] = "items"
    #: what a cohort's size counts
    _unit: ClassVar[str] = "accounts"

    def __init__(self, items: Mapping[str, T], *, cohorts: Cohorts, excluded: Mapping[str, int]) -> None:
        setter = object.__setattr__
        setter(self, "_items", dict(items))
        setter(self, "_cohorts", cohorts)
        setter(self, "_excluded", dict(excluded))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable.")

    def __setstate__(self, state: Any) -> None:  # pickle and copy
        restore_slots(self, state)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable.")

    # -- the mapping ------------------------------------------------------------------------
    def __getitem__(self, key: str) -> T:
        try:
            return self._items[key]
        except KeyError:
            known = ", ".join(repr(k) for k in list(self._items)[:12]) or "none"
            hint = f" It has fewer {self._unit} than min_cases." if key in self._excluded else ""
            raise KeyError(f"No {self._noun} for cohort {key!r}.{hint} Cohorts: {known}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def by(self) -> str | tuple[str, ...]:
        """How the cohorts were formed: the case attribute, the attributes, or
        ``"<function name>"`` (the function is never called again)."""
        return self._cohorts.by

    @property
    def excluded(self) -> dict[str, int]:
        """Cohorts left out for having fewer than ``min_cases`` cases, with their sizes."""
        return dict(self._excluded)

    # -- the result contract ----------------------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """One row per cohort (each item's ``summary``), largest cohort first."""
        import pandas as pd

        if not self._items:
            return pd.DataFrame(columns=self._summary_columns())
        rows = [item.summary.assign(cohort=key) for key, item in self._items.items()]
        return pd.concat(rows, ignore_index=True)

    def to_dataframe(self, *args: Any, **options: Any) -> pd.DataFrame:
        """The items' tables (their ``to_dataframe`` with these options) stacked, with a
        ``cohort`` column first."""
        import pandas as pd

        frames = [item.to_dataframe(*args, **options).assign(cohort=k) for k, item in self._items.items()]
        if not frames:
            return pd.DataFrame(columns=["cohort", *self._empty_columns(*args, **options)])
        out = pd.concat(frames, ignore_index=True)
        ordered: pd.DataFrame = out[["cohort", *[c for c in out.columns if c != "cohort"]]]
        return ordered

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the settings, ``by``, the excluded cohorts and each item's ``to_dict()``."""
        return {
            **self._settings(),
            "by": jsonable(self.by),
            "excluded": jsonable(self._excluded),
            self._items_key: [item.to_dict() for item in self._items.values()],
        }

    # -- hooks ------------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        """Settings shared by every item, first in :meth:`to_dict`."""
        return {}

    def _summary_columns(self) -> list[str]:
        return ["cohort"]

    def _empty_columns(self, *args: Any, **options: Any) -> list[str]:
        return []

    def _draw(self, key: str) -> str:
        """The SVG of one cohort's item (may raise :class:`MissingDependencyError`)."""
        return fit(self._items[key]._display_svg() or "")

    # -- display ----------------------------------------------------------------------------
    def _display_html(self, svg: str | None) -> str:
        panels = []
        for key, item in self._items.items():
            try:
                drawing = self._draw(key)
            except MissingDependencyError as exc:
                drawing = error(exc)
            panels.append(
                "<div style='flex:1 1 640px;min-width:0;max-width:100%'>"
                f"<h4 style='margin:4px 0'>{escape(key)} <small>({item.n_cases:,} {self._unit})</small>"
                f"</h4>{drawing}</div>"
            )
        parts = [table(self.summary)]
        if self._excluded:
            small = ", ".join(f"{k} ({n:,})" for k, n in self._excluded.items())
            parts.append(note(f"No {self._noun} (fewer {self._unit} than min_cases): {small}"))
        if not panels:
            parts.append(note(f"No cohort has enough {self._unit} for a {self._noun}."))
        parts.append(f"<div style='display:flex;flex-wrap:wrap;gap:12px'>{''.join(panels)}</div>")
        return section(self._items_key, repr(self), *parts)

"""Validation of option values, with one message template for every function.

The template follows scikit-learn: "The 'top' parameter of variants must be an int >= 1.
Got 0." so that users meet the same wording everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from .errors import InvalidParameterError


def invalid(name: str, owner: str, expected: str, got: Any) -> InvalidParameterError:
    """Build the standard error for a bad option value."""
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {got!r}."
    )


def check_choice(name: str, owner: str, value: Any, choices: Collection[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise the standard error."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in sorted(choices))
        raise invalid(name, owner, f"one of {{{options}}}", value)
    return value


def check_int(
    name: str, owner: str, value: Any, *, minimum: int | None = None, allow_none: bool = False
) -> int | None:
    """Return ``value`` if it is an int (not a bool) at least ``minimum``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and minimum is not None and value < minimum:
        ok = False
    if not ok:
        expected = "an int" + (f" >= {minimum}" if minimum is not None else "")
        if allow_none:
            expected += " or None"
        raise invalid(name, owner, expected, value)
    return int(value)


def as_names(value: Any, name: str, owner: str, *, what: str = "column names") -> list[str]:
    """A list of names from one name (a string) or a sequence of them.

    Every parameter that takes a list of activities or columns takes one string too.

    Examples
    --------
    >>> as_names("segment", "case_attributes", "read_csv")
    ['segment']
    >>> as_names(("segment", "market"), "case_attributes", "read_csv")
    ['segment', 'market']
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise invalid(name, owner, f"a str or a list of {what}", value)
    out = list(value)
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise invalid(name, owner, f"a str or a list of {what} (str)", value)
    return out


def close_matches(name: str, known: Iterable[Any], n: int = 3) -> list[str]:
    """The names in ``known`` closest to ``name`` (for "did you mean" in error messages).

    Examples
    --------
    >>> close_matches("Proposl", ["Proposal", "Demo"])
    ['Proposal']
    """
    import difflib

    # long names (a header line of megabytes) are no one's spelling, and slow to compare
    return difflib.get_close_matches(str(name), sorted(t for k in known if len(t := str(k)) <= 200), n=n)


def free_name(name: str, taken: set[str], grow: Callable[[str], str]) -> str:
    """``name``, grown by ``grow`` while ``taken`` holds it; the name returned is added to
    ``taken`` (a column renamed beside others, e.g. ``"row (attribute)"``).

    Examples
    --------
    >>> taken = {"row", "row (attribute)"}
    >>> free_name("row (attribute)", taken, lambda n: n + " (attribute)")
    'row (attribute) (attribute)'
    """
    while name in taken:
        name = grow(name)
    taken.add(name)
    return name


def shown_names(names: Sequence[Any], limit: int = 30, width: int = 60) -> str:
    """The first ``limit`` names quoted, each cut to ``width`` characters, for messages
    that list columns: a hostile header cannot make the message as long as itself.

    Examples
    --------
    >>> shown_names(["a", "b" * 100, "c"], limit=2, width=10)
    "'a', 'bbbbbbbbbb…' (100 characters) …"
    """
    out = []
    for name in names[:limit]:
        text = str(name)
        out.append(repr(text) if len(text) <= width else f"{text[:width] + '…'!r} ({len(text):,} characters)")
    return ", ".join(out) + (" …" if len(names) > limit else "")

"""The estimator base: scikit-learn's parameter protocol and fitted state, in one place.

An estimator's ``__init__`` only stores its keyword-only parameters, so the parameters are
read from its signature: :meth:`Estimator.get_params`, :meth:`Estimator.set_params`,
``repr`` and ``sklearn.base.clone`` all follow from it. Everything else on the instance is
learned state, and :meth:`Estimator._fitted` replaces all of it at once at the end of
``fit``: a refit keeps nothing of the fit before it, and a fit that raises leaves the
previous fit whole.
"""

from __future__ import annotations

import inspect
from typing import Any, Self

from ._params import invalid
from .errors import NotFittedError

__all__ = ["Estimator"]


def _same(value: Any, default: Any) -> bool:
    """Whether a parameter value is its default (for ``repr``); values that do not compare
    to a plain bool (arrays, frames) count as changed."""
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False


class Estimator:
    """Base of the journeymine estimators (scikit-learn's estimator contract).

    Subclasses declare their parameters as keyword-only arguments of ``__init__``, store
    each under its own name and do nothing else there; ``fit`` ends with
    :meth:`_fitted`.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        """The parameters of ``__init__``, in the order of its signature."""
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @classmethod
    def _param_defaults(cls) -> dict[str, Any]:
        params = inspect.signature(cls.__init__).parameters.values()
        return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters of this estimator, by name (scikit-learn protocol).

        ``deep`` is accepted for scikit-learn; no parameter is itself an estimator, so it
        changes nothing.

        Examples
        --------
        >>> import journeymine as jm
        >>> jm.JourneyClusterer(n_clusters=3).get_params()["n_clusters"]
        3
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set parameters by name and return the estimator (scikit-learn protocol).

        Every name is checked before any is set, so a bad name changes nothing. The new
        values are checked by the next ``fit``, and what was learned stays until then.

        Raises
        ------
        InvalidParameterError
            A name is not a parameter of the estimator.

        Examples
        --------
        >>> import journeymine as jm
        >>> jm.JourneyClusterer().set_params(n_clusters=4, random_state=0)
        JourneyClusterer(n_clusters=4, random_state=0)
        """
        owner = type(self).__name__
        names = self._param_names()
        for name in params:
            if name not in names:
                expected = f"one of the parameters of {owner} ({', '.join(map(repr, names))})"
                raise invalid(name, f"{owner}.set_params", expected, name)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = self._param_defaults()
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults[k])]
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- fitted state ------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        """Whether ``fit`` has run (what ``sklearn.utils.validation.check_is_fitted`` asks)."""
        return any(not name.startswith("__") for name in self._learned())

    def _learned(self) -> list[str]:
        """The names of the learned attributes: every instance attribute but the parameters."""
        params = set(self._param_names())
        return [name for name in vars(self) if name not in params]

    def _fitted(self, **state: Any) -> None:
        """Replace all learned state with ``state``; ``fit`` calls it last, once."""
        for name in self._learned():
            delattr(self, name)
        for name, value in state.items():
            setattr(self, name, value)

    def _check_fitted(self, what: str) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` has run; ``what`` names the call."""
        if not self.__sklearn_is_fitted__():
            name = type(self).__name__
            raise NotFittedError(f"This {name} is not fitted yet; call fit(log) before {what}.")


def restore_slots(obj: object, state: Any) -> None:
    """``__setstate__`` for the immutable slotted objects (logs, result containers), whose
    ``__setattr__`` refuses every assignment: ``pickle`` and ``copy`` restore them with this.

    ``state`` is what ``object.__getstate__`` gives a slotted object: ``(None, slots)``.
    """
    slots = state[1] if isinstance(state, tuple) else state
    for name, value in (slots or {}).items():
        object.__setattr__(obj, name, value)

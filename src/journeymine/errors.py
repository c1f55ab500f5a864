"""Exceptions and warnings raised by journeymine.

Every error journeymine raises on purpose derives from :class:`JourneymineError`, and
every warning from :class:`JourneymineWarning`, so a service can catch them in one place.
Each also derives from the closest built-in exception, so ``except ValueError`` keeps
working for callers who do not know journeymine::

    Exception
    └── JourneymineError
        ├── SchemaError              (also ValueError)    a column is missing, misnamed or of
        │                                                  the wrong kind
        ├── InvalidParameterError    (also ValueError)    an option value is not allowed
        ├── DataQualityError         (also ValueError)    rows are unusable and
        │                                                  ``on_invalid="raise"`` was asked
        ├── EmptyLogError            (also ValueError)    nothing usable is left to analyse
        ├── FileFormatError          (also ValueError)    a file cannot be parsed as its format
        ├── DatabaseError            (also ValueError)    a database refused the connection or
        │                                                  the query (its message inside, never
        │                                                  a password)
        ├── NotFittedError           (also AttributeError) an estimator is used before ``fit``
        ├── MissingDependencyError   (also ImportError)   an optional extra is not installed
        └── UnsupportedOperationError (also NotImplementedError) the log's engine cannot do
                                                          this (e.g. event-level work on a
                                                          Spark log)

    UserWarning
    └── JourneymineWarning
        └── DataQualityWarning                            rows were set aside, or case
                                                          attributes vary within a case
"""

from __future__ import annotations

__all__ = [
    "DataQualityError",
    "DataQualityWarning",
    "DatabaseError",
    "EmptyLogError",
    "FileFormatError",
    "InvalidParameterError",
    "JourneymineError",
    "JourneymineWarning",
    "MissingDependencyError",
    "NotFittedError",
    "SchemaError",
    "UnsupportedOperationError",
]


class JourneymineError(Exception):
    """Base class of every error journeymine raises on purpose.

    Examples
    --------
    A bad argument raises an :class:`InvalidParameterError`, which ``except
    jm.JourneymineError`` and ``except ValueError`` both catch:

    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=20, random_state=0)
    >>> try:
    ...     jm.retention(log, period="fortnight")
    ... except jm.JourneymineError as err:
    ...     caught = err
    >>> type(caught).__name__, isinstance(caught, ValueError)
    ('InvalidParameterError', True)
    >>> str(caught)  # doctest: +ELLIPSIS
    "The 'period' parameter of retention must be one of 'D' (day), ... Got 'fortnight'."
    """


class SchemaError(JourneymineError, ValueError):
    """A column is missing, misnamed, reserved or of a kind that cannot be used."""


class InvalidParameterError(JourneymineError, ValueError):
    """An option was given a value it does not accept."""


class DataQualityError(JourneymineError, ValueError):
    """Rows cannot be used and the caller asked for ``on_invalid="raise"``."""


class EmptyLogError(JourneymineError, ValueError):
    """No usable event is left, so there is nothing to analyse."""


class FileFormatError(JourneymineError, ValueError):
    """A file could not be parsed as the format it was read as."""


class DatabaseError(JourneymineError, ValueError):
    """A database could not be reached or could not run the query: the message is the
    database's own, with any password in a connection URI replaced by ``***``."""


class NotFittedError(JourneymineError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class MissingDependencyError(JourneymineError, ImportError):
    """An optional dependency is needed for this call and is not installed."""


class UnsupportedOperationError(JourneymineError, NotImplementedError):
    """The log's engine cannot do this: e.g. event-level work on a log whose events are in
    Spark (collect it with ``log.to_local()`` first)."""


class JourneymineWarning(UserWarning):
    """Base class of every warning journeymine emits."""


class DataQualityWarning(JourneymineWarning):
    """Rows were set aside, or values that should agree do not."""

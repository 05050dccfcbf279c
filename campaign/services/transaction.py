"""Each action a service performs is all or nothing, whoever called it.

A service refuses by raising :class:`~campaign.services.errors.ServiceError`, possibly after
it has flushed part of its work. Callers catch the refusal to show it (a form, a flash, a
JSON error, a line on the terminal); none of them has to remember to undo what was flushed:
the action ran in a SAVEPOINT that its refusal rolled back. So a page that re-shows a form
after a refusal commits nothing of it, and a grid or a review queue that saves row by row
keeps the rows that were accepted and nothing of those that were refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from campaign.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def atomic(action: Callable[P, R]) -> Callable[P, R]:
    """Runs ``action`` in a SAVEPOINT, released when it returns and rolled back when it
    raises, leaving the session as it was before the call.

    An action called by another runs inside the caller's savepoint: one per outermost call.
    """

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        session = db.session()
        if session.in_nested_transaction():
            return action(*args, **kwargs)
        with session.begin_nested():
            return action(*args, **kwargs)

    run.atomic = True  # type: ignore[attr-defined]
    return run


def is_atomic(function: object) -> bool:
    return getattr(function, "atomic", False) is True

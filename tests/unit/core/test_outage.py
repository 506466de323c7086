"""Which exceptions count as a dependency outage (503) rather than a bug (500)."""
from __future__ import annotations

import asyncpg
import pytest
import redis
from sqlalchemy.exc import DBAPIError, IntegrityError

from tokenyard.outage import is_outage


def _wrapped(orig: BaseException) -> DBAPIError:
    try:
        raise DBAPIError("SELECT 1", {}, orig)
    except DBAPIError as exc:
        return exc


@pytest.mark.parametrize("exc", [
    _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
    _wrapped(asyncpg.exceptions.ObjectNotInPrerequisiteStateError('database "x" is not accepting connections')),
    _wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("closed")),
    ConnectionRefusedError(111, "refused"),
    redis.ConnectionError("Connection refused"),
    redis.TimeoutError("Timeout reading from socket"),
])
def test_connection_failures_are_outages(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize("exc", [
    ValueError("bug"), KeyError("x"), FileNotFoundError("x"),
    IntegrityError("INSERT", {}, asyncpg.exceptions.UniqueViolationError("duplicate key")),
])
def test_bugs_are_not_outages(exc: BaseException) -> None:
    assert not is_outage(exc)

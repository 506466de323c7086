"""The generated bootstrap admin key's file (<data_dir>/admin-key): written before the key is stored, adopted by
the next start when a start died in between, and named only while it holds the live admin key."""
from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.auth.bootstrap import bootstrap_admin_key, read_or_create
from tokenyard.auth.service import AuthService
from tokenyard.storage.db import create_engine, migrate, sessionmaker


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'tokenyard.db'}"
    await migrate(url)
    engine = create_engine(url)
    yield sessionmaker(engine)
    await engine.dispose()


async def test_first_start_writes_the_file_then_later_starts_only_name_it(
        sessions: async_sessionmaker, tmp_path: Path) -> None:
    auth = AuthService(sessions)
    first = await bootstrap_admin_key(auth, "", tmp_path / "data")
    assert first is not None and first.secret and first.path == (tmp_path / "data" / "admin-key").resolve()
    assert first.path.read_text().strip() == first.secret
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert first.secret in first.lines()[0] and str(first.path) in first.lines()[1]
    later = await bootstrap_admin_key(auth, "", tmp_path / "data")
    assert later is not None and later.secret is None and later.path == first.path
    assert first.secret not in " ".join(later.lines())
    first.path.unlink()
    assert await bootstrap_admin_key(auth, "", tmp_path / "data") is None


async def test_a_file_left_by_a_start_that_died_before_storing_it_is_adopted(
        sessions: async_sessionmaker, tmp_path: Path) -> None:
    secret = read_or_create(tmp_path / "data" / "admin-key")  # the start died right after this
    notice = await bootstrap_admin_key(AuthService(sessions), "", tmp_path / "data")
    assert notice is not None and notice.secret == secret
    assert (await AuthService(sessions).authenticate(secret)).is_admin


async def test_a_file_whose_key_was_replaced_is_not_announced(
        sessions: async_sessionmaker, tmp_path: Path) -> None:
    auth = AuthService(sessions)
    assert await bootstrap_admin_key(auth, "", tmp_path / "data") is not None
    assert await bootstrap_admin_key(auth, "ty_sk_chosen-by-the-operator-0123456789", tmp_path / "data") is None
    assert await bootstrap_admin_key(auth, "", tmp_path / "data") is None  # the file's key no longer works


def test_a_second_creator_gets_the_first_ones_secret(tmp_path: Path) -> None:
    path = tmp_path / "admin-key"
    assert read_or_create(path) == read_or_create(path)
    assert [p.name for p in tmp_path.iterdir()] == ["admin-key"], "no temporary file is left behind"

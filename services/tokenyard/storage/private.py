"""Private local files: the data folder (0700) and the SQLite database with its -wal and -shm (0600).

They hold key hashes, sealed upstream keys and usage. New ones are created private; an existing one that
group or others can read is tightened at start-up, with a warning naming the path and its old mode."""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """chmod `path` to `mode` when group or others have any access to it (a warning says so). A shared folder
    (sticky bit, like /tmp) or one another user owns is never changed: the warning then says what to do."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    current = stat.S_IMODE(st.st_mode)
    if not current & 0o077:
        return
    if current & stat.S_ISVTX or st.st_uid != os.geteuid():
        log.warning("%s is readable by others (mode %04o) and is shared or not ours, so it is left as it is; "
                    "use a private folder for tokenyard's data", path, current)
        return
    os.chmod(path, mode)
    log.warning("%s was readable by others (mode %04o); changed to %04o", path, current, mode)


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) as 0700, or tighten an existing looser one."""
    if not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask; the umask could also be looser
        return
    _tighten(path, DIR_MODE)


def private_sqlite(database: str) -> None:
    """Make the SQLite file at `database` (and -wal, -shm, and its folder when it creates it) private before
    SQLite opens it.

    SQLite creates -wal and -shm with the database file's own mode, so a 0600 database keeps them 0600."""
    path = Path(database)
    if not path.parent.exists():  # a folder that already exists is the data folder's business (or the operator's)
        private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _tighten(path, FILE_MODE)
    for suffix in SQLITE_SIDE_FILES:
        _tighten(Path(f"{database}{suffix}"), FILE_MODE)

"""The generated bootstrap admin key's file, `<data_dir>/admin-key` (mode 0600): written before the key is
stored, so no failed start can lose the key, and named at every start while it still holds the admin key."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tokenyard.auth.keygen import new_secret
from tokenyard.auth.service import ADMIN_KEY_ID, AuthService
from tokenyard.errors import GatewayError

log = logging.getLogger(__name__)
FILE_NAME = "admin-key"


@dataclass(frozen=True)
class AdminKeyNotice:
    """What a start tells the operator about a generated admin key: the file holding it, and the secret itself
    when this very start created it (printed once; later starts only name the file)."""

    path: Path
    secret: str | None = None

    def lines(self) -> list[str]:
        """The lines to print once the process is listening."""
        where = f"{self.path} (mode 0600; delete it once you have stored the key)"
        if self.secret:
            return [f"Generated bootstrap admin API key (store it now): {self.secret}",
                    f"tokenyard: the bootstrap admin key is also saved in {where}"]
        return [f"tokenyard: the bootstrap admin API key is in {where}"]


def read_or_create(path: Path) -> str:
    """The secret in `path`, first creating the file with a new secret when there is none. The file appears
    whole (written to a temporary name, then linked), and of two processes racing here both get one secret."""
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, f"{secret}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails when another process created the file meanwhile: use its secret
    except FileExistsError:
        secret = _read(path) or secret
    finally:
        tmp.unlink()
    return secret


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


async def bootstrap_admin_key(auth: AuthService, admin_key: str, data_dir: Path) -> AdminKeyNotice | None:
    """Install the admin key (TOKENYARD_ADMIN_KEY, or one generated into the data dir's file on first start);
    return what to tell the operator, or None when there is nothing to say."""
    if admin_key:
        await auth.bootstrap_admin(admin_key)
        return None
    path = (data_dir / FILE_NAME).resolve()
    generated = await auth.bootstrap_admin("", generate=lambda: read_or_create(path))
    if generated:
        return AdminKeyNotice(path, generated)
    secret = _read(path)
    if not secret:
        return None
    try:
        live = (await auth.authenticate(secret)).key_id == ADMIN_KEY_ID
    except GatewayError:
        live = False
    if not live:
        log.warning("%s does not hold the current bootstrap admin key (it was replaced or revoked)", path)
        return None
    return AdminKeyNotice(path)

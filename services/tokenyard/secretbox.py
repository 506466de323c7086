"""Encrypts the secrets the database must hold (Fernet, key derived from the operator's secret or a key file)."""
from __future__ import annotations

import base64
import contextlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"tokenyard secretbox v1"
KEY_FILE = "secret.key"


def _fernet(material: str) -> Fernet:
    raw = material.encode() if material else Fernet.generate_key()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """`seal` before writing a secret to a row, `open` after reading it back.

    The key is HKDF-SHA256 of `material`. With no material a random per-process key is used: sealed values then
    only open in the process that sealed them. `legacy` materials only open values sealed under them earlier
    (before TOKENYARD_SECRET_KEY had its own default, the admin key was the material).
    """

    def __init__(self, material: str, legacy: Sequence[str] = ()) -> None:
        self._fernet = MultiFernet([_fernet(material), *(_fernet(m) for m in legacy if m and m != material)])

    def seal(self, plaintext: str) -> str:
        """Authenticated ciphertext (URL-safe text, ~1.4x the plaintext plus 100 chars)."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plaintext, or '' when the value was sealed under another key or tampered with."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return ""


def key_file_material(data_dir: Path) -> str:
    """The key material in `data_dir/secret.key`, created (random, mode 0600) on first use. Processes starting
    together agree: the file appears atomically (written aside, then hard-linked into place) and once only."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        try:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink()
    text = path.read_text().strip()
    if not text:
        raise RuntimeError(f"{path} is empty: delete it or set TOKENYARD_SECRET_KEY")
    return text


def box_for(secret_key: str, data_dir: Path, legacy: Sequence[str] = ()) -> SecretBox:
    """The process's box: TOKENYARD_SECRET_KEY when set, else the data folder's key file."""
    return SecretBox(secret_key or key_file_material(data_dir), legacy)

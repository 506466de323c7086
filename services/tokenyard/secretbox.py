"""Encrypts the few secrets the database must hold for a while (Fernet, key derived from the operator's secret)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"tokenyard secretbox v1"


class SecretBox:
    """`seal` before writing a secret to a row, `open` after reading it back.

    The key is HKDF-SHA256 of `material` (TOKENYARD_SECRET_KEY, else the admin key). With no material a random
    per-process key is used: sealed values then only open in the process that sealed them.
    """

    def __init__(self, material: str) -> None:
        raw = material.encode() if material else Fernet.generate_key()
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plaintext: str) -> str:
        """Authenticated ciphertext (URL-safe text, ~2.3x the plaintext plus 100 chars)."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plaintext, or '' when the value was sealed under another key or tampered with."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return ""

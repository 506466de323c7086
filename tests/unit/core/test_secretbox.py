"""SecretBox: sealed secrets open only under the same key material and never contain the plaintext."""
from __future__ import annotations

from tokenyard.secretbox import SecretBox


def test_seal_open_round_trip_and_wrong_key() -> None:
    box = SecretBox("operator-secret")
    sealed = box.seal("ty_sk_abcdef0123456789")
    assert "ty_sk_abcdef" not in sealed and len(sealed) <= 200
    assert box.open(sealed) == "ty_sk_abcdef0123456789"
    assert SecretBox("operator-secret").open(sealed) == "ty_sk_abcdef0123456789", "same material, same key"
    assert SecretBox("another-secret").open(sealed) == ""
    assert box.open(sealed[:-4] + "AAAA") == "" and box.open("not a token") == ""


def test_no_material_means_a_random_process_key() -> None:
    assert SecretBox("").open(SecretBox("").seal("x")) == ""

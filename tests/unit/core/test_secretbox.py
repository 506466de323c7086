"""SecretBox: sealed secrets open only under the same key material and never contain the plaintext."""
from __future__ import annotations

from pathlib import Path

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


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    from tokenyard.secretbox import box_for, key_file_material

    first = key_file_material(tmp_path / "data")
    path = tmp_path / "data" / "secret.key"
    assert path.stat().st_mode & 0o777 == 0o600 and len(first) >= 40
    assert key_file_material(tmp_path / "data") == first, "the same material on every start"
    sealed = box_for("", tmp_path / "data").seal("sk-upstream")
    assert box_for("", tmp_path / "data").open(sealed) == "sk-upstream"
    assert box_for("operator-secret", tmp_path / "data").open(sealed) == "", "TOKENYARD_SECRET_KEY wins"
    assert not list((tmp_path / "data").glob(".secret.key.*")), "no temporary file left behind"


def test_legacy_material_only_opens_older_values() -> None:
    old = SecretBox("ty_sk_admin").seal("pending")
    box = SecretBox("new-material", legacy=["ty_sk_admin"])
    assert box.open(old) == "pending"
    assert SecretBox("ty_sk_admin").open(box.seal("fresh")) == "", "new values are sealed under the new key"

"""Sealing storage-profile secrets: what is sealed, what opens, and what is refused."""

from __future__ import annotations

import base64
import secrets
import stat
from pathlib import Path

import pytest

from catalog.exceptions import SecretsUnavailable
from catalog.profile_secrets import SEALED, ProfileSecrets, needs_sealing, public_profile

PROFILE = {
    "type": "s3",
    "endpoint": "https://s3.example.com",
    "access-key-id": "AKIAEXAMPLE",
    "secret-access-key": "s3-secret-value",
    "api-token": "cf-token-value",
    "path-style-access": True,
}


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_secret_fields_are_sealed_and_open_back_and_the_rest_is_untouched(tmp_path: Path) -> None:
    box = ProfileSecrets(key(), tmp_path / "secrets.key")
    sealed = box.seal(PROFILE)
    assert sealed["secret-access-key"].startswith(SEALED)
    assert sealed["api-token"].startswith(SEALED)
    assert "s3-secret-value" not in repr(sealed) and "cf-token-value" not in repr(sealed)
    assert {k: v for k, v in sealed.items() if k not in ("secret-access-key", "api-token")} == {
        k: v for k, v in PROFILE.items() if k not in ("secret-access-key", "api-token")
    }
    assert box.open(sealed) == PROFILE
    assert box.seal(sealed) == sealed  # sealing twice changes nothing
    assert not needs_sealing(sealed) and needs_sealing(PROFILE)
    assert not (tmp_path / "secrets.key").exists()  # the configured key is used


def test_without_a_configured_key_one_is_made_0600_on_first_need_only(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secrets.key"
    box = ProfileSecrets(None, key_file)
    assert box.seal({"type": "s3"}) == {"type": "s3"}
    assert box.open({"type": "s3"}) == {"type": "s3"}
    assert not key_file.exists()
    sealed = box.seal(PROFILE)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert ProfileSecrets(None, key_file).open(sealed) == PROFILE  # another process, same key


def test_a_sealed_value_opens_only_with_its_key_and_in_its_field(tmp_path: Path) -> None:
    sealed = ProfileSecrets(key(), tmp_path / "k").seal(PROFILE)
    with pytest.raises(SecretsUnavailable, match="sealed with secrets key"):
        ProfileSecrets(key(), tmp_path / "k").open(sealed)
    with pytest.raises(SecretsUnavailable, match="this server has none"):
        ProfileSecrets(None, tmp_path / "missing.key").verify(sealed)


def test_a_value_moved_to_another_field_or_altered_does_not_open(tmp_path: Path) -> None:
    configured = key()
    box = ProfileSecrets(configured, tmp_path / "k")
    sealed = box.seal(PROFILE)
    with pytest.raises(SecretsUnavailable, match="damaged"):
        box.open({**sealed, "secret-access-key": sealed["api-token"]})
    token = sealed["api-token"]
    altered = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
    with pytest.raises(SecretsUnavailable, match="damaged"):
        ProfileSecrets(configured, tmp_path / "k").open({**sealed, "api-token": altered})


@pytest.mark.parametrize("bad", ["not-a-key", base64.b64encode(b"short").decode()])
def test_a_malformed_key_is_refused_with_the_way_to_make_one(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SecretsUnavailable, match="openssl rand -base64 32"):
        ProfileSecrets(bad, tmp_path / "secrets.key")
    (tmp_path / "secrets.key").write_text(bad)
    with pytest.raises(SecretsUnavailable, match="openssl rand -base64 32"):
        ProfileSecrets(None, tmp_path / "secrets.key").seal(PROFILE)


def test_an_env_reference_is_kept_as_written_and_read_where_used(tmp_path: Path) -> None:
    box = ProfileSecrets(None, tmp_path / "k", environ={"MY_S3_SECRET": "from-env"})
    profile = {"secret-access-key": "env:MY_S3_SECRET", "endpoint": "env:NOT_A_SECRET_FIELD"}
    assert box.seal(profile) == profile
    assert not (tmp_path / "k").exists()
    assert box.open(profile) == {**profile, "secret-access-key": "from-env"}
    with pytest.raises(SecretsUnavailable, match="'UNSET', which is not set"):
        box.open({"secret-access-key": "env:UNSET"})


def test_public_profile_has_no_secret_field() -> None:
    shown = public_profile({**PROFILE, "session-token": "x", "db-password": "y"})
    assert set(shown) == {"type", "endpoint", "access-key-id", "path-style-access"}

"""KEFU_ENCRYPTION_KEY and kefu_core.crypto: the development key is made once and kept, production refuses
to start without a key or with a malformed one, the first key encrypts and every key decrypts, and the
column type's width fits its longest token. Tokens are checked against the library's own Fernet."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text

from kefu_core.crypto import EncryptedString, SecretUnreadable, ciphertext_length, decrypt, encrypt, rotate
from kefu_core.settings import Settings
from tests.helpers import kefu_env

PRODUCTION = {
    "KEFU_SECRET_KEY": "x" * 40,
    "KEFU_SERVICE_TOKEN": "y" * 40,
    "RASA_TOKEN": "z" * 40,
    "KEFU_METRICS_TOKEN": "m" * 40,
}


def test_development_makes_one_key_and_keeps_it(tmp_path) -> None:
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_ENV="development", KEFU_ENCRYPTION_KEY=""):
        first, second = Settings(), Settings()
    assert first.encryption_key == second.encryption_key
    Fernet(first.encryption_key)  # a real Fernet key
    assert json.loads((tmp_path / "secrets.json").read_text())["encryption_key"] == first.encryption_key
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_key(tmp_path) -> None:
    env = {"KEFU_VAR_DIR": str(tmp_path), "KEFU_ENV": "production", **PRODUCTION}
    for missing in ("", "change-me"):
        with (
            kefu_env(**env, KEFU_ENCRYPTION_KEY=missing),
            pytest.raises(ValidationError, match="KEFU_ENCRYPTION_KEY must be set when KEFU_ENV=production"),
        ):
            Settings()
    assert not (tmp_path / "secrets.json").exists()  # nothing generated behind the operator's back
    with kefu_env(**env, KEFU_ENCRYPTION_KEY=Fernet.generate_key().decode()):
        assert len(Settings().encryption_keys) == 1


def test_a_malformed_key_is_refused_by_its_place_not_its_value(tmp_path) -> None:
    good = Fernet.generate_key().decode()
    bad = "not-a-fernet-key-but-a-password"
    with (
        kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_ENCRYPTION_KEY=f"{good}, {bad}"),
        pytest.raises(ValidationError) as refused,
    ):
        Settings()
    message = str(refused.value).split("[type=")[0]
    assert "key 2 is not a Fernet key" in message and bad not in message


def test_the_first_key_encrypts_and_every_key_decrypts(tmp_path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_ENCRYPTION_KEY=old):
        token = encrypt("JBSWY3DPEHPK3PXP")
    assert Fernet(old).decrypt(token.encode()) == b"JBSWY3DPEHPK3PXP"
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_ENCRYPTION_KEY=f"{new},{old}"):
        assert decrypt(token) == "JBSWY3DPEHPK3PXP"
        rotated = rotate(token)
        assert Fernet(new).decrypt(rotated.encode()) == b"JBSWY3DPEHPK3PXP"
        assert Fernet(new).decrypt(encrypt("x").encode()) == b"x"
    with (
        kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_ENCRYPTION_KEY=new),
        pytest.raises(SecretUnreadable, match=r"users\.totp_secret cannot be decrypted") as wrong,
    ):
        decrypt(token, what="users.totp_secret")
    assert wrong.value.status_code == 503 and "JBSWY3DPEHPK3PXP" not in wrong.value.message


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 63, 64, 100])
def test_the_column_width_fits_the_longest_token(tmp_path, size: int) -> None:
    with kefu_env(KEFU_VAR_DIR=str(tmp_path)):
        assert len(encrypt("é" * (size // 2) + "a" * (size % 2))) == ciphertext_length(size)
    stored_as = EncryptedString(64, "t.c").impl_instance
    assert isinstance(stored_as, String) and stored_as.length == 184


def test_the_column_type_encrypts_on_write_and_decrypts_on_read(tmp_path) -> None:
    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("s", EncryptedString(16, "t.s"))
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    table.metadata.create_all(engine)
    with kefu_env(KEFU_VAR_DIR=str(tmp_path)), engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "s": "sixteen bytes!!!"}, {"id": 2, "s": None}])
        raw = conn.execute(text("SELECT s FROM t WHERE id = 1")).scalar()
        assert isinstance(raw, str) and raw != "sixteen bytes!!!" and len(raw) == ciphertext_length(16)
        assert dict(conn.execute(select(table.c.id, table.c.s)).all()) == {1: "sixteen bytes!!!", 2: None}
        with pytest.raises(Exception, match="at most 16 bytes"):
            conn.execute(insert(table), [{"id": 3, "s": "seventeen bytes!!"}])
    engine.dispose()

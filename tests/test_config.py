from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from revos.config import Settings, default_data_dir
from revos.errors import ConfigError
from revos.security.crypto import Keyring


@pytest.mark.parametrize("value", [None, "", "changeme", "CHANGEME ", "secret"], ids=repr)
def test_production_refuses_to_start_without_a_real_master_key(tmp_path: Path, value: str | None) -> None:
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        master_key=SecretStr(value) if value is not None else None,
        jwt_secret=SecretStr("a-real-jwt-secret-of-decent-length-0123456789"),
    )
    with pytest.raises(ConfigError, match="REVOS_MASTER_KEY"):
        settings.require_secrets()
    assert not (tmp_path / "master.key").exists()


def test_production_refuses_a_placeholder_jwt_secret(tmp_path: Path) -> None:
    from revos.security.crypto import generate_master_key

    settings = Settings(
        env="production",
        data_dir=tmp_path,
        master_key=SecretStr(generate_master_key()),
        jwt_secret=SecretStr("changeme"),
    )
    with pytest.raises(ConfigError, match="REVOS_JWT_SECRET"):
        settings.require_secrets()


def test_development_generates_keys_once_with_mode_0600(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = Settings(env="development", data_dir=tmp_path, master_key=None, jwt_secret=None)
    first.require_secrets()
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "jwt.secret").stat().st_mode) == 0o600
    assert "generated REVOS_MASTER_KEY" in caplog.text
    assert first.master_key is not None
    Keyring(first.master_key.get_secret_value())

    second = Settings(env="development", data_dir=tmp_path, master_key=None, jwt_secret=None)
    second.require_secrets()
    assert second.master_key is not None
    assert second.master_key.get_secret_value() == first.master_key.get_secret_value()
    # The secret itself is never in a log line.
    assert first.master_key.get_secret_value() not in caplog.text


def test_default_data_dir_as_root_never_sits_under_a_home_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    path = default_data_dir()
    assert not str(path).startswith(str(Path.home()))
    assert not str(path).startswith("/home")

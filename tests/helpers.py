"""What the tests share that is not a fixture: paths, the fake encoder, small documents.

pytest runs with `--import-mode=importlib` and `pythonpath = ["tests"]`: the repository root is
never on sys.path, so `viko.*` is always the installed package (README, "Layout"); test modules
import these helpers as `helpers`, the fixture files as `fixtures`, and benchmarks as `bench`
(registered from its folder by conftest.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "corpus" / "demo" / "demo.jsonl"
SHARED = ROOT.parent / "shared" / "data"


class FakeEncoder:
    """Deterministic hashed bag-of-words encoder for pure-logic tests (no model, instant).
    Counts calls so tests can check what was (re-)embedded."""

    name = "fake-hash-64"
    dim = 64

    def __init__(self) -> None:
        self.passages_encoded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for word in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v + 1 / np.sqrt(self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages_encoded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


SMALL_DOCS = [
    {"id": "mou-vi", "lang": "vi", "type": "agreement", "date": "2023-07-28",
     "title": "Thỏa thuận hợp tác về năng lượng tái tạo giữa Hải Phòng và Jeollanam-do",
     "text": "Sở Khoa học và Công nghệ thành phố Hải Phòng và Sở Công nghiệp năng lượng tỉnh Jeollanam-do "
             "ký kết thoả thuận hợp tác về năng lượng tái tạo. Hai bên hợp tác phát triển điện mặt trời "
             "và nông nghiệp công nghệ cao.\n\nĐiều 1. Hai bên trao đổi chuyên gia và đào tạo kỹ sư."},
    {"id": "mou-ko", "lang": "ko", "type": "agreement", "date": "2023-07-28",
     "title": "하이퐁시와 전라남도 재생에너지 협력 협약",
     "text": "하이퐁시 과학기술국과 전라남도 에너지산업국은 재생에너지 분야 협력 협약을 체결했다. "
             "양측은 태양광 발전과 첨단 농업 분야에서 협력한다.\n\n제1조 양측은 전문가를 교류하고 엔지니어를 양성한다."},
    {"id": "aqua-vi", "lang": "vi", "type": "news", "date": "2024-03-02",
     "title": "Cần Thơ ứng dụng IoT trong nuôi trồng thủy sản",
     "text": "Các hộ nuôi tôm ở Cần Thơ lắp cảm biến IoT để theo dõi oxy hòa tan và nhiệt độ nước. "
             "Mô hình giúp giảm 20% chi phí thức ăn."},
    {"id": "chip-ko", "lang": "ko", "type": "report", "date": "2025-01-15",
     "title": "베트남 반도체 인력 양성 보고서",
     "text": "베트남은 2030년까지 반도체 엔지니어 5만 명을 양성할 계획이다. 박닌성의 삼성 공장은 "
             "현지 대학과 협력하여 교육 과정을 운영한다."},
]


def indexed_small_collection(folder: Path, people: dict[str, str], password: str) -> dict[str, str]:
    """SMALL_DOCS in a new data directory, indexed with the FakeEncoder, with `people` (name ->
    role) signed up with `password`; their API tokens by name."""
    from viko.corpus.accounts import Accounts
    from viko.corpus.catalogue import Catalogue
    from viko.corpus.document import make_document
    from viko.runtime import run_index
    from viko.settings import Settings

    tokens = {}
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document(d) for d in SMALL_DOCS])
        accounts = Accounts(cat)
        for name, role in people.items():
            accounts.add(name, role, password)
            tokens[name] = accounts.new_token(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
    return tokens


def imported_and_indexed(folder: Path, source: Path) -> Path:
    """`viko import` of a JSONL file into a data directory, then `viko index` (the real default
    encoder), as a user runs them; the folder."""
    from click.testing import CliRunner

    from viko.cli import main

    runner = CliRunner()
    for args in (["import", str(source)], ["index"]):
        result = runner.invoke(main, ["--data", str(folder), *args])
        assert result.exit_code == 0, result.output
    return folder


def requires_shared(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (SHARED / name).is_dir(), reason=f"../shared/data/{name} is absent")

"""viko's loading of underthesea's word segmenter (indexer.visegment) segments exactly as
`underthesea.word_tokenize` does, on every Vietnamese text at hand, and reads underthesea's
files without joblib. Each check runs in a fresh interpreter: the light loading applies only
where underthesea was not imported yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "corpus" / "demo" / "demo.jsonl"
GLOSSARY = ROOT / "corpus" / "data" / "glossary.tsv"

CHILD = """
import json, sys
from viko.indexer.visegment import CrfSegmenter, vi_segmenter
segment = vi_segmenter()
light = isinstance(segment, CrfSegmenter) and "joblib" not in sys.modules
lines = json.load(sys.stdin)
ours = [segment(line) for line in lines]
import joblib
from pathlib import Path
from underthesea import word_tokenize
from underthesea.pipeline.text_normalize import text_normalizer as loaded
folder = Path(sys.modules["underthesea"].__path__[0]) / "pipeline" / "text_normalize"
rules = joblib.load(folder / loaded.rule_file)
same_rules = rules["character"] == loaded.character_map and rules["token"] == loaded.token_map
differing = [line for line, words in zip(lines, ours) if words != word_tokenize(line)]
print(json.dumps({"light": light, "same_rules": same_rules, "differing": differing, "first": ours[0]}))
"""


def vietnamese_lines() -> list[str]:
    lines = ["Hợp tác năng lượng tái tạo giữa Việt Nam và Hàn Quốc"]
    for row in DEMO.read_text(encoding="utf-8").splitlines():
        if row.strip() and (doc := json.loads(row)).get("lang") == "vi":
            lines.extend(line for line in f"{doc.get('title', '')}\n{doc['text']}".split("\n") if line.strip())
    lines.extend(row.split("\t")[0] for row in GLOSSARY.read_text(encoding="utf-8").splitlines()[1:] if row)
    # case, no diacritics, old-style tone marks (hoà, thuỷ), numbers and names: the normaliser's rules
    return [*lines, "", "   ", "HỢP TÁC NĂNG LƯỢNG", "dien mat troi ap mai", "Jeollanam-do 5G 2024-03-01 50%",
                    "hoà bình thuỷ lợi khoẻ mạnh", "Thủ tướng Chính phủ phê duyệt Quy hoạch điện VIII"]


def test_segments_as_underthesea_word_tokenize_without_joblib(tmp_path: Path) -> None:
    lines = vietnamese_lines()
    assert len(lines) > 500
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(lines), cwd=tmp_path,
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["light"], "the light loader applies to this underthesea, and joblib stays out"
    assert result["same_rules"], "the normaliser's rules are the ones its own import reads"
    assert not result["differing"], result["differing"][:3]
    assert result["first"] == ["Hợp tác", "năng lượng", "tái tạo", "giữa", "Việt Nam", "và", "Hàn Quốc"]

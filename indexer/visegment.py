"""Vietnamese word segmentation: underthesea's CRF segmenter, without the package's weight.

`underthesea.word_tokenize` is the segmenter viko indexes with. Two costs come with it that a
segmenter never uses: `import underthesea` runs every pipeline's import (its translation
pipeline's too: transformers and torch, ~1.7 s and 300 MB), and its model loader reads two small
files through joblib's pure-Python unpickler (joblib's import plus that read take longer than
the CRF model itself). `vi_segmenter()` builds the same segmenter from the same files: the
regex tokenizer and the CRF tagger of underthesea_core, the feature list and dictionary read
with the C unpickler. tests/test_visegment.py holds it to `word_tokenize` on every Vietnamese
text at hand. Should underthesea's layout change, its own `word_tokenize` is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle  # underthesea's own installed model files, read as its loader reads them
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL = "ws_crf_vlsp2013_20230727"  # the model underthesea's word_tokenize loads

Segmenter = Callable[[str], list[str]]


class CrfSegmenter:
    """underthesea's `word_tokenize(sentence)` with its defaults: words as lists of syllables
    joined by spaces ("hợp tác"). Not re-entrant (the CRF tagger): callers hold a lock."""

    def __init__(self, tokenize: Callable[..., list[str]], featurizer: Any, tagger: Any) -> None:
        self._tokenize = tokenize
        self._featurizer = featurizer
        self._tagger = tagger

    def __call__(self, sentence: str) -> list[str]:
        tokens = self._tokenize(sentence, use_token_normalize=True, fixed_words=[])
        features = self._featurizer.process([[[token] for token in tokens]])[0]
        output: list[str] = []
        for tag, token in zip(self._tagger.tag(features), tokens, strict=True):
            if tag == "I-W" and output:
                output[-1] = output[-1] + " " + token
            else:
                output.append(token)
        return output


def vi_segmenter() -> Segmenter:
    """The segmenter, loaded (~0.2 s); underthesea's own `word_tokenize` where its files or
    modules are not where this underthesea keeps them."""
    tokenize = _regex_tokenize()
    folder = _model_folder()
    if tokenize is not None and folder is not None:
        try:
            from underthesea_core import CRFFeaturizer, CRFTagger

            tagger = CRFTagger()
            tagger.load(str(folder / "models.bin"))
            featurizer = CRFFeaturizer(_model_file(folder / "features.bin"), _model_file(folder / "dictionary.bin"))
            return CrfSegmenter(tokenize, featurizer, tagger)
        except (ImportError, OSError, ValueError, pickle.UnpicklingError):
            pass
    from underthesea import word_tokenize

    return word_tokenize


def _model_file(path: Path) -> Any:
    """One of the model's joblib files: a plain pickle where it holds no arrays (these hold a
    feature list and a set of words), else read by joblib as underthesea does."""
    data = path.read_bytes()
    if data[:1] == b"\x80":
        return pickle.loads(data)
    import joblib

    return joblib.load(path)


def _model_folder() -> Path | None:
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "pipeline" / "word_tokenize" / "models" / MODEL
        if (folder / "models.bin").is_file():
            return folder
    return None


def _regex_tokenize() -> Callable[..., list[str]] | None:
    """underthesea's regex tokenizer, imported without the package's __init__: under a bare
    stand-in for the package, removed again, so a later `import underthesea` runs the real
    __init__ and reuses these very modules."""
    if "underthesea" in sys.modules:
        from underthesea.pipeline.word_tokenize.regex_tokenize import tokenize

        return tokenize
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        return None
    stand_in = types.ModuleType("underthesea")
    stand_in.__path__ = list(spec.submodule_search_locations)
    sys.modules["underthesea"] = stand_in
    try:
        _rule_maps(Path(spec.submodule_search_locations[0]) / "pipeline" / "text_normalize")
        # the order underthesea's __init__ imports them in (a cycle otherwise)
        importlib.import_module("underthesea.pipeline.text_normalize")
        module = importlib.import_module("underthesea.pipeline.word_tokenize.regex_tokenize")
        return module.tokenize
    except (ImportError, AttributeError, OSError, ValueError, pickle.UnpicklingError):
        return None
    finally:
        if sys.modules.get("underthesea") is stand_in:
            del sys.modules["underthesea"]


def _rule_maps(folder: Path) -> None:
    """underthesea's text normaliser module, as its import makes it (the two rule maps its
    tokenizer reads), with the rule file read by the C unpickler instead of joblib's."""
    name = "underthesea.pipeline.text_normalize.text_normalizer"
    found = re.search(r'^rule_file = "([^"]+)"', (folder / "text_normalizer.py").read_text(encoding="utf-8"), re.M)
    if name in sys.modules or found is None:
        return
    data = (folder / found.group(1)).read_bytes()
    if data[:1] != b"\x80":
        return  # not a plain pickle: the module imports as it does
    rules = pickle.loads(data)
    module = types.ModuleType(name)
    module.rule_file = found.group(1)  # type: ignore[attr-defined]
    module.character_map = rules["character"]  # type: ignore[attr-defined]
    module.token_map = rules["token"]  # type: ignore[attr-defined]
    module.text_normalizer = types.SimpleNamespace(character_map=module.character_map,  # type: ignore[attr-defined]
                                                   token_map=module.token_map)
    sys.modules[name] = module

"""Glossary translations in BM25 (search.expansion.TranslationWeights): a translation's terms
count in a passage by the share of the translation the passage holds, so the common syllable
"nhà" of "mái nhà" (roof) does not make a passage about a factory ("nhà máy") a roof match."""

import numpy as np

from viko.indexer.lexical import LexicalIndex
from viko.search.expansion import TranslationWeights, weighted_scores

PASSAGES = [
    ["lắp", "đặt", "điện", "mặt", "trời", "mái", "nhà"],  # rooftop solar: the whole translation
    ["nhà", "máy", "điện", "gió", "nhà", "máy"],  # a wind farm: "nhà" alone
    ["태양광", "지붕", "설치"],  # the query's own language
    ["cây", "lúa", "giống"],
]
OWN = ("태양광", "지붕")
TERMS = ["태양광", "지붕", "mái", "nhà", "mái_nhà"]
TRANSLATED = {"지붕": (frozenset({"mái", "nhà"}),)}


def test_without_weights_the_terms_count_as_before() -> None:
    lexicon = LexicalIndex.build(PASSAGES)
    assert TranslationWeights.of(OWN, TRANSLATED, 0.0) is None  # 0 turns the weighting off
    assert TranslationWeights.of(OWN, {}, 0.5) is None
    assert np.array_equal(weighted_scores(lexicon, TERMS, None), lexicon.scores(TERMS))


def test_a_translation_counts_where_the_passage_holds_it() -> None:
    lexicon = LexicalIndex.build(PASSAGES)
    plain = lexicon.scores(TERMS)
    weights = TranslationWeights.of(OWN, TRANSLATED, 0.5)
    weighted = weighted_scores(lexicon, TERMS, weights)
    assert np.allclose(weighted[[0, 2, 3]], plain[[0, 2, 3]])  # whole translation, own terms, no match
    nha = lexicon.idf_of("nhà") / (lexicon.idf_of("mái") + lexicon.idf_of("nhà"))
    assert np.isclose(weighted[1], plain[1] * nha ** 0.5, rtol=1e-5)  # "nhà" of "nhà máy": a part
    assert weighted[1] < plain[1] and weighted[0] > weighted[1]
    harsher = weighted_scores(lexicon, TERMS, TranslationWeights.of(OWN, TRANSLATED, 1.0))
    assert harsher[1] < weighted[1] and np.isclose(harsher[0], plain[0])

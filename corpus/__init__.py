"""Corpus stage: documents, the catalogue, import and collection (crawler, local files), and
the stores the later stages read: counterpart links, translation memory, glossary, crawl log.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viko.corpus.catalogue import Catalogue, CatalogueError
    from viko.corpus.counterparts import Counterpart, Counterparts, CounterpartStore, get_counterpart
    from viko.corpus.crawl import CrawlOptions, CrawlStats
    from viko.corpus.document import Document, DocumentError, make_document
    from viko.corpus.glossary import Glossary, GlossaryStore, open_glossary
    from viko.corpus.importer import ImportReport, import_jsonl
    from viko.corpus.ingest import IngestReport, Overrides, ingest_paths
    from viko.corpus.tm import TranslationMemory, Unit

# Public name -> the module of this stage that defines it.
_API = {
    "Document": "document",
    "DocumentError": "document",
    "make_document": "document",
    "Catalogue": "catalogue",
    "CatalogueError": "catalogue",
    "ImportReport": "importer",
    "import_jsonl": "importer",
    "IngestReport": "ingest",
    "Overrides": "ingest",
    "ingest_paths": "ingest",
    "CrawlOptions": "crawl",
    "CrawlStats": "crawl",
    "Counterpart": "counterparts",
    "Counterparts": "counterparts",
    "CounterpartStore": "counterparts",
    "get_counterpart": "counterparts",
    "Glossary": "glossary",
    "GlossaryStore": "glossary",
    "open_glossary": "glossary",
    "TranslationMemory": "tm",
    "Unit": "tm",
}
__all__ = [
    "Catalogue", "CatalogueError", "Counterpart", "CounterpartStore", "Counterparts",
    "CrawlOptions", "CrawlStats", "Document", "DocumentError", "Glossary", "GlossaryStore",
    "ImportReport", "IngestReport", "Overrides", "TranslationMemory", "Unit", "get_counterpart",
    "import_jsonl", "ingest_paths", "make_document", "open_glossary"
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

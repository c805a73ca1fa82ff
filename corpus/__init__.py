"""Corpus stage: documents, the catalogue, import and collection (crawler, local files), and
the stores the later stages read: counterpart links, translation memory, glossary, crawl log.

The public API below is what the other stages and users import; it loads a module only
when one of its names is first used, so importing the stage costs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viko import lazy_api

if TYPE_CHECKING:
    from viko.corpus.catalogue import Catalogue, CatalogueError
    from viko.corpus.counterparts import Counterpart, Counterparts, CounterpartStore, get_counterpart
    from viko.corpus.crawl import CrawlOptions, CrawlStats
    from viko.corpus.document import Document, DocumentError, make_document
    from viko.corpus.glossary import Glossary, GlossaryStore, open_glossary
    from viko.corpus.importer import ImportReport, import_jsonl
    from viko.corpus.ingest import IngestReport, Overrides, ingest_paths
    from viko.corpus.tm import TranslationMemory, Unit

# The public API, by the module of this stage that defines it (loaded on first use).
_API = {
    "document": ("Document", "DocumentError", "make_document"),
    "catalogue": ("Catalogue", "CatalogueError"),
    "importer": ("ImportReport", "import_jsonl"),
    "ingest": ("IngestReport", "Overrides", "ingest_paths"),
    "crawl": ("CrawlOptions", "CrawlStats"),
    "counterparts": ("Counterpart", "Counterparts", "CounterpartStore", "get_counterpart"),
    "glossary": ("Glossary", "GlossaryStore", "open_glossary"),
    "tm": ("TranslationMemory", "Unit"),
}
__all__ = [
    "Catalogue", "CatalogueError", "Counterpart", "CounterpartStore", "Counterparts",
    "CrawlOptions", "CrawlStats", "Document", "DocumentError", "Glossary", "GlossaryStore",
    "ImportReport", "IngestReport", "Overrides", "TranslationMemory", "Unit", "get_counterpart",
    "import_jsonl", "ingest_paths", "make_document", "open_glossary"
]
__getattr__ = lazy_api(__name__, _API)

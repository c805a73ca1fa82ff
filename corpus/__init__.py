"""Corpus stage: documents, the catalogue, import and collection."""

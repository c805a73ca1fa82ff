"""Indexer stage: analysis, chunking, encoders, dense and lexical indexes."""

"""Search stage: hybrid cross-language retrieval over the index."""

"""viko: bilingual Vietnamese–Korean document search."""

__version__ = "0.1.0"

"""Elasticsearch side: text normalization, index definition, queries, search, local node."""

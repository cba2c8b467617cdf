"""Persistence: domain records, the record store (source of truth), embeddings and the vector index."""

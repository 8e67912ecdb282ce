"""Running judges over many pairs: batching, caching through the store, progress."""

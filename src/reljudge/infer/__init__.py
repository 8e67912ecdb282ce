"""Running judges over many pairs: batching and caching through the store (batch.py), inputs of any size streamed
into resumable shards (stream.py, groups.py, shards.py), on a Ray cluster (distributed.py), progress."""

"""The cross-encoder family: a fine-tuned encoder stacked with lexical and semantic features (judge.py), its inputs."""

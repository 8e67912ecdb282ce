"""What a model judge reads: product fields cut to a token budget (fields.py), shared by every model judge."""

"""The causal LM family: a decoder scored by its label tokens' log-probabilities after a prompt, one forward pass."""

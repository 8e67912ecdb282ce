"""The built-in judge families, declared as every plugin declares its own: pyproject.toml's `reljudge.judges` entry
points name these objects. A light module: the options models and factories are imported only when needed."""

from __future__ import annotations

from reljudge.judges.registry import JudgePlugin

lexical = JudgePlugin(options="reljudge.judges.options:JudgeOptions", factory="reljudge.judges.lexical:lexical_judge")
majority = JudgePlugin(options="reljudge.judges.options:JudgeOptions",
                       factory="reljudge.judges.majority:majority_factory")
cross_encoder = JudgePlugin(options="reljudge.judges.encoder.options:EncoderOptions",
                            factory="reljudge.judges.encoder.judge:cross_encoder_judge")
causal = JudgePlugin(options="reljudge.judges.causal.options:CausalOptions",
                     factory="reljudge.judges.causal.judge:causal_judge")
api = JudgePlugin(options="reljudge.judges.api.options:ApiOptions", factory="reljudge.judges.api.judge:api_factory")

"""The model judges' options (the API judge's, and the causal judge's --template and --precision), shared by
`judge` and `evaluate`, and how they become the judge factory's options.

Only typer is imported here (see options.py): the HTTP client is imported when an api:MODEL judge is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reljudge.errors import ReljudgeError

PANEL = "API judge (--judge api:MODEL)"

BaseUrl = Annotated[Optional[str], typer.Option(
    "--base-url", rich_help_panel=PANEL,
    help="An OpenAI-compatible server, e.g. http://localhost:8000/v1 (vLLM, llama.cpp, Ollama). "
         "Default: $OPENAI_BASE_URL, else OpenAI's.")]
ApiKeyEnv = Annotated[Optional[str], typer.Option(
    "--api-key-env", rich_help_panel=PANEL, metavar="NAME",
    help="The environment variable that holds the API key (default OPENAI_API_KEY; none needed locally). "
         "The key is never logged or stored.")]
Template = Annotated[Optional[str], typer.Option(
    "--template", rich_help_panel=PANEL,
    help="A prompt template: esci-zero-shot, esci-few-shot, umbrela-0-3, graded-zero-shot, graded-few-shot, "
         "binary-zero-shot, esci-causal (NAME or NAME.vN), or a template file. Default: the scheme's "
         "(esci-causal for a zero-shot causal:BASE).")]
Precision = Annotated[Optional[str], typer.Option(
    "--precision", rich_help_panel="Causal LM judge (--judge causal[:DIR])",
    help="auto (bf16 where the hardware computes it natively, else fp32), fp32, bf16 or int8.")]
Examples = Annotated[Optional[Path], typer.Option(
    "--examples", rich_help_panel=PANEL,
    help="Labelled pairs to take few-shot examples from (use another split than the one judged).")]
Shots = Annotated[Optional[int], typer.Option(
    "--shots", min=1, rich_help_panel=PANEL, help="Few-shot examples per prompt, balanced by label (default 8).")]
Concurrency = Annotated[int, typer.Option(
    "--concurrency", min=1, rich_help_panel=PANEL, help="Requests in flight at once.")]
Rpm = Annotated[Optional[float], typer.Option(
    "--rpm", min=1, rich_help_panel=PANEL, help="At most this many requests per minute.")]
Tpm = Annotated[Optional[float], typer.Option(
    "--tpm", min=1, rich_help_panel=PANEL, help="At most this many tokens (prompt + reply) per minute.")]
Timeout = Annotated[float, typer.Option(
    "--timeout", min=0.1, rich_help_panel=PANEL, help="Seconds to wait for one reply before trying again.")]
MaxRetries = Annotated[int, typer.Option(
    "--max-retries", min=0, rich_help_panel=PANEL,
    help="Tries after the first on 429, 5xx and timeouts (exponential backoff with jitter, or Retry-After).")]
Temperature = Annotated[float, typer.Option(
    "--temperature", min=0.0, rich_help_panel=PANEL, help="Sampling temperature.")]
MaxTokens = Annotated[int, typer.Option(
    "--max-tokens", min=1, rich_help_panel=PANEL, help="Reply length limit (the label is the first line).")]
TopLogprobs = Annotated[int, typer.Option(
    "--top-logprobs", min=0, max=20, rich_help_panel=PANEL,
    help="Ask for the first token's top log-probabilities (probabilities over labels); 0 for servers without "
         "them (the parsed reply, one-hot).")]
PriceIn = Annotated[Optional[float], typer.Option(
    "--price-in", min=0.0, rich_help_panel=PANEL, help="Money per million prompt tokens, for the cost shown.")]
PriceOut = Annotated[Optional[float], typer.Option(
    "--price-out", min=0.0, rich_help_panel=PANEL, help="Money per million reply tokens, for the cost shown.")]
RetryUnscored = Annotated[bool, typer.Option(
    "--retry-unscored", rich_help_panel=PANEL,
    help="Ask again for pairs the store holds as unscored (unparseable or rejected replies) instead of reusing "
         "them. With a directory output, add --overwrite.")]

#: The defaults the factory uses; an option left at its default is not passed, so other judges get nothing.
DEFAULTS: dict[str, Any] = {"concurrency": 8, "timeout": 60.0, "max_retries": 5, "temperature": 0.0,
                            "max_tokens": 8, "top_logprobs": 20}


#: The flags a causal judge takes (the rest are the API judge's).
CAUSAL_FLAGS = {"template", "precision"}


def model_judge_options(spec: str, *, progress: bool, **given: Any) -> dict[str, Any]:
    """The factory options for `spec` from the model-judge flags: those set away from their defaults, plus
    `progress` for an api judge. Shots default to 8 when --examples is given.

    Raises:
        ReljudgeError: flags given for a judge that does not take them.
    """
    chosen = {k: v for k, v in given.items() if v is not None and DEFAULTS.get(k) != v}
    if chosen.get("examples") is not None and "shots" not in chosen:
        chosen["shots"] = 8
    name = spec.strip().partition(":")[0].partition("@")[0]
    if name == "api":
        if "precision" in chosen:
            raise ReljudgeError(f"--precision: only for causal LM judges (--judge causal[:DIR]), not {spec!r}")
        return chosen | {"progress": progress}
    allowed = CAUSAL_FLAGS if name == "causal" else set()
    refused = sorted(set(chosen) - allowed)
    if refused:
        flags = ", ".join("--" + k.replace("_", "-") for k in refused)
        raise ReljudgeError(f"{flags}: only for API judges (--judge api:MODEL), not {spec!r}")
    return chosen

"""The API judge's options (light: the CLI reads them without importing the HTTP client).

The defaults live here and nowhere else: the command line, the library and a recorded identity all read them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import model_validator

from reljudge.judges.options import JudgeOptions, option, runtime

#: Few-shot examples per prompt when --examples is given without --shots.
DEFAULT_SHOTS = 8


class ApiOptions(JudgeOptions):
    base_url: Optional[str] = option(
        None, "An OpenAI-compatible server, e.g. http://localhost:8000/v1 (vLLM, llama.cpp, Ollama). Default: "
              "$OPENAI_BASE_URL, else OpenAI's.")
    template: Optional[str] = option(
        None, "A prompt template: esci-zero-shot, esci-few-shot, umbrela-0-3, graded-zero-shot, graded-few-shot, "
              "binary-zero-shot (NAME or NAME.vN), or a template file. Default: the scheme's.")
    examples: Optional[Path] = option(
        None, "Labelled pairs to take few-shot examples from (use another split than the one judged).")
    shots: Optional[int] = option(None, f"Few-shot examples per prompt, balanced by label (default {DEFAULT_SHOTS} "
                                        "with --examples).", ge=1)
    temperature: float = option(0.0, "Sampling temperature.", ge=0.0)
    max_tokens: int = option(8, "Reply length limit (the label is the first line).", ge=1)
    top_logprobs: int = option(
        20, "Ask for the first token's top log-probabilities (probabilities over labels); 0 for servers without "
            "them (the parsed reply, one-hot).", ge=0, le=20)
    api_key_env: Optional[str] = runtime(
        None, "The environment variable that holds the API key (default OPENAI_API_KEY; none needed locally). The "
              "key is never logged or stored.")
    concurrency: int = runtime(8, "Requests in flight at once.", ge=1)
    rpm: Optional[float] = runtime(None, "At most this many requests per minute.", ge=1)
    tpm: Optional[float] = runtime(None, "At most this many tokens (prompt + reply) per minute.", ge=1)
    timeout: float = runtime(60.0, "Seconds to wait for one reply before trying again.", ge=0.1)
    max_retries: int = runtime(
        5, "Tries after the first on 429, 5xx and timeouts (exponential backoff with jitter, or Retry-After).", ge=0)
    price_in: Optional[float] = runtime(None, "Money per million prompt tokens, for the cost shown.", ge=0.0)
    price_out: Optional[float] = runtime(None, "Money per million reply tokens, for the cost shown.", ge=0.0)
    progress: bool = runtime(False, "A bar with pairs/s, tokens and cost on a terminal.", flag=False)

    @model_validator(mode="after")
    def _shots_with_examples(self) -> "ApiOptions":
        if self.examples is not None and self.shots is None:
            object.__setattr__(self, "shots", DEFAULT_SHOTS)
        return self

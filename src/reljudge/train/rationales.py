"""LREF's multi-CoT stage: rationales of several styles from a teacher, kept where they end at the human label, then
distilled into the causal judge as an auxiliary target after the label.

A teacher is any API judge (`api:MODEL`: a local llama.cpp or vLLM server, or a hosted model) asked with one prompt
template per style (prompts/templates/esci-rationale-*.txt): the evidence in the product's fields, an attribute-by-
attribute comparison with the query, the guideline's decision-tree path. Each reply ends with the label on its last
line; a rationale is kept only when that label is the human one (the rest are counted and dropped: a rationale that
argues for a wrong label would teach the wrong reasoning).

The teacher's replies go through the store like any judge's: a style's spec pins the server, model, template and
request (and that replies end with a label), so a killed run resumes where it was cut and a finished one sends no
request again.

The student ("distilling step-by-step", Hsieh et al. 2023) reads the same prompt as the judge and learns the label's
answer tokens first and a rationale after them: the loss is the label's cross-entropy plus `rationale_weight` times
the rationale tokens' mean cross-entropy. Judging reads only the label tokens, so it stays one forward pass.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reljudge.errors import InputError, JudgeError
from reljudge.judges.base import JudgeBase
from reljudge.labels import LabelScheme
from reljudge.records import Judgment, Pair

#: Each rationale style and its prompt template.
STYLES = {"evidence": "esci-rationale-evidence", "attributes": "esci-rationale-attributes",
          "decision-tree": "esci-rationale-tree"}
#: Reply tokens a teacher is allowed by default: room for a few sentences and the label line.
MAX_TOKENS = 192
#: Bumped when the way a reply is split into rationale and label changes, so old cached replies are not reused.
REPLY_FORMAT = "rationale, then the label on the last line/1"
#: What may come before the label on the last line: "Label:", "Labels -", "**Final label:**".
_LABEL_LINE = re.compile(r"^\W*(final\s+)?(answer|label|labels|grade|rating|verdict)\W*\s*[:=-]\s*", re.IGNORECASE)
#: Options a style sets itself.
_SET_BY_STYLE = ("template",)


class RationaleTeacher(JudgeBase):
    """An API judge asked for a rationale that ends with the label: its judgments hold the rationale as `raw` and
    the label of the reply's last line (unscored when there is none).

    Args:
        judge: the API judge built with the style's template (see `load_teacher`).
        style: the style's name (a key of STYLES).
    """

    uses_query_group = False

    def __init__(self, judge: Any, style: str):
        self.judge, self.style = judge, style
        self.scheme, self.options = judge.scheme, judge.options
        self.commit_size, self.usage = judge.commit_size, judge.usage
        digest = hashlib.sha256(json.dumps(self.identity_details(), sort_keys=True).encode()).hexdigest()[:12]
        self.spec = f"api:{judge.model}@{digest}"

    def identity_details(self) -> dict[str, Any]:
        return {**self.judge.identity_details(), "reply": REPLY_FORMAT}

    def judge_pairs(self, pairs: Sequence[Pair], batch_size: int = 64) -> list[Judgment]:
        """One Judgment per pair: the label its reply ends with, the rationale before it as `raw`.

        Raises:
            ApiUnavailable: the server cannot be used; `judgments` holds those made before (None elsewhere).
        """
        from reljudge.judges.api.client import ApiUnavailable

        try:
            outcomes = self.judge.client.complete([self.judge.payload(p) for p in pairs])
        except ApiUnavailable as exc:
            exc.judgments = [self._judgment(p, o) if o is not None else None for p, o in zip(pairs, exc.outcomes)]
            raise
        return [self._judgment(p, o) for p, o in zip(pairs, outcomes)]

    def _judgment(self, pair: Pair, outcome: Any) -> Judgment:
        from reljudge.judges.api.client import Failure

        if isinstance(outcome, Failure):
            return Judgment(pair.pair_hash, self.spec, None, None, reason=outcome.reason, raw=outcome.raw)
        rationale, label = split_reply(outcome.text, self.scheme)
        if label is None:
            cut = " (cut at max_tokens)" if outcome.finish_reason == "length" else ""
            return Judgment(pair.pair_hash, self.spec, None, None, reason=f"no label on the last line{cut}",
                            raw=outcome.text)
        proba = tuple(float(label == other) for other in self.scheme.labels)
        return Judgment(pair.pair_hash, self.spec, label, proba, raw=rationale)


def split_reply(text: str, scheme: LabelScheme) -> tuple[str, str | None]:
    """(rationale, label): the label the reply's last line states ("Label: E", "**Final label:** S", "I
    (Irrelevant)"), strictly (the API judge's `parse_label`), and the lines before it; code fences are ignored.
    (text, None) when the last line is not a label."""
    from reljudge.judges.api.judge import parse_label

    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip() and not line.strip().startswith("```")]
    if not lines:
        return "", None
    label = parse_label(_LABEL_LINE.sub("", lines[-1]), scheme)
    return ("\n".join(lines[:-1]).strip(), label) if label is not None else (text.strip(), None)


def load_teacher(spec: str, scheme: LabelScheme, style: str, options: Mapping[str, Any]) -> RationaleTeacher:
    """The teacher for one style: the API judge of `spec` with the style's template, no log-probabilities and
    MAX_TOKENS reply tokens unless `options` say otherwise.

    Raises:
        JudgeError: not an API judge, an unknown style, or an option the style sets itself.
    """
    from reljudge.judges.registry import load_judge, spec_name

    if spec_name(spec) != "api":
        raise JudgeError(f"the teacher must be an API judge (api:MODEL, on any OpenAI-compatible server), not {spec!r}")
    if style not in STYLES:
        raise JudgeError(f"unknown rationale style {style!r} (known: {', '.join(STYLES)})")
    fixed = sorted(set(options) & set(_SET_BY_STYLE))
    if fixed:
        raise JudgeError(f"option {', '.join(fixed)}: each rationale style has its own template "
                         f"({', '.join(STYLES.values())}); choose styles instead")
    judge = load_judge(spec, scheme=scheme, **{"top_logprobs": 0, "max_tokens": MAX_TOKENS, **options,
                                               "template": STYLES[style]})
    return RationaleTeacher(judge, style)


@dataclass
class Rationales:
    """What a `collect_rationales` run produced.

    Attributes:
        rows: the kept rationales, one dict per (pair, style): pair_id, pair_hash, query_id, style, label,
            rationale, teacher (the style's spec); in the pairs' order, styles in the order asked.
        styles: per style: teacher spec, template, pairs asked, kept, wrong_label (the reply ends at another
            label), no_rationale (nothing before the label), unscored (no label at the end, or a failed request),
            from_store, requests.
    """

    rows: list[dict[str, Any]]
    styles: list[dict[str, Any]]


def collect_rationales(pairs: Sequence[Pair], teacher: str, scheme: LabelScheme, *,
                       styles: Sequence[str] = tuple(STYLES), options: Mapping[str, Any] | None = None,
                       store: Any = None, input_name: str = "", progress: bool = False) -> Rationales:
    """Ask the teacher for every labelled pair's rationale in each style, through the store's cache.

    Raises:
        InputError: a pair without a label.
        ReljudgeError: the teacher's server cannot be used (what was answered before is in the store).
    """
    from reljudge.infer.batch import judge_pairs

    for i, pair in enumerate(pairs):
        if pair.label is None:
            raise InputError(input_name or "pairs", "rationales are kept by the human label; this pair has none",
                             row=i + 1, field="label")
    by_style: dict[str, list[Judgment]] = {}
    summaries = []
    for style in styles:
        judge = load_teacher(teacher, scheme, style, options or {})
        run = judge_pairs(pairs, judge, store=store, input_name=input_name, progress=progress)
        by_style[style] = run.judgments
        outcome = Counter(_verdict(p, j) for p, j in zip(pairs, run.judgments))
        summaries.append({"style": style, "teacher": judge.spec, "template": judge.judge.template.ident,
                          "pairs": len(pairs), **{verdict: outcome[verdict] for verdict in _VERDICTS},
                          "from_store": run.n_cached,
                          "requests": judge.usage.requests})
    rows = [{"pair_id": p.pair_id, "pair_hash": p.pair_hash, "query_id": p.query_id, "style": style,
             "label": j.label, "rationale": j.raw, "teacher": j.judge}
            for i, p in enumerate(pairs) for style in styles
            for j in [by_style[style][i]] if _verdict(p, j) == "kept"]
    return Rationales(rows, summaries)


_VERDICTS = ("kept", "wrong_label", "no_rationale", "unscored")


def _verdict(pair: Pair, judgment: Judgment) -> str:
    if judgment.label is None:
        return "unscored"
    if judgment.label != pair.label:
        return "wrong_label"
    return "kept" if judgment.raw.strip() else "no_rationale"


def write_rationales(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """RATIONALES.jsonl, one kept rationale per line, replaced atomically."""
    from reljudge.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        with tmp.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


_FIELDS = ("pair_hash", "style", "label", "rationale")


def read_rationales(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a RATIONALES.jsonl file, checked to have the fields training reads.

    Raises:
        InputError: a missing file, a line that is not a JSON object, or a row without pair_hash, style, label or
            rationale (naming the line and field).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the rationales ({exc.strerror}); write them with "
                                    "`reljudge rationales PAIRS --teacher api:MODEL --output FILE`") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"not a JSON line ({exc.msg})", row=number) from None
        if not isinstance(row, dict):
            raise InputError(str(path), "expected a JSON object", row=number)
        for name in _FIELDS:
            if not isinstance(row.get(name), str):
                raise InputError(str(path), "missing or not text", row=number, field=name)
        rows.append(row)
    return rows


def rationale_rows(rows: Sequence[dict[str, Any]], pairs: Sequence[Pair], path: str | Path, tokenizer: Any,
                   max_tokens: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The training rows with each pair's rationales after its answer, and a summary for the adapter's config.

    Each training row ({"ids": prompt + answer, "prompt_length", "weight"}, in `pairs`' order) becomes one row per
    rationale of its pair: ids + the rationale's tokens (a newline, at most `max_tokens` of the text, the end of
    turn), "answer_length" marking where the label's tokens end, and the weight shared among the pair's rows so
    every pair's label counts as before. A rationale whose label is not the pair's (relabelled since) is dropped.
    """
    found = read_rationales(path)
    labels = {p.pair_hash: p.label for p in pairs}
    texts: dict[str, list[str]] = {}
    styles: Counter[str] = Counter()
    mismatched = 0
    for row in found:
        if row["pair_hash"] not in labels:
            continue
        if row["label"] != labels[row["pair_hash"]]:
            mismatched += 1
            continue
        texts.setdefault(row["pair_hash"], []).append(row["rationale"])
        styles[row["style"]] += 1
    end = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    out = []
    for row, pair in zip(rows, pairs):
        targets = [tokenizer("\n" + text, add_special_tokens=False)["input_ids"][:max_tokens] + end
                   for text in texts.get(pair.pair_hash, [])]
        answer = len(row["ids"]) - row["prompt_length"]
        out.extend({**row, "ids": row["ids"] + t, "answer_length": answer, "weight": row["weight"] / len(targets)}
                   for t in targets)
        if not targets:
            out.append(row)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    used = [len(texts.get(p.pair_hash, [])) for p in pairs]
    summary = {"file": str(path), "sha256": digest, "rationales": sum(used),
               "pairs_with_rationales": sum(n > 0 for n in used), "label_mismatches_dropped": mismatched,
               "styles": dict(styles)}
    return out, summary

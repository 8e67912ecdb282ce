"""A run records its judge's identity in the store, and that identity rebuilds the same judge (or says what changed).

End to end, as a user would: judge through the store, read the run's identity back (from the Store and from
`reljudge store runs --json`), rebuild the judge with `load_judge(identity)` and judge again without the store.
"""

from __future__ import annotations

import json
import re
import shutil
from importlib.resources import files
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from reljudge.cli.store import store_app
from reljudge.errors import JudgeError
from reljudge.experiments.labelling import judge_gains
from reljudge.infer.batch import judge_pairs
from reljudge.infer.stream import judge_to_shards
from reljudge.io import read_pairs
from reljudge.judges.base import JudgeIdentity
from reljudge.judges.registry import load_judge, rebuild_judge
from reljudge.labels import get_scheme
from reljudge.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.csv"
ESCI = get_scheme("esci")
PAIRS = read_pairs(EXAMPLES, scheme=ESCI).pairs
KEY = "sk-identity-test-5e6f7a8b-never-store-me"


def printed_identity(store_path: Path, run_id: str) -> JudgeIdentity:
    """The run's identity as `reljudge store runs --json` prints it (the store must be closed: one writer)."""
    done = CliRunner().invoke(store_app, ["runs", "--json", "--store", str(store_path)])
    assert done.exit_code == 0, done.output
    return JudgeIdentity.from_dict({run["run_id"]: run["identity"] for run in json.loads(done.stdout)}[run_id])


def assert_same_judgments(first, second) -> None:
    assert [j.label for j in first] == [j.label for j in second]
    for a, b in zip(first, second):
        assert (a.proba is None) == (b.proba is None)
        if a.proba is not None:
            np.testing.assert_allclose(a.proba, b.proba, atol=1e-6)


def judge_then_rebuild(judge, pairs, tmp_path: Path, **runtime) -> None:
    """Judge through a store, rebuild from the stored identity, judge again without the store: the same labels."""
    store_path = tmp_path / "runs.duckdb"
    with Store(store_path) as store:
        run = judge_pairs(pairs, judge, store=store, input_name="examples")
        identity = store.run_identity(run.run_id)
    assert identity == judge.identity and printed_identity(store_path, run.run_id) == identity
    rebuilt = rebuild_judge(identity, **runtime) if runtime else load_judge(identity.to_dict())
    assert rebuilt.identity == identity
    assert_same_judgments(run.judgments, judge_pairs(pairs, rebuilt).judgments)


def test_the_lexical_judge_is_rebuilt_from_its_run(tmp_path):
    judge_then_rebuild(load_judge("lexical"), PAIRS, tmp_path)


def test_the_shipped_cross_encoder_is_rebuilt_from_its_run(tmp_path):
    pytest.importorskip("onnxruntime")
    judge_then_rebuild(load_judge("cross-encoder"), PAIRS[:12], tmp_path)


def test_an_api_judge_is_rebuilt_from_its_run_against_a_real_server(llama_server, tmp_path):
    judge = load_judge("api:smollm2", base_url=llama_server, template="esci-zero-shot", max_tokens=2,
                       concurrency=2)
    assert judge.identity.details["base_url"] == llama_server
    judge_then_rebuild(judge, PAIRS[:3], tmp_path, concurrency=2)


def test_a_changed_model_is_refused_after_its_details_are_compared(tmp_path):
    model = tmp_path / "lexical"
    shutil.copytree(files("reljudge") / "assets" / "lexical-esci", model)
    identity = load_judge(f"lexical:{model}").identity
    assert load_judge(identity).spec == identity.spec
    weights = json.loads((model / "model.json").read_text())
    weights["intercept"] = [value + 1.0 for value in weights["intercept"]]
    (model / "model.json").write_text(json.dumps(weights))
    with pytest.raises(JudgeError, match=re.escape(f"judge {identity.spec} cannot be rebuilt as recorded: its model "
                                                   f"has changed since (it now loads lexical:{model}@")):
        load_judge(identity)


def api_judge_with_template(server_url: str, template: Path, **runtime):
    return load_judge("api:stub", base_url=server_url, template=str(template), max_tokens=2, **runtime)


def test_a_changed_template_is_refused_saying_what_changed(fault_server, tmp_path):
    server = fault_server({p.query: "E" for p in PAIRS})
    template = tmp_path / "my-prompt.txt"
    shutil.copy(files("reljudge.prompts") / "templates" / "esci-zero-shot.v1.txt", template)
    with Store(tmp_path / "runs.duckdb") as store:
        run = judge_pairs(PAIRS[:4], api_judge_with_template(server.base_url, template), store=store)
        identity = store.run_identity(run.run_id)
    assert load_judge(identity).identity == identity  # unchanged: rebuilt

    template.write_text(template.read_text().replace("one letter only", "a single letter"))
    with pytest.raises(JudgeError, match=r"cannot be rebuilt as recorded \(template: 'my-prompt.v0#7f25bc88bd8f' "
                                         r"recorded, 'my-prompt.v0#[0-9a-f]{12}' now\)"):
        load_judge(identity)


def test_an_edited_recorded_identity_is_refused_saying_what_changed(fault_server, tmp_path):
    server = fault_server({p.query: "E" for p in PAIRS})
    other = tmp_path / "other-prompt.txt"
    other.write_text((files("reljudge.prompts") / "templates" / "esci-zero-shot.v1.txt").read_text()
                     .replace("one letter only", "a single letter"))
    with Store(tmp_path / "runs.duckdb") as store:
        run = judge_pairs(PAIRS[:4], load_judge("api:stub", base_url=server.base_url), store=store)
        store.con.execute("UPDATE runs SET identity = json_merge_patch(identity, ?) WHERE run_id = ?",
                          [json.dumps({"options": {"template": str(other), "temperature": 0.7}}), run.run_id])
        edited = store.run_identity(run.run_id)
    assert edited.options["template"] == str(other) and edited.options["max_tokens"] == 8
    with pytest.raises(JudgeError) as refused:
        load_judge(edited)
    message = str(refused.value)
    assert message.startswith(f"judge {edited.spec} cannot be rebuilt as recorded (request: ")
    assert "'temperature': 0.0" in message and "'temperature': 0.7" in message
    assert "template: 'esci-zero-shot.v1#" in message and "'other-prompt.v0#" in message


def test_a_file_option_is_recorded_by_its_absolute_path_and_rebuilds_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)
    judge = load_judge("api:stub", base_url="http://127.0.0.1:9/v1", examples=Path(EXAMPLES.name), shots=2)
    assert judge.identity.options["examples"] == str(EXAMPLES)
    monkeypatch.chdir(tmp_path)
    assert load_judge(judge.identity).identity == judge.identity


def text_cells(path: Path) -> list[str]:
    """Every text value of every table of a store file (what a byte scan could miss in compressed blocks)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cells = []
        for table, column in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns()"
                " WHERE NOT internal AND (data_type IN ('VARCHAR', 'JSON') OR data_type LIKE '%[]')").fetchall():
            cells += [str(value) for (value,) in con.execute(f'SELECT "{column}" FROM "{table}"').fetchall()]
        return cells
    finally:
        con.close()


@pytest.mark.parametrize("key_env", [None, "RELJUDGE_IDENTITY_KEY"])
def test_an_api_key_in_the_environment_is_never_recorded(fault_server, tmp_path, monkeypatch, key_env):
    monkeypatch.setenv(key_env or "OPENAI_API_KEY", KEY)
    server = fault_server({p.query: "S" for p in PAIRS})
    judge = load_judge("api:stub", base_url=server.base_url, api_key_env=key_env, concurrency=2)
    store_path = tmp_path / "runs.duckdb"
    with Store(store_path) as store:
        judge_pairs(PAIRS[:4], judge, store=store)
        shards = judge_to_shards(EXAMPLES, judge, tmp_path / "shards", options={"scheme": ESCI}, store=store)
        identity = store.runs()[0].identity
    assert server.authorization == {f"Bearer {KEY}"}  # the key was in use
    assert identity is not None and identity.details["base_url"] == server.base_url
    cells = text_cells(store_path)
    assert any(server.base_url in cell for cell in cells)  # the scan sees what the runs recorded ...
    assert not any(KEY in cell for cell in cells)  # ... and no key
    for path in [store_path, *store_path.parent.glob("*.wal"), *shards.out.iterdir()]:
        assert KEY.encode() not in path.read_bytes()
    rebuilt = rebuild_judge(identity, api_key_env=key_env)  # the key is a runtime option: given again, not stored
    assert rebuilt.spec == judge.spec


def test_every_path_that_starts_a_run_records_the_judges_identity(tmp_path):
    judge = load_judge("lexical")
    with Store(tmp_path / "runs.duckdb") as store:
        judge_pairs(PAIRS, judge, store=store, input_name="in memory")
        judge_to_shards(EXAMPLES, judge, tmp_path / "shards", options={"scheme": ESCI}, store=store)
        wanted = [(p.query_id, p.product.product_id) for p in PAIRS[:5]]
        judge_gains(PAIRS, wanted, judge, store=store, source=str(EXAMPLES), input_name="experiment arms")
        runs = {run.input: run for run in store.runs()}
    assert set(runs) == {"in memory", str(EXAMPLES), "experiment arms"}
    assert all(run.identity == judge.identity and run.status == "done" for run in runs.values())
    manifest = json.loads((tmp_path / "shards" / "_manifest.json").read_text())
    assert JudgeIdentity.from_dict(manifest["judge_identity"]) == judge.identity

import json

import duckdb
import pytest
from typer.testing import CliRunner

from reljudge.cli.store import store_app
from reljudge.errors import ReljudgeError
from reljudge.judges.base import JudgeIdentity
from reljudge.records import Judgment, Pair, Product
from reljudge.store import MIGRATIONS, Store

IDENTITY = JudgeIdentity("api:m@0123456789ab", "esci", "nominal", {"base_url": "http://127.0.0.1:9/v1", "shots": None},
                         {"base_url": "http://127.0.0.1:9/v1", "template": "esci-zero-shot.v1#7f25bc88bd8f",
                          "examples": [["h1", "E"], ["h2", "S"]]})


def pairs():
    return [Pair("dog bed", Product(f"P{i}", f"dog bed {i}"), query_id="q1") for i in range(3)]


def test_a_new_store_is_migrated_to_the_latest_schema(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        assert store.schema_version == len(MIGRATIONS)
        info = store.info()
    assert (info.pairs, info.judgments, info.runs) == (0, 0, 0)


def test_reopening_applies_no_migration_twice(tmp_path):
    path = tmp_path / "s.duckdb"
    Store(path).close()
    with Store(path) as store:
        rows = store.con.execute("SELECT count(*) FROM schema_version").fetchall()[0][0]
    assert rows == len(MIGRATIONS)


def test_pairs_are_keyed_by_hash_and_added_once(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.add_pairs(pairs())
        store.add_pairs(pairs())
        assert store.info().pairs == 3


def test_judgments_round_trip_with_their_probabilities_and_unscored_reasons(tmp_path):
    ps = pairs()
    js = [Judgment(ps[0].pair_hash, "j@1", "E", (0.7, 0.1, 0.1, 0.1)),
          Judgment(ps[1].pair_hash, "j@1", None, None, reason="unparseable reply", raw="maybe?")]
    with Store(tmp_path / "s.duckdb") as store:
        run = store.start_run("j@1", "input.csv")
        store.save_judgments(run, "esci", js, ["", ""])
        store.finish_run(run, n_pairs=2, n_cached=0)
        got = store.cached("j@1", [(p.pair_hash, "") for p in ps])
        other = store.cached("j@2", [(p.pair_hash, "") for p in ps])
        in_other_context = store.cached("j@1", [(ps[0].pair_hash, "ctx")])
    assert got[(ps[0].pair_hash, "")] == js[0]
    assert got[(ps[1].pair_hash, "")] == js[1]
    assert (ps[2].pair_hash, "") not in got
    assert other == {} and in_other_context == {}


def test_the_store_is_one_duckdb_file_other_tools_can_read(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.add_pairs(pairs())
        store.add_human_labels([(pairs()[0].pair_hash, "ann1", "E")], source="labels.csv", scheme="esci")
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT label FROM human_labels").fetchall() == [("E",)]
    con.close()


def test_judging_a_pair_again_replaces_its_judgment(tmp_path):
    ps = pairs()
    with Store(tmp_path / "s.duckdb") as store:
        run = store.start_run("j@1", "input.csv")
        store.save_judgments(run, "esci", [Judgment(ps[0].pair_hash, "j@1", "E", (0.7, 0.1, 0.1, 0.1))], [""])
        store.save_judgments(run, "esci", [Judgment(ps[0].pair_hash, "j@1", "I", (0.1, 0.1, 0.1, 0.7))], [""])
        store.save_judgments(run, "esci", [Judgment(ps[0].pair_hash, "j@1", "S", (0.1, 0.7, 0.1, 0.1))], ["ctx"])
        assert store.info().judgments == 2
        assert store.cached("j@1", [(ps[0].pair_hash, "")])[(ps[0].pair_hash, "")].label == "I"


def test_a_first_schema_store_is_upgraded_with_its_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied TIMESTAMP)")
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.execute("INSERT INTO pairs (pair_hash, query) VALUES ('h1', 'dog bed')")
    con.execute("INSERT INTO judgments (pair_hash, judge, context, label) VALUES ('h1', 'j@1', '', 'E')")
    con.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert (store.info().pairs, store.info().judgments) == (1, 1)
        keyed = store.con.execute("SELECT DISTINCT table_name FROM duckdb_constraints()"
                                  " WHERE constraint_type = 'PRIMARY KEY'").fetchall()
    keyed_tables = {table for (table,) in keyed}
    # the small table keeps its key; the big ones keep theirs by their writes
    assert "runs" in keyed_tables and not keyed_tables & {"pairs", "human_labels", "judgments"}


def test_a_bad_memory_limit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RELJUDGE_STORE_MEMORY", "lots")
    with pytest.raises(ReljudgeError, match="RELJUDGE_STORE_MEMORY='lots'"):
        Store(tmp_path / "s.duckdb")


def test_adding_a_source_again_replaces_its_labels_and_keeps_other_sources(tmp_path):
    h = pairs()[0].pair_hash
    with Store(tmp_path / "s.duckdb") as store:
        store.add_human_labels([(h, "ann1", "E"), (h, "ann2", "S")], source="a.csv", scheme="esci")
        store.add_human_labels([(h, "ann1", "I")], source="b.csv", scheme="esci")
        store.add_human_labels([(h, "ann1", "C")], source="a.csv", scheme="esci")
        rows = store.con.execute("SELECT source, annotator, label FROM human_labels ORDER BY ALL").fetchall()
    assert rows == [("a.csv", "ann1", "C"), ("a.csv", "ann2", "S"), ("b.csv", "ann1", "I")]


def write_schema_2_store(path):
    """A store as reljudge wrote it before runs kept their judge's identity (schema version 2), with rows."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied TIMESTAMP)")
    for version, sql in enumerate(MIGRATIONS[:2], start=1):
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    con.execute("INSERT INTO pairs (pair_hash, query) VALUES ('h1', 'dog bed')")
    con.execute("INSERT INTO runs VALUES ('old-run', 'lexical@5cd606d8fd26', 'in.csv', '2024-05-01 10:00:00',"
                " '2024-05-01 10:00:05', 1, 0, 'done')")
    con.execute("INSERT INTO judgments (pair_hash, judge, context, scheme, label, run_id)"
                " VALUES ('h1', 'lexical@5cd606d8fd26', '', 'esci', 'E', 'old-run')")
    con.close()


def test_a_schema_2_store_is_upgraded_in_place_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.duckdb"
    write_schema_2_store(path)
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert (store.info().pairs, store.info().runs, store.info().judgments) == (1, 1, 1)
        [old] = store.runs()
        assert (old.run_id, old.judge, old.input, old.n_pairs, old.status, old.identity) == (
            "old-run", "lexical@5cd606d8fd26", "in.csv", 1, "done", None)
        with pytest.raises(ReljudgeError, match="run old-run .* recorded before runs kept their judge's identity: "
                                                "it records only the spec lexical@5cd606d8fd26"):
            store.run_identity("old-run")
        new = store.start_run(IDENTITY, "new.csv")  # the upgraded table takes new runs with identities
        store.finish_run(new, n_pairs=2, n_cached=1)
        assert store.run_identity(new) == IDENTITY
        assert [run.run_id for run in store.runs()] == [new, "old-run"]
        assert store.cached("lexical@5cd606d8fd26", [("h1", "")])[("h1", "")].label == "E"


def test_a_run_records_its_judges_identity_as_json(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        run = store.start_run(IDENTITY, "input.csv")
        bare = store.start_run("j@1", "other.csv")
        stored = store.con.execute("SELECT identity FROM runs WHERE run_id = ?", [run]).fetchall()[0][0]
        spec = store.con.execute("SELECT json_extract_string(identity, '$.spec') FROM runs WHERE run_id = ?",
                                 [run]).fetchall()[0][0]
        assert store.run_identity(run) == IDENTITY
        assert {r.run_id: (r.judge, r.identity) for r in store.runs()} == {run: (IDENTITY.spec, IDENTITY),
                                                                           bare: ("j@1", None)}
        assert len(store.runs(limit=1)) == 1
        with pytest.raises(ReljudgeError, match="holds no run 'nope'"):
            store.run_identity("nope")
    assert json.loads(stored) == IDENTITY.to_dict() and spec == IDENTITY.spec


def test_an_identity_that_is_not_json_is_refused_naming_the_judge(tmp_path):
    with Store(tmp_path / "s.duckdb") as store, pytest.raises(ReljudgeError, match="judge j@1: its identity"):
        store.start_run(JudgeIdentity("j@1", "esci", "nominal", details={"threshold": float("nan")}), "in.csv")


def store_runs(*args: str) -> str:
    """`reljudge store runs ARGS` on a wide terminal; its standard output."""
    done = CliRunner().invoke(store_app, ["runs", *args], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    return done.stdout


def test_store_runs_lists_runs_with_their_identities(tmp_path):
    path = tmp_path / "old.duckdb"
    write_schema_2_store(path)
    with Store(path) as store:
        run = store.start_run(IDENTITY, "new.csv")
        store.finish_run(run, n_pairs=1234, n_cached=34)
    table = store_runs("--store", str(path))
    new_row = next(line for line in table.splitlines() if run in line)
    for cell in ("done", "1,234", "34", IDENTITY.spec, "esci", "base_url=http://127.0.0.1:9/v1",
                 "template=esci-zero-shot.v1#7f25bc88bd8f", "examples=[2 items]"):
        assert cell in table
    assert "shots" not in table and "api:m@0123456789ab" in new_row
    assert table.count("base_url=") == 1  # a detail equal to an option is shown once
    assert "recorded before runs kept identities" in table and "old-run" in table
    printed = json.loads(store_runs("--store", str(path), "--json"))
    assert [entry["run_id"] for entry in printed] == [run, "old-run"]
    assert printed[0]["identity"] == IDENTITY.to_dict() and printed[1]["identity"] is None
    assert (printed[0]["pairs"], printed[0]["cached"], printed[0]["input"]) == (1234, 34, "new.csv")
    assert [entry["run_id"] for entry in json.loads(store_runs("--store", str(path), "--json", "--limit", "1"))
            ] == [run]


def test_an_upgraded_store_finds_its_old_judgments_by_their_pkey(tmp_path):
    path = tmp_path / "old.duckdb"
    ps = pairs()
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied TIMESTAMP)")
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.execute("INSERT INTO judgments (pair_hash, judge, context, label) VALUES (?, 'j@1', '', 'E')",
                [ps[0].pair_hash])
    con.close()
    with Store(path) as store:
        assert store.cached("j@1", [(ps[0].pair_hash, ""), (ps[1].pair_hash, "")]).keys() == {(ps[0].pair_hash, "")}
        store.add_pairs(ps)
        store.add_pairs(ps)
        assert store.info().pairs == 3


def test_a_save_after_a_lookup_replaces_what_another_process_wrote_meanwhile(tmp_path):
    from reljudge.store import now

    ps = pairs()
    path = tmp_path / "s.duckdb"
    with Store(path, shared=True) as store:
        asked = now()  # this process found nothing to replace ...
        with Store(path) as other:  # ... then another judged the same pair
            other.save_judgments(other.start_run("j@1", "b.csv"), "esci",
                                 [Judgment(ps[0].pair_hash, "j@1", "S", None)], [""])
        store.save_judgments(store.start_run("j@1", "a.csv"), "esci", [Judgment(ps[0].pair_hash, "j@1", "E", None)],
                             [""], replacing_since=asked)
        assert store.info().judgments == 1
        assert store.cached("j@1", [(ps[0].pair_hash, "")])[(ps[0].pair_hash, "")].label == "E"


HOLD = """
import sys, time
from reljudge.store import Store
with Store(sys.argv[1]) as store:
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def holder(path, seconds):
    """Another process that holds the store for `seconds`, once it says so."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_shared_store_holds_the_file_only_inside_a_turn(tmp_path):
    path = tmp_path / "s.duckdb"
    store = Store(path, shared=True)
    with pytest.raises(RuntimeError, match="outside a turn"):
        store.con.execute("SELECT 1")
    holder(path, 0).wait(timeout=60)  # another process opens it between two turns
    with store.turn(), store.turn():
        store.add_pairs(pairs())
        assert store.con is not None  # nested turns are one
    assert store.info().pairs == 3


def test_a_process_waits_for_another_ones_turn(tmp_path):
    import time

    path = tmp_path / "s.duckdb"
    Store(path).close()
    process = holder(path, 1.5)
    started = time.monotonic()
    with Store(path, wait=60) as store:
        waited = time.monotonic() - started
        assert store.info().pairs == 0
    process.wait(timeout=60)
    assert waited > 0.5


def test_a_store_held_longer_than_the_wait_is_named_with_what_to_do(tmp_path):
    from reljudge.store import StoreBusy

    path = tmp_path / "s.duckdb"
    Store(path).close()
    process = holder(path, 5)
    try:
        with pytest.raises(StoreBusy, match=r"cannot open the store .*s\.duckdb for 0 s: .*RELJUDGE_STORE_WAIT"):
            Store(path, wait=0.2)
    finally:
        process.kill()


OPEN = """
import sys
from reljudge.store import Store
Store(sys.argv[1], wait=float(sys.argv[2])).close()
"""


def test_a_lingering_store_keeps_the_file_open_until_another_process_asks_for_it(tmp_path):
    import subprocess
    import sys
    import time

    path = tmp_path / "s.duckdb"
    store = Store(path, shared=True, linger=True)
    assert store.info().pairs == 0  # a turn; the file stays open after it
    refused = subprocess.run([sys.executable, "-c", OPEN, str(path), "0"], capture_output=True, text=True)
    assert refused.returncode == 1 and "StoreBusy" in refused.stderr
    asking = subprocess.Popen([sys.executable, "-c", OPEN, str(path), "60"])
    deadline = time.monotonic() + 60
    while asking.poll() is None and time.monotonic() < deadline:
        store.yield_if_asked()  # as the service does every 0.1 s
        time.sleep(0.05)
    assert asking.returncode == 0 and not store.waiting.exists()
    assert store.info().pairs == 0  # and the store opens again at the next turn
    store.close()

import duckdb
import pytest

from reljudge.errors import ReljudgeError
from reljudge.records import Judgment, Pair, Product
from reljudge.store import MIGRATIONS, Store


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
    assert keyed == [("runs",)]  # the small table keeps its key; the big ones keep theirs by their writes


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

"""The people side of the store: hashed tokens, queues chosen from a real judge, append-only labels, export."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from reljudge.errors import ReljudgeError
from reljudge.io import read_annotations
from reljudge.judges.registry import load_judge
from reljudge.labels import get_scheme
from reljudge.service import people_store
from reljudge.service.errors import Conflict, InvalidField, UnknownName
from reljudge.service.labelling import Labelling
from reljudge.service.labels import queue_labels
from reljudge.service.queues import add_queue
from reljudge.service.selection import uncertainty
from reljudge.store import Store
from reljudge.store import now as store_clock


def test_tokens_are_stored_hashed_and_can_be_revoked(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        token = people_store.add_annotator(store, "ann")
        assert token.startswith("rjt_") and len(token) > 40
        assert people_store.annotator_for_token(store, token) == "ann"
        assert people_store.annotator_for_token(store, token + "x") is None
        with pytest.raises(Conflict, match="annotator 'ann' exists already"):
            people_store.add_annotator(store, "ann")
        with pytest.raises(ReljudgeError, match="annotator name 'a b' is not allowed"):
            people_store.add_annotator(store, "a b")
        people_store.revoke_annotator(store, "ann")
        assert people_store.annotator_for_token(store, token) is None
        with pytest.raises(UnknownName, match="no annotator 'bob'"):
            people_store.revoke_annotator(store, "bob")
    assert token.encode() not in path.read_bytes()


def test_uncertain_queue_takes_the_judges_least_sure_unlabelled_pairs(tmp_path, example_pairs):
    pairs = example_pairs()
    judge = load_judge("lexical")
    with Store(tmp_path / "s.duckdb") as store:
        made = add_queue(store, judge, pairs, name="u", select="uncertain", n=5, overlap=0.4, source="ex")
        items = store.con.execute("SELECT pair_id, wanted, score FROM queue_items WHERE queue = 'u' ORDER BY item_id"
                                  ).fetchall()
        expected = uncertainty(judge.predict_proba(pairs))  # the whole file is one judging call, as add_queue's
        ranked = [pairs[i].pair_id for i in np.argsort(-expected, kind="stable")[:5]]
        assert [pair_id for pair_id, _, _ in items] == ranked
        assert [score for _, _, score in items] == pytest.approx(sorted(expected, reverse=True)[:5])
        assert sum(wanted == 2 for _, wanted, _ in items) == 2
        assert made.queue.n_items == 5 and made.queue.selection == "uncertain:entropy"
        assert made.queue.judge_identity["spec"] == judge.spec
        # a second queue never takes a pair already queued
        again = add_queue(store, judge, pairs, name="u2", select="uncertain", n=100, source="ex")
        assert again.queue.n_items == len(pairs) - 5
        with pytest.raises(ReljudgeError, match="every one has a human label or is in a queue already"):
            add_queue(store, judge, pairs, name="u3", select="random", n=1)
        with pytest.raises(Conflict, match="queue 'u' exists already"):
            add_queue(store, judge, pairs, name="u", select="disagreement", n=1)


def test_disagreement_audits_labelled_pairs_the_judge_contradicts(tmp_path, example_pairs):
    pairs = example_pairs(labelled=True)
    judge = load_judge("lexical")
    proba = judge.predict_proba(pairs)
    labels = judge.scheme.labels
    contradicted = [(proba[i].max(), p.pair_id) for i, p in enumerate(pairs) if labels[proba[i].argmax()] != p.label]
    with Store(tmp_path / "s.duckdb") as store:
        add_queue(store, judge, pairs, name="audit", select="disagreement", n=3)
        chosen = [r[0] for r in store.con.execute(
            "SELECT pair_id FROM queue_items WHERE queue = 'audit' ORDER BY item_id").fetchall()]
        assert chosen == [pair_id for _, pair_id in sorted(contradicted, key=lambda c: -c[0])[:3]]
        with pytest.raises(ReljudgeError, match="no pair to choose among 28: every one has a human label"):
            add_queue(store, judge, pairs, name="none", select="uncertain", n=3)


def test_labels_are_append_only_and_flow_back_in_long_form(tmp_path, example_pairs):
    pairs = example_pairs()
    with Store(tmp_path / "s.duckdb") as store:
        add_queue(store, load_judge("lexical"), pairs, name="q", select="random", n=4, overlap=1.0)
        labelling = Labelling(store)
        start = store_clock()
        first = labelling.next_pair("q", "ann", now=start)
        labelling.answer("q", "ann", first.item_id, label="exact", now=start + timedelta(seconds=7))
        second = labelling.next_pair("q", "ann", now=start)
        labelling.answer("q", "ann", second.item_id, label="S", now=start + timedelta(seconds=9))
        assert labelling.undo("q", "ann") == second.item_id
        labelling.answer("q", "ann", labelling.next_pair("q", "ann").item_id, label="C")
        bob = labelling.next_pair("q", "bob")
        assert bob.item_id == first.item_id  # overlap: the pair ann started comes first
        labelling.answer("q", "bob", bob.item_id, cant_judge=True, note="title in a language I cannot read")
        with pytest.raises(InvalidField, match="label: label 'Q' is not in scheme 'esci'"):
            labelling.answer("q", "bob", labelling.next_pair("q", "bob").item_id, label="Q")
        with pytest.raises(InvalidField, match="not both or neither"):
            labelling.answer("q", "bob", labelling.next_pair("q", "bob").item_id, label="E", cant_judge=True)

        log = people_store.label_log(store, "q")
        assert log["undoes"].notna().sum() == 1  # the undo is a row; the undone label is still there
        assert len(log) == 5
        given = log[log["undoes"].isna()]
        assert set(given["guideline"]) == {"esci/v1"}
        assert given["seconds"].iloc[0] == pytest.approx(7.0)

        exported = queue_labels(store, "q")
        assert exported.columns.tolist() == ["pair_id", "annotator_id", "label"]
        by_id = {p.pair_hash: p.pair_id for p in pairs}
        assert exported.values.tolist() == [[by_id[first.pair_hash], "ann", "E"],
                                            [by_id[second.pair_hash], "ann", "C"]]
        # a fresh start reads the same state back from the store
        assert Labelling(store).next_pair("q", "bob").item_id == labelling.next_pair("q", "bob").item_id
    exported.to_csv(tmp_path / "labels.csv", index=False)
    read = read_annotations(tmp_path / "labels.csv", scheme=get_scheme("esci"))
    assert read[["annotator", "label"]].values.tolist() == [["ann", "E"], ["ann", "C"]]

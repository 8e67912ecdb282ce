"""`reljudge labels import|export`: labels to and from Label Studio, Quepid, OpenSearch SRW and TREC qrels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reljudge.cli.judge_options import JudgeChoice, judge_flags
from reljudge.cli.options import Columns, Layout, NoStore, PairReading, Scheme, StorePath, reports_errors
from reljudge.judges import DEFAULT_JUDGE

labels_app = typer.Typer(help="Move labels between reljudge and Label Studio, Quepid, OpenSearch's Search "
                              "Relevance Workbench (SRW) and TREC qrels.", no_args_is_help=True)

Format = Annotated[str, typer.Option("--format", "-f", help="label-studio, quepid, quepid-book, srw or qrels.")]


@labels_app.command("export")
@reports_errors
@judge_flags(default=DEFAULT_JUDGE, help="The judge whose labels are exported (pairs it judged before come from "
                                         "the store).")
def export_labels(
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    pairs: Annotated[Optional[Path], typer.Argument(help="Pairs to export: .csv, .tsv, .jsonl or .parquet.")] = None,
    queue: Annotated[Optional[str], typer.Option(
        "--queue", help="Instead of PAIRS, a labelling queue: without --format, the labels people gave it, in long "
                        "form (pair_id, annotator_id, label) as `evaluate --annotations` and `train` read them; "
                        "with --format, its pairs with the label of the judge that chose them.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="label-studio (default for PAIRS), quepid, "
                                                                      "srw or qrels.")] = None,
    human: Annotated[bool, typer.Option("--human", help="Export the pairs' own (people's) labels instead of the "
                                                        "judge's (quepid, srw, qrels).")] = False,
    name: Annotated[str, typer.Option(help="SRW: the judgment list's name (default: OUT's stem).")] = "",
    label_config: Annotated[Optional[Path], typer.Option(
        "--label-config", help="Label Studio: also write the labelling view (XML) the tasks are made for.")] = None,
    scheme: Scheme = None,
    layout: Layout = "auto",
    columns: Columns = None,
    store: StorePath = None,
    no_store: NoStore = False,
    *,
    choice: JudgeChoice,
) -> None:
    """Write PAIRS with a judge's labels (or with --human, their own) in a labelling tool's format, or a labelling
    queue's labels in long form (--queue).

    Label Studio gets tasks with the judge's label as a prediction (model_version the judge's spec, score its
    confidence); Quepid a ratings CSV; SRW a judgment list to PUT to _plugins/_search_relevance/judgments.
    """
    from rich.console import Console

    from reljudge.errors import ReljudgeError
    from reljudge.io.label_formats import EXPORT_FORMATS, write_labels

    if queue is not None and (pairs is not None or human):
        raise typer.BadParameter("give PAIRS (with or without --human) or --queue, not both", param_hint="--queue")
    if queue is not None and fmt is None:
        _queue_export(queue, output, store)
        return
    if queue is None and pairs is None:
        raise typer.BadParameter("give the PAIRS file to export, or --queue NAME", param_hint="PAIRS")
    fmt = fmt or "label-studio"
    if fmt not in EXPORT_FORMATS:
        raise ReljudgeError(f"--format {fmt}: export writes {', '.join(EXPORT_FORMATS)}")
    if human and fmt == "label-studio":
        raise ReljudgeError("--human: Label Studio tasks carry a judge's pre-labels; people's labels come back from "
                            "Label Studio's export (reljudge labels import --format label-studio)")
    if queue is not None:
        table, the_scheme, source = _queue_table(queue, store)
    elif human:
        table, the_scheme, source = _human_table(pairs, scheme, layout, columns)
    else:
        table, the_scheme, source = _judged_table(pairs, choice, scheme, layout, columns, store, no_store)
    written = write_labels(fmt, output, table, scheme=the_scheme, name=name)
    if label_config is not None:
        from reljudge.io.label_studio import label_config as view

        label_config.write_text(view(the_scheme), encoding="utf-8")
    n = int(table["label"].notna().sum())
    Console(stderr=True).print(f"wrote {n} labelled pairs ({source}) to {written} as {fmt}", highlight=False)


def _queue_export(queue: str, output: Path, store: Path | None) -> None:
    """A queue's standing labels (undone ones and "can't judge" answers left out) as a long-form CSV."""
    from reljudge.io.atomic import atomic_path
    from reljudge.service.labels import queue_labels
    from reljudge.store import Store

    with Store(store) as the_store:
        frame = queue_labels(the_store, queue)
    with atomic_path(output) as temporary:
        frame.to_csv(temporary, index=False)
    typer.echo(f"wrote {len(frame)} labels of queue {queue} to {output}", err=True)


def _queue_table(queue: str, store: Path | None):
    """A queue's pairs with the label and probabilities its judge gave each when the queue was made."""
    from reljudge.errors import ReljudgeError
    from reljudge.labels import get_scheme
    from reljudge.store import Store

    with Store(store) as the_store:
        table = the_store.con.execute(
            "SELECT i.pair_id, i.pair_hash, p.query_id, p.query, p.product_id, p.title, p.brand, p.color, p.bullets,"
            " p.description, i.judge_label AS label, i.judge_proba, q.judge, q.scheme FROM queue_items i"
            " JOIN queues q ON q.name = i.queue JOIN pairs p ON p.pair_hash = i.pair_hash WHERE i.queue = ?"
            " ORDER BY i.item_id", [queue]).df()
    if table.empty:
        raise ReljudgeError(f"--queue {queue}: no such queue, or it holds no pairs (see: reljudge queue list)")
    the_scheme = get_scheme(table["scheme"].iloc[0])
    for k, label in enumerate(the_scheme.labels):
        table[f"p_{label}"] = [float(p[k]) if p is not None and len(p) > k else float("nan")
                               for p in table["judge_proba"]]
    return table.drop(columns=["judge_proba", "scheme"]), the_scheme, f"queue {queue}, judged by {table['judge'][0]}"


def _human_table(pairs: Path, scheme: str | None, layout: str, columns: str | None):
    from reljudge.cli.inputs import load_pairs
    from reljudge.labels import get_scheme

    the_scheme = get_scheme(scheme or "esci")
    read = load_pairs(pairs, the_scheme, PairReading(layout, columns), require_labels=True)
    import pandas as pd

    table = pd.DataFrame({"pair_id": [p.pair_id for p in read.pairs], "query_id": [p.query_id for p in read.pairs],
                          "query": [p.query for p in read.pairs],
                          "product_id": [p.product.product_id for p in read.pairs],
                          "label": [p.label for p in read.pairs]})
    return table, the_scheme, "people's labels"


def _judged_table(pairs: Path, choice: JudgeChoice, scheme: str | None, layout: str, columns: str | None,
                  store: Path | None, no_store: bool):
    from reljudge.cli.inputs import load_pairs
    from reljudge.cli.session import open_judge, record_inputs
    from reljudge.infer.batch import judge_pairs, to_frame

    the_judge, the_scheme = open_judge(choice, scheme, None, progress=True)
    read = load_pairs(pairs, the_scheme, PairReading(layout, columns))
    with record_inputs(read, the_scheme, store, no_store) as the_store:
        run = judge_pairs(read.pairs, the_judge, store=the_store, input_name=str(pairs), progress=True)
    table = to_frame(read.pairs, run.judgments, the_scheme)
    for field in ("title", "brand", "color", "bullets", "description"):
        table[field] = [getattr(p.product, field) for p in read.pairs]
    return table, the_scheme, f"judged by {the_judge.spec}"


@labels_app.command("import")
@reports_errors
def import_labels(
    labels: Annotated[Path, typer.Argument(help="The tool's file: Label Studio's JSON export, a Quepid ratings CSV "
                                                "or book JSON, an SRW judgment list, or TREC qrels.")],
    fmt: Format = "label-studio",
    pairs: Annotated[Optional[Path], typer.Option(
        help="The pairs the labels rate (default: the pairs recorded in the store).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Also write the labels in long form (pair_id, annotator_id, label) to this CSV, "
                               "as `evaluate --annotations` and `train` read them.")] = None,
    scheme: Annotated[str, typer.Option(help="The labels' scheme: esci, binary or graded:LOW-HIGH.")] = "esci",
    random_sample: Annotated[bool, typer.Option(
        "--random-sample", help="The labelled pairs are a uniform random sample of the pairs judged on their day "
                                "(an audit): the daily report corrects the judge's mean gain with them.")] = False,
    layout: Layout = "auto",
    columns: Columns = None,
    store: StorePath = None,
    no_store: NoStore = False,
) -> None:
    """Read people's labels from a labelling tool, match them to their pairs, and record them in the store (the
    daily report's human side) and/or write them in long form."""
    from rich.console import Console

    from reljudge.io.interop import match_pairs
    from reljudge.io.label_formats import read_labels
    from reljudge.labels import get_scheme

    the_scheme = get_scheme(scheme)
    ratings = read_labels(fmt, labels, scheme=the_scheme)
    if no_store and output is None:
        raise typer.BadParameter("with --no-store, give --output for the labels", param_hint="--output")
    known, read = _known_pairs(pairs, the_scheme, layout, columns, store)
    matched = match_pairs(ratings, known, str(labels))
    if output is not None:
        _write_long_form(output, matched)
    if not no_store:
        from reljudge.store import Store

        with Store(store) as the_store:
            if read is not None:
                the_store.add_pairs(read.pairs)
            the_store.add_human_labels(matched[["pair_hash", "annotator", "label"]].itertuples(index=False,
                                                                                              name=None),
                                       source=str(labels), scheme=the_scheme.name, sampled=random_sample)
    where = " and ".join(x for x in ((f"{output}" if output else ""), ("" if no_store else "the store")) if x)
    Console(stderr=True).print(f"read {len(matched)} labels by {matched['annotator'].nunique()} annotator(s) of "
                               f"{matched['pair_hash'].nunique()} pairs from {labels}; recorded in {where}",
                               highlight=False)


def _known_pairs(pairs: Path | None, scheme, layout: str, columns: str | None, store: Path | None):
    """The pairs labels may rate: a pairs file's (with its read), or the store's (pair_id = pair hash)."""
    if pairs is not None:
        import pandas as pd

        from reljudge.cli.inputs import load_pairs

        read = load_pairs(pairs, scheme, PairReading(layout, columns))
        return pd.DataFrame({"pair_id": [p.pair_id for p in read.pairs], "pair_hash": [p.pair_hash for p in read.pairs],
                             "query_id": [p.query_id for p in read.pairs], "query": [p.query for p in read.pairs],
                             "product_id": [p.product.product_id for p in read.pairs]}), read
    from reljudge.store import Store

    with Store(store) as the_store:
        known = the_store.con.execute("SELECT pair_hash AS pair_id, pair_hash, query_id, query, product_id"
                                      " FROM pairs").df()
    return known, None


def _write_long_form(output: Path, matched) -> None:
    from reljudge.io.atomic import atomic_path

    frame = matched.rename(columns={"annotator": "annotator_id"})[
        ["pair_id", "annotator_id", "label", "query_id", "query", "product_id"]]
    with atomic_path(output) as temporary:
        frame.to_csv(temporary, index=False)

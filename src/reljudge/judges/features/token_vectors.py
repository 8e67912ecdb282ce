"""Semantic features of a pair relative to its query's other candidates, from static token vectors.

A text's vector is the mean of its tokens' rows in the encoder's own word-embedding table (frozen in fine-tuning,
so the base's and the judge's are the same), cut to its 64 principal directions: a table lookup, no model run.
What these vectors know that exact token overlap does not is synonymy and relatedness ("sofa" and "couch"), and
that is what the group-relative features need: how much closer to the query a candidate is than the best of its
group, and how typical it is of what the query retrieved.

Measured by grouped 5-fold cross-validation over all 103 ESCI queries (4 fold seeds): lexical features alone
0.258, with these six 0.278; the six-layer MiniLM's sentence embeddings in their place gave 0.268, and the table's
full 384 dimensions 0.277, so the cheap form loses nothing.

The texts are those the cross-encoder reads (`PairEncoder.texts`: the query, and the product's fields within the
token budget) plus the title alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reljudge.errors import JudgeError
from reljudge.judges.encoder.inputs import PairEncoder
from reljudge.judges.features.lexical import by_query_group, group_z
from reljudge.records import Pair

VECTORS_FILE = "token_vectors.npy"
#: Principal directions kept: 64 did as well as all 384 in cross-validation, at a sixth of the file.
DIMENSIONS = 64
SEMANTIC_NAMES: tuple[str, ...] = (
    "sem_query_title_z",  # cosine of query and title, standardised within the group
    "sem_query_product_z",  # the same for the product text the encoder reads
    "sem_query_title_gap",  # cosine of query and title minus the group's best
    "sem_query_product_gap",
    "sem_title_typicality",  # mean cosine of the title to the other candidates' titles
    "sem_product_centrality_z",  # cosine of the product text to the group's mean product, standardised
)


def principal_table(embeddings: np.ndarray, dimensions: int = DIMENSIONS) -> np.ndarray:
    """A word-embedding table projected on its leading principal directions (centred), as float16."""
    centred = np.asarray(embeddings, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    _, _, directions = np.linalg.svd(centred, full_matrices=False)
    return (centred @ directions[:dimensions].T).astype(np.float16)


def write_token_vectors(model_dir: str | Path, output_dir: str | Path) -> None:
    """Save the principal table of a Hugging Face model's input embeddings to OUTPUT_DIR/token_vectors.npy."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    np.save(Path(output_dir) / VECTORS_FILE, principal_table(model.get_input_embeddings().weight.detach().numpy()))


class SemanticFeatures:
    """`SEMANTIC_NAMES` for any list of pairs, from a `PairEncoder` (texts, tokenizer) and a token-vector table.

    Raises:
        JudgeError: the table is missing or does not cover the tokenizer's vocabulary.
    """

    def __init__(self, inputs: PairEncoder, table: np.ndarray):
        if table.ndim != 2 or table.shape[0] < inputs.tokenizer.get_vocab_size():
            raise JudgeError(f"the token vectors ({table.shape}) do not cover the tokenizer's "
                             f"{inputs.tokenizer.get_vocab_size()} tokens; retrain the judge")
        self.inputs = inputs
        self.table = table.astype(np.float32)

    @classmethod
    def load(cls, inputs: PairEncoder, directory: Path) -> SemanticFeatures:
        path = directory / VECTORS_FILE
        if not path.exists():
            raise JudgeError(f"{directory} has no {VECTORS_FILE}; retrain the judge with this reljudge")
        return cls(inputs, np.load(path))

    def __call__(self, pairs: Sequence[Pair], texts: Sequence[tuple[str, str]] | None = None) -> np.ndarray:
        """(n, 6) features aligned with `pairs`; like the lexical ones, a row depends only on the pair and its group.

        `texts`: `self.inputs.texts(pairs)`, when the caller has them already (the encoder reads the same).
        """
        text_of: dict[str, tuple[str, str]] = {}
        for pair, text in zip(pairs, self.inputs.texts(pairs) if texts is None else texts):
            text_of.setdefault(pair.pair_hash, text)  # the pair `by_query_group` passes is a hash's first
        return by_query_group(pairs, lambda group: self.group_features(group, [text_of[p.pair_hash] for p in group]),
                              len(SEMANTIC_NAMES))

    def group_features(self, pairs: Sequence[Pair], texts: Sequence[tuple[str, str]]) -> np.ndarray:
        """The features of one query group's distinct pairs, given the texts the encoder reads for them."""
        query = self.vectors([texts[0][0]])[0]
        titles = self.vectors([p.product.title for p in pairs])
        products = self.vectors([product for _, product in texts])
        query_title, query_product = titles @ query, products @ query
        n = len(pairs)
        similarity = titles @ titles.T
        typicality = (similarity.sum(axis=1) - similarity.diagonal()) / (n - 1) if n > 1 else np.zeros(n)
        centroid = products.mean(axis=0)
        centrality = products @ centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        return np.column_stack([
            group_z(query_title), group_z(query_product), query_title - query_title.max(),
            query_product - query_product.max(), typicality, group_z(centrality),
        ])

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length mean token vectors (all zeros for a text with no tokens)."""
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for i, encoding in enumerate(self.inputs.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            if encoding.ids:
                out[i] = self.table[encoding.ids].mean(axis=0)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

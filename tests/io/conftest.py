"""Fixtures of the io tests: the hand-written fixture files, generated Parquet files and the shared real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def shared_data_dir() -> Path:
    """../shared/data beside the checkout; tests that read it skip when it is absent (e.g. on a user's machine)."""
    path = Path(__file__).parents[2] / ".." / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"{path.resolve()} is absent: the shared human-labelled data is not beside this checkout")
    return path


@pytest.fixture
def pairs_parquet(tmp_path: Path) -> Path:
    """The pairs fixture as Parquet, written from the csv fixture read as text (ids keep their zeros)."""
    path = tmp_path / "pairs.parquet"
    pd.read_csv(FIXTURES / "pairs.csv", dtype=str, keep_default_na=False).to_parquet(path)
    return path


@pytest.fixture
def esci_examples(tmp_path: Path) -> Path:
    """A tiny file in the official examples layout (integer ids, as the real file has them)."""
    frame = pd.DataFrame({
        "example_id": [101, 102, 103, 104],
        "query": ["usb c cable 6ft", "usb c cable 6ft", "usb c cable 6ft", "cable usb c 2m"],
        "query_id": [7, 7, 7, 8],
        "product_id": ["B0FAKEC001", "B0FAKEC002", "B0FAKEC003", "B0FAKEC001"],
        "product_locale": ["us", "us", "us", "es"],
        "esci_label": ["E", "S", "I", "E"],
        "small_version": [1, 1, 0, 1],
        "large_version": [1, 1, 1, 1],
        "split": ["train", "train", "test", "train"],
    }, index=[40, 41, 42, 43])
    path = tmp_path / "shopping_queries_dataset_examples.parquet"
    frame.to_parquet(path)
    return path

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

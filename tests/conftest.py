import pytest

from connectors.home import Home


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    """An empty project home; CWH_HOME points at it for code that reads the environment."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("CWH_HOME", str(root))
    return Home(root)

import pytest


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    """Connector tests parse files without a project home: give the hashing a key, as a home does."""
    monkeypatch.setenv("CWH_HASH_KEY", "connector-tests-key")

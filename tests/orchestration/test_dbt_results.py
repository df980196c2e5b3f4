"""A failed dbt node as the night reports it (orchestration/pipeline/gates/dbt_results.py)."""

from types import SimpleNamespace

from orchestration.pipeline.gates.dbt_results import dbt_checks


def _result(unique_id: str, status: str, message: str):
    node = SimpleNamespace(unique_id=unique_id, name=unique_id.split(".")[-1], depends_on=SimpleNamespace(nodes=[]),
                           attached_node=None, test_metadata=None, compiled_code=None)
    run = SimpleNamespace(results=[SimpleNamespace(node=node, status=status, message=message, failures=None)])
    return SimpleNamespace(result=run, exception=None)


def test_a_model_out_of_duckdb_s_memory_says_how_to_give_it_more(monkeypatch):
    monkeypatch.setenv("CWH_DUCKDB_MEMORY_LIMIT", "1.5GB")
    message = ("Runtime Error in model int_payout_items (models/intermediate/int_payout_items.sql)\n  Out of Memory "
               "Error: failed to allocate data of size 4.0 KiB (1.3 GiB/1.3 GiB used)")
    [outcome] = dbt_checks(_result("model.channel_contribution.int_payout_items", "error", message))
    assert outcome.status == "fail" and outcome.blocking
    assert "Out of Memory Error" in outcome.detail
    assert "1.5GB" in outcome.suggested_action and "CWH_DUCKDB_MEMORY_LIMIT=3GB" in outcome.suggested_action
    assert "CWH_DBT_THREADS=1" in outcome.suggested_action and "run the night again" in outcome.suggested_action


def test_another_model_failure_keeps_the_usual_advice():
    [outcome] = dbt_checks(_result("model.channel_contribution.int_payout_items", "error",
                                   "Runtime Error: Binder Error: column x not found"))
    assert "CWH_DUCKDB_MEMORY_LIMIT" not in outcome.suggested_action
    assert "fix it at the source" in outcome.suggested_action

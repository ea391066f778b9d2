"""``GET /invoice-runs``: the history of invoice runs, newest first, of a period or of every
period, with who started each, its counts and whether its reconciliation balanced."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import PERIOD, Api

pytestmark = pytest.mark.stack


def _wait(api: Api, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/invoice-runs/{run_id}").json
        if run["status"] != "running":
            return run
        time.sleep(0.2)
    raise TimeoutError(run_id)


def _stored_run(run_id: str, period: str, requested_at: str, **more: Any) -> None:
    from chalicelib.store import invoices

    doc: Any = {
        "run_id": run_id,
        "period": period,
        "mode": "draft",
        "status": "succeeded",
        "requested_at": requested_at,
        "counts": {"customers": 2, "saved": 2, "unchanged": 0, "failed": 0, "not_run": 0},
        **more,
    }
    assert invoices.create_run(run_id, doc)


def test_a_started_run_is_listed_with_who_started_it_and_its_outcome(
    api: Api, reference_data: Any
) -> None:
    started = api.post("/invoice-runs", body={"period": PERIOD, "mode": "issue"})
    run = _wait(api, started.json["run_id"])
    assert run["status"] == "succeeded", run
    token_id = api.get("/api-tokens").json["items"][0]["id"]

    [listed] = api.get("/invoice-runs", period=PERIOD).json["items"]
    assert listed["run_id"] == run["run_id"]
    assert (listed["period"], listed["mode"], listed["status"]) == (PERIOD, "issue", "succeeded")
    assert listed["started_by"] == {"subject": f"token:{token_id}", "name": "test operator"}
    assert listed["counts"] == {
        "customers": 2,
        "done": 2,
        "saved": 2,
        "unchanged": 0,
        "failed": 0,
    }
    assert listed["started_at"] and listed["finished_at"] >= listed["started_at"]
    assert listed["reconciliation"]["balanced"] is True
    assert listed["reconciliation"]["differences"] == []
    # The run's own record keeps who started it, too.
    assert api.get(f"/invoice-runs/{run['run_id']}").json["started_by"] == listed["started_by"]

    # The same run again changes nothing (the invoices are issued): a run of its own, listed
    # first, every customer unchanged.
    again = api.post("/invoice-runs", body={"period": PERIOD, "mode": "issue"}).json
    again = _wait(api, again["run_id"])
    latest = api.get("/invoice-runs").json["items"]
    assert [r["run_id"] for r in latest] == [again["run_id"], run["run_id"]]
    assert latest[0]["counts"]["unchanged"] == 2 and latest[0]["counts"]["saved"] == 0


def test_runs_newest_first_of_a_period_or_of_every_period_a_page_at_a_time(api: Api) -> None:
    _stored_run("sep-1", "2026-09", "2026-10-02T08:00:00+00:00")
    _stored_run("oct-1", "2026-10", "2026-11-02T08:00:00+00:00")
    _stored_run("sep-2", "2026-09", "2026-11-03T09:00:00+00:00")
    _stored_run(
        "oct-2",
        "2026-10",
        "2026-11-04T10:00:00+00:00",
        reconciliation={
            "period": "2026-10",
            "balanced": False,
            "currencies": [
                {"currency": "EUR", "difference": "0"},
                {"currency": "USD", "difference": "-12.5000000001"},
            ],
            "duplicated_lines": 3,
        },
    )

    first = api.get("/invoice-runs", limit=3).json
    assert [r["run_id"] for r in first["items"]] == ["oct-2", "sep-2", "oct-1"]
    rest = api.get("/invoice-runs", limit=3, cursor=first["next_cursor"]).json
    assert ([r["run_id"] for r in rest["items"]], rest["next_cursor"]) == (["sep-1"], None)

    september = api.get("/invoice-runs", period="2026-09").json
    assert [r["run_id"] for r in september["items"]] == ["sep-2", "sep-1"]
    assert september["next_cursor"] is None

    unbalanced = first["items"][0]["reconciliation"]
    assert unbalanced == {
        "balanced": False,
        "differences": [
            {"currency": "USD", "difference": "-12.5000000001", "difference_display": "-12.50"}
        ],
        "duplicated_lines": 3,
        "error": None,
    }
    # A run from before who started it was recorded says nobody rather than guessing.
    assert first["items"][0]["started_by"] is None

    october = api.get("/invoice-runs", period="2026-10", limit=1).json
    assert [r["run_id"] for r in october["items"]] == ["oct-2"]
    reply = api.get("/invoice-runs", period="2026-09", cursor=october["next_cursor"])
    assert (reply.status, reply.json["field"]) == (400, "cursor")


def test_a_running_run_is_listed_without_reading_its_results(api: Api) -> None:
    from chalicelib.store import invoices

    _stored_run("live-1", PERIOD, "2026-11-05T10:00:00+00:00", status="running", counts=None)
    run = invoices.get_run("live-1")
    invoices.save_run({**run, "customer_count": 5})
    invoices.record_result("live-1", "a", {"customer_id": "a", "status": "saved"})
    [listed] = api.get("/invoice-runs").json["items"]
    assert listed["status"] == "running"
    assert listed["counts"] == {
        "customers": 5,
        "done": None,
        "saved": None,
        "unchanged": None,
        "failed": None,
    }
    assert listed["reconciliation"] is None


def test_only_operators_list_runs(api: Api, customer_token: Callable[[str], str]) -> None:
    assert api.get("/invoice-runs", customer_token("acme")).status == 403
    assert api.get("/invoice-runs", None).status == 401
    assert api.get("/invoice-runs", period="2026-13").status == 400


def test_an_attempt_whose_execution_name_was_taken_is_no_run_of_the_history(
    api: Api, reference_data: Any
) -> None:
    from chalicelib.store import invoices

    first = _wait(
        api, api.post("/invoice-runs", body={"period": PERIOD, "mode": "draft"}).json["run_id"]
    )
    # Its record lost (a restore, a cleanup): execution names stay taken for 90 days.
    invoices.delete_run(first["run_id"])
    again = api.post("/invoice-runs", body={"period": PERIOD, "mode": "draft"}).json
    assert again["run_id"].rsplit("-", 1)[1] == str(int(first["run_id"].rsplit("-", 1)[1]) + 1)
    _wait(api, again["run_id"])
    listed = api.get("/invoice-runs", period=PERIOD).json["items"]
    assert [run["run_id"] for run in listed] == [again["run_id"]]

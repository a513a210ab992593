"""Run history over REST: query an experiment's runs, read one run, set a run's tags.

Every request is the one the SDK itself sends, built with the SDK's own msrest models and filter helpers:
- `POST {history}/history/v1.0{workspace}/experiments/{exp}/runs:query` with a `QueryParamsDto` body
  (`filter` str, `orderby` str, `top` int, `continuationToken` str; RunOperations.get_by_query), the filter
  written with the SDK's OData helpers (azureml/_restclient/_odata: tag and property equality, no child runs);
- `GET .../runs/{id}` (RunOperations.get);
- `PATCH .../runs/{id}` with a `CreateRunDto` holding `runId` and `tags` (what `Run.set_tags` sends:
  RunHistoryFacade.set_tags -> RunClient.patch_run; tags not named are left as they are).
`{history}` is the workspace's run-history endpoint from discovery (Connection.history_url). The app's retries
apply (the SDK's client would wait a fixed 32 s on a 429).
"""

from __future__ import annotations

from urllib.parse import quote

import requests
from azureml._restclient._odata.constants import NO_CHILD_RUNS_QUERY, ORDER_BY_CREATEDTIME_EXPRESSION
from azureml._restclient._odata.expressions import and_join
from azureml._restclient._odata.runs import get_filter_run_property_equals, get_filter_run_tag_equals
from azureml._restclient.models import CreateRunDto, QueryParamsDto

from shared.errors import AppError
from shared.logfmt import shorten
from shared.retry import RetryBudget, send, with_retries
from shared.workspace import Connection

# A run has ended only in one of these (azureml/_restclient/constants.py, RunStatus). Every other status, and a
# status the app does not know or cannot read, counts as active: never start a parallel run on doubt.
ENDED_STATES = frozenset({"Completed", "Failed", "Canceled"})
SUCCEEDED = "Completed"


class RunHistoryError(AppError):
    """Run history could not be read or written; the message names the request and the answer."""


def is_active(status: object) -> bool:
    return status not in ENDED_STATES


class RunHistory:
    """One experiment's runs in one workspace."""

    def __init__(self, connection: Connection, experiment: str, budget: RetryBudget):
        self.connection = connection
        self.experiment = experiment
        self.budget = budget
        self.base = f"{connection.history_url}/history/v1.0{connection.arm_id}/experiments/{quote(experiment, safe='')}"

    def _headers(self) -> dict[str, str]:
        # The SDK's auth object refreshes an expiring token here: a network call like any other.
        return with_retries(self.budget, "token", self.connection.auth.get_authentication_header)

    def query(self, tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
              limit: int = 1) -> list[dict]:
        """Top-level runs whose tags and properties equal the given ones, newest first, at most `limit`."""
        clauses = [get_filter_run_tag_equals(tags)] if tags else []
        clauses += [get_filter_run_property_equals(properties)] if properties else []
        expression = and_join([*clauses, NO_CHILD_RUNS_QUERY])
        url = f"{self.base}/runs:query"
        runs: list[dict] = []
        token = None
        while len(runs) < limit:
            body = QueryParamsDto(filter=expression, orderby=ORDER_BY_CREATEDTIME_EXPRESSION, top=limit - len(runs),
                                  continuation_token=token).serialize()
            response = send(self.budget, "query_runs", "POST", url, self._headers(), json=body)
            if response.status_code == 404 and _is_service_error(response):
                return []  # run history's own answer: the experiment does not exist yet, so it has no runs
            _raise_unless_ok(response, "POST", url, f"reading run history of experiment {self.experiment}")
            page = response.json()
            runs += page.get("value") or []
            token = page.get("continuationToken")
            if not token:
                break
        return runs[:limit]

    def get(self, run_id: str) -> dict:
        url = f"{self.base}/runs/{quote(run_id, safe='')}"
        response = send(self.budget, "get_run", "GET", url, self._headers())
        _raise_unless_ok(response, "GET", url, f"reading run {run_id}")
        return response.json()

    def set_tags(self, run_id: str, tags: dict[str, str]) -> dict:
        """Add or change `tags` on the run; returns the run as run history now holds it."""
        url = f"{self.base}/runs/{quote(run_id, safe='')}"
        body = CreateRunDto(run_id=run_id, tags=tags).serialize()
        response = send(self.budget, "set_run_tags", "PATCH", url, self._headers(), json=body)
        _raise_unless_ok(response, "PATCH", url, f"tagging run {run_id}")
        return response.json()


def _is_service_error(response: requests.Response) -> bool:
    """True for run history's own JSON error (the SDK's ErrorResponse: an object `error` with a string `code`)."""
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str)


def _raise_unless_ok(response: requests.Response, method: str, url: str, what: str) -> None:
    if response.status_code < 400:
        return
    if response.status_code == 404 and not _is_service_error(response):
        raise RunHistoryError(
            f"{what} failed: {method} {url.split('?')[0]} answered 404 without run history's JSON error, so the "
            "request did not reach run history: check the workspace's discovery (a private endpoint needs its "
            "DNS) and any proxy"
        )
    raise RunHistoryError(f"{what} failed: status={response.status_code}: {shorten(response.text)}")

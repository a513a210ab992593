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

from azureml._restclient._odata.constants import NO_CHILD_RUNS_QUERY, ORDER_BY_CREATEDTIME_EXPRESSION
from azureml._restclient._odata.expressions import and_join
from azureml._restclient._odata.runs import get_filter_run_property_equals, get_filter_run_tag_equals
from azureml._restclient.models import CreateRunDto, QueryParamsDto

from shared.errors import AppError
from shared.hostconfig import Deadline
from shared.retry import Allowance, with_retries
from shared.transport import Answer, HttpError, send
from shared.workspace import Connection

# Pages of one query: the app never asks for more than a few dozen runs, 50 a page; more means a token that repeats.
MAX_PAGES = 20


class RunHistoryError(AppError):
    """Run history could not be read or written; the message names the request and the answer."""


class RunHistory:
    """One experiment's runs in one workspace: one job's work item (its allowance) and the tick's deadline."""

    def __init__(self, connection: Connection, experiment: str, allowance: Allowance):
        self.connection = connection
        self.experiment = experiment
        self.allowance = allowance
        self.deadline: Deadline = allowance.deadline
        self.base = f"{connection.history_url}/history/v1.0{connection.arm_id}/experiments/{quote(experiment, safe='')}"

    def _send(self, what: str, method: str, url: str, body: dict | None = None) -> Answer:
        # The SDK's auth object refreshes an expiring token in the header call: a network call like any other.
        def attempt() -> Answer:
            headers = self.connection.auth.get_authentication_header()
            return send(what, method, url, headers, json=body, deadline=self.deadline)

        try:
            return with_retries(self.allowance, what, attempt)
        except HttpError as error:
            if error.status == 404 and not error.structured:
                raise RunHistoryError(
                    f"{error}: the answer is not run history's JSON error, so the request did not reach run history: "
                    "check the workspace's discovery (a private endpoint needs its DNS) and any proxy") from None
            raise

    def query(self, tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
              limit: int = 1) -> list[dict]:
        """Top-level runs whose tags and properties equal the given ones, newest first, at most `limit`."""
        clauses = [get_filter_run_tag_equals(tags)] if tags else []
        clauses += [get_filter_run_property_equals(properties)] if properties else []
        expression = and_join([*clauses, NO_CHILD_RUNS_QUERY])
        url = f"{self.base}/runs:query"
        runs: list[dict] = []
        token = None
        seen: set[str] = set()
        while len(runs) < limit:
            body = QueryParamsDto(filter=expression, orderby=ORDER_BY_CREATEDTIME_EXPRESSION, top=limit - len(runs),
                                  continuation_token=token).serialize()
            try:
                answer = self._send("query_runs", "POST", url, body)
            except HttpError as error:
                if error.status == 404:
                    return []  # run history's own answer: the experiment does not exist yet, so it has no runs
                raise
            page = answer.object()
            value = page.get("value") or []
            if not isinstance(value, list) or not all(isinstance(run, dict) and isinstance(run.get("runId"), str)
                                                      for run in value):
                raise answer.bad("value is not a list of runs, each with a runId")
            runs += value
            token = page.get("continuationToken")
            if not token:
                break
            if token in seen or len(seen) >= MAX_PAGES:
                raise answer.bad("continuationToken repeats a page already read: the query does not end")
            seen.add(str(token))
        return runs[:limit]

    def get(self, run_id: str) -> dict:
        answer = self._send("get_run", "GET", f"{self.base}/runs/{quote(run_id, safe='')}")
        return answer.object()

    def set_tags(self, run_id: str, tags: dict[str, str]) -> dict:
        """Add or change `tags` on the run; returns the run as run history now holds it."""
        body = CreateRunDto(run_id=run_id, tags=tags).serialize()
        return self._send("set_run_tags", "PATCH", f"{self.base}/runs/{quote(run_id, safe='')}", body).object()

"""AML run history as the fake answers it: query an experiment's runs, read a run, set its tags.

Bodies bind to the SDK's own models (`QueryParamsDto`, `CreateRunDto`); filters and order are parsed strictly
(fakeazure.odata); a page holds at most `runs_page_size` runs; a missing experiment or run is run history's own
JSON 404. Run history answers only on the host the workspace's discovery names (`history_host`).
"""

from __future__ import annotations

from urllib.parse import unquote

from fakeazure.contract import bind
from fakeazure.odata import QueryError, parse_filter, parse_order
from fakeazure.state import REGION, FakeRun
from fakeazure.wire import WS, Route, arm_error, json_answer

RUNS_PAGE_SIZE = 50


class RunHistory:
    """The runs of the fake's experiments."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[Route]:
        history = rf"(?P<host>https://[^/]+)/history/v1\.0{WS}/experiments/(?P<exp>[^/]+)"
        return [
            Route("POST", rf"{history}/runs:query(\?|$)", self._query_runs),
            Route("GET", rf"{history}/runs/(?P<run>[^/?:]+)(\?|$)", self._get_run),
            Route("PATCH", rf"{history}/runs/(?P<run>[^/?:]+)(\?|$)", self._patch_run),
        ]

    def _not_found(self, what: str):
        """Run history's own error (the SDK's ErrorResponse model), as it answers for a missing experiment or run."""
        return json_answer(404, {"error": {"code": "UserError", "message": f"{what} not found",
                                           "innerError": {"code": "NotFound"}},
                                 "correlation": {"operation": "00000000000000000000000000000000"},
                                 "environment": REGION, "location": REGION, "componentName": "run-history"})

    def _run_in(self, match) -> FakeRun | None:
        run = self.fake.runs.get(match.group("run"))
        return run if run is not None and run.experiment == unquote(match.group("exp")) else None

    def _get_run(self, request, match):
        run = self._run_in(match)
        if run is None:
            return self._not_found(f"Run {match.group('run')}")
        dto = run.dto()
        run.reads += 1
        return json_answer(200, dto)

    def _patch_run(self, request, match):
        """`PATCH .../runs/{id}` with a CreateRunDto: what `Run.set_tags` sends; tags not named stay."""
        run = self._run_in(match)
        if run is None:
            return self._not_found(f"Run {match.group('run')}")
        from azureml._restclient.models import CreateRunDto  # the SDK's model, loaded when a PATCH arrives

        patch = bind(request.body, CreateRunDto)
        run.tags.update(patch.get("tags") or {})
        return json_answer(200, run.dto())

    def _query_runs(self, request, match):
        """`POST .../runs:query` with a QueryParamsDto: filter, orderby, top, continuationToken."""
        experiment = unquote(match.group("exp"))
        if experiment not in self.fake.experiments:
            return self._not_found(f"Experiment {experiment}")
        from azureml._restclient.models import QueryParamsDto  # the SDK's model, loaded when a query arrives

        query = bind(request.body, QueryParamsDto)
        try:
            predicate = parse_filter(query.get("filter"))
            key, descending = parse_order(query.get("orderby"))
        except QueryError as error:
            return arm_error(400, "BadRequest", str(error))
        found = sorted((run.dto() for run in self.fake.runs.values() if run.experiment == experiment),
                       key=lambda dto: dto[key], reverse=descending)
        found = [dto for dto in found if predicate(dto)]
        if self.fake.runs_token_repeats is not None:  # a broken service: the same empty page and token forever
            return json_answer(200, {"value": [], "continuationToken": self.fake.runs_token_repeats})
        start = int(query.get("continuation_token") or 0)
        size = min(query.get("top") or self.fake.runs_page_size, self.fake.runs_page_size)
        page = found[start:start + size]
        token = str(start + size) if start + size < len(found) else None
        return json_answer(200, {"value": page, "continuationToken": token})

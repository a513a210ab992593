"""StopComputeTimer and StartComputeTimer, each tick: one implementation with a direction, over ARM REST alone.

Nothing here imports the retired SDK: the identity's tokens come from shared.tokens, the workspace is its resource
id (from the AML_* settings, or discovered in AML_COMPUTE_SCOPES), and every call is ARM's (shared.fleet).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

import azure.functions as func

from shared import clock, transport
from shared.arm import ArmClient
from shared.compute import Result
from shared.fleet import power_tick
from shared.functions import START_COMPUTE, STOP_COMPUTE, Function
from shared.hostconfig import Deadline
from shared.pacing import Pacing
from shared.scopes import Scope
from shared.selection import Rules
from shared.settings import QUEUE, ComputeSettings, ConfigError, load_compute_settings, load_occurrences
from shared.timers import open_tick, start_retries
from shared.tokens import signed_in


def stop_compute_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None) -> list[Result] | None:
    """StopComputeTimer: stop the selected running compute instances (None: not a local occurrence)."""
    return compute_tick(STOP_COMPUTE, timer, env)


def start_compute_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None) -> list[Result] | None:
    """StartComputeTimer: start the stopped instances that carry START_COMPUTE_TAG (None: not a local occurrence)."""
    return compute_tick(START_COMPUTE, timer, env)


def compute_tick(function: Function, timer: func.TimerRequest, env: Mapping[str, str] | None) -> list[Result] | None:
    deadline = Deadline.of_invocation(clock.monotonic())
    env = os.environ if env is None else env
    settings = load_compute_settings(env, function.power.action.verb)
    tick = open_tick(function.name, timer, settings.schedule, settings.local, settings.max_late)
    if tick is None:
        return None
    if settings.fanout == QUEUE:  # the queue workers do the work, one message per subscription (shared.fanout)
        from shared.fanout import enqueue_compute

        enqueue_compute(function, tick, settings)
        return None
    extra = _hours_to_start(env, tick.scheduled) if function is STOP_COMPUTE and settings.cost_currency else {}
    if settings.scopes:  # the fleet of AML_COMPUTE_SCOPES: each scope and workspace isolated
        scopes, isolate = settings.scopes, True
    else:
        azure = settings.azure
        scopes, isolate = [Scope(azure.subscription_id, azure.resource_group, azure.workspace_name)], False
    return act(function, settings, scopes, isolate, deadline, extra)


def act(function: Function, settings: ComputeSettings, scopes, isolate: bool, deadline: Deadline,
        extra: dict[str, object], pacing: Pacing | None = None) -> list[Result]:
    """The compute work of a tick (or of a worker's share of one): sign in, then discover, list and act."""
    policy = start_retries(settings.azure, deadline)
    transport.use_pool(settings.concurrency)
    rules = Rules(function.power.action, settings.include, settings.exclude, settings.tag)
    azure = settings.azure
    with signed_in(azure, deadline) as tokens:
        client = ArmClient(azure.endpoints.resource_manager, tokens, deadline, pacing)
        return power_tick(client, policy, scopes, rules, settings.dry_run, isolate, settings.cost_currency, extra,
                          settings.concurrency)


def _hours_to_start(env: Mapping[str, str], moment: datetime) -> dict[str, float]:
    """How long what this stop tick stops stays off, if StartComputeTimer is scheduled: the hours to its next
    occurrence (`hours_to_start=`, for the estimate of what a night saves)."""
    if not (env.get(START_COMPUTE.schedule) or "").strip():
        return {}
    try:
        following = load_occurrences(START_COMPUTE, env).following(moment)
    except ConfigError:
        return {}  # StartComputeTimer reports its own settings; the stop tick only goes without the figure
    return {"hours_to_start": round((following - moment).total_seconds() / 3600, 1)} if following else {}

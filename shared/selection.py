"""Which compute instances to stop or start: a pure function of plain data, testable without any Azure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class PowerAction:
    """One direction of the chore, in words the logs and the summary use."""

    verb: str  # the ARM action: POST .../computes/{name}/{verb}
    acts_on: str  # the only state the action is taken in
    settles_to: frozenset[str]  # states that mean the action happened (after a refusal: someone else did it)
    done: str  # the instance's `action` when the service took the request
    dry: str  # ... in a dry run
    not_ready: str  # the skip reason for every other state
    tag_reason: str  # the skip reason the tag rule gives
    tag_opts_in: bool  # False: carrying the tag exempts the instance (stop); True: only carrying it selects (start)
    default_tag: tuple[str, str]  # the tag rule when its setting is absent
    # States with a skip reason of their own: an instance running a job is busy, not off.
    busy: tuple[tuple[str, str], ...] = (("JobRunning", "job_running"),)

    def not_ready_reason(self, state: str) -> str:
        """The skip reason of an instance in `state`, which is not the one the action is taken in."""
        return dict(self.busy).get(state, self.not_ready)

    @property
    def meanwhile(self) -> str:
        """The skip reason when someone else did it between the list and our request."""
        return f"{self.done}_meanwhile"


STOP = PowerAction("stop", "Running", frozenset({"Stopping", "Stopped"}), "stopped", "would_stop", "not_running",
                   "exempt_tag", tag_opts_in=False, default_tag=("autostop", "false"))
START = PowerAction("start", "Stopped", frozenset({"Starting", "Running"}), "started", "would_start", "not_stopped",
                    "not_tagged", tag_opts_in=True, default_tag=("autostart", "true"))


@dataclass(frozen=True)
class Instance:
    """A compute instance as the list call reports it, and the workspace it is in."""

    name: str
    state: str
    tags: Mapping[str, str] = field(default_factory=dict)
    workspace: str = ""
    vm_size: str = ""
    region: str = ""


@dataclass(frozen=True)
class Rules:
    """Include/exclude patterns (empty include = all), the tag rule, and which way the power goes."""

    action: PowerAction = STOP
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tag: tuple[str, str] = ("autostop", "false")


@dataclass(frozen=True)
class Decision:
    """`action` is the verb (with reason `running`/`stopped`) or `skip` with the first reason that applies."""

    name: str
    state: str
    action: str
    reason: str
    workspace: str = ""


def _matches(instance: Instance, patterns: Iterable[str]) -> bool:
    # Compute and workspace names are case-insensitive in Azure, so patterns are too. A pattern with a '/'
    # matches `workspace/instance`, any other the instance name.
    qualified = f"{instance.workspace}/{instance.name}".lower()
    return any(fnmatchcase(qualified if "/" in pattern else instance.name.lower(), pattern.lower())
               for pattern in patterns)


def _carries(tags: Mapping[str, str], tag: tuple[str, str]) -> bool:
    key, value = (part.lower() for part in tag)
    return any(k.lower() == key and str(v).strip().lower() == value for k, v in tags.items())


def decide(instance: Instance, rules: Rules) -> Decision:
    """Exclusion wins over inclusion, then the tag rule, then the state: only `acts_on` is acted on."""
    action = rules.action
    if _matches(instance, rules.exclude):
        reason = "excluded"
    elif rules.include and not _matches(instance, rules.include):
        reason = "not_included"
    elif _carries(instance.tags, rules.tag) != action.tag_opts_in:
        reason = action.tag_reason
    elif instance.state != action.acts_on:
        reason = action.not_ready_reason(instance.state)
    else:
        return Decision(instance.name, instance.state, action.verb, action.acts_on.lower(), instance.workspace)
    return Decision(instance.name, instance.state, "skip", reason, instance.workspace)


def unmatched(patterns: Iterable[str], instances: Iterable[Instance]) -> list[str]:
    """The patterns no instance matches (a typo such as `ws-dem/*` for `ws-demo/*` selects nothing, silently)."""
    listed = list(instances)
    return [pattern for pattern in patterns if not any(_matches(instance, [pattern]) for instance in listed)]


def select(instances: Iterable[Instance], rules: Rules) -> list[Decision]:
    """One decision per instance, sorted by workspace and name so logs read the same every tick."""
    ordered = sorted(instances, key=lambda item: (item.workspace.lower(), item.name.lower()))
    return [decide(instance, rules) for instance in ordered]

"""Which compute instances to stop: a pure function of plain data, testable without any Azure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

RUNNING = "Running"


@dataclass(frozen=True)
class Instance:
    """A compute instance as the list call reports it."""

    name: str
    state: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    """STOP_COMPUTE_INCLUDE / _EXCLUDE patterns (empty include = all) and the exempting tag."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exempt_tag: tuple[str, str] = ("autostop", "false")


@dataclass(frozen=True)
class Decision:
    """`stop` with reason `running`, or `skip` with the first reason that keeps the instance running."""

    name: str
    state: str
    action: str
    reason: str


def _matches(name: str, patterns: Iterable[str]) -> bool:
    # Compute names are case-insensitive in Azure, so patterns are too.
    return any(fnmatchcase(name.lower(), pattern.lower()) for pattern in patterns)


def _is_exempt(tags: Mapping[str, str], exempt_tag: tuple[str, str]) -> bool:
    key, value = (part.lower() for part in exempt_tag)
    return any(k.lower() == key and str(v).strip().lower() == value for k, v in tags.items())


def decide(instance: Instance, rules: Rules) -> Decision:
    """Exclusion wins over inclusion, then the exempt tag, then the state: only `Running` is stopped."""
    if _matches(instance.name, rules.exclude):
        reason = "excluded"
    elif rules.include and not _matches(instance.name, rules.include):
        reason = "not_included"
    elif _is_exempt(instance.tags, rules.exempt_tag):
        reason = "exempt_tag"
    elif instance.state != RUNNING:
        reason = "not_running"
    else:
        return Decision(instance.name, instance.state, "stop", "running")
    return Decision(instance.name, instance.state, "skip", reason)


def select(instances: Iterable[Instance], rules: Rules) -> list[Decision]:
    """One decision per instance, sorted by name so logs read the same every tick."""
    return [decide(instance, rules) for instance in sorted(instances, key=lambda item: item.name.lower())]

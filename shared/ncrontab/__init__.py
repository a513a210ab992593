"""Six-field NCRONTAB schedules as the Functions host reads them (NCrontab 3.3.3 semantics): the engine.

The ground floor: it imports nothing of the app but the basement (errors, clock). `engine` parses, matches and steps
through a schedule, `fields` holds the six fields' ranges and names, `describe` says a schedule in plain English.
The command-line tool that uses it (`python -m shared.schedule`) sits on the top floor.
"""

from shared.ncrontab.describe import collapse_runs, join
from shared.ncrontab.engine import Schedule, ScheduleError, parse, resolve_settings, validate

__all__ = ["Schedule", "ScheduleError", "collapse_runs", "join", "parse", "resolve_settings", "validate"]

"""Six-field NCRONTAB schedules as the Functions host reads them (the engine), and `python -m shared.schedule`.

The engine (`ncrontab`, `fields`, `describe`) is the ground floor: it imports nothing of the app but the basement
(errors, clock). The command-line tool (`cli`, run by `__main__`) is the top floor: it reads settings and local time,
which build on the engine; nothing below imports it.
"""

from shared.schedule.describe import collapse_runs
from shared.schedule.ncrontab import Schedule, ScheduleError, parse, resolve_settings, validate

__all__ = ["Schedule", "ScheduleError", "collapse_runs", "parse", "resolve_settings", "validate"]

"""The six NCRONTAB fields: their ranges and the English names NCrontab accepts for months and weekdays."""

from __future__ import annotations

from dataclasses import dataclass

MONTHS = (  # spelled out: calendar.month_name follows the locale, NCrontab does not
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        return self.name.replace("-", " ")


FIELDS = (
    Field("second", 0, 59),
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day", 1, 31),
    Field("month", 1, 12, MONTHS),
    Field("day-of-week", 0, 6, DAYS),
)


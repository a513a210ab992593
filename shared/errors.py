"""The family of the app's own errors: each one is a message for the operator, not a stack trace.

Every error the app raises on purpose (a bad setting, a schedule the host would reject, a sign-in that failed, a
pipeline that is gone, instances that could not be stopped) derives from `AppError`: its text already says what went
wrong and what to check, so the runner prints it without a traceback and code that isolates failures can catch the
whole family at once. Imports nothing: every floor of the app may use it.
"""

from __future__ import annotations


class AppError(Exception):
    """An error whose message is written for the operator: it names the setting, resource or call concerned."""

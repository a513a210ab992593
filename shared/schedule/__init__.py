"""`python -m shared.schedule`: the schedule tool (check, next, from-local, week, jobs), on the top floor.

It reads settings, local time and the NCRONTAB engine (shared.ncrontab); nothing of the app imports it.
"""

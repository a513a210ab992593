"""Everything a tick executes: settings, sign-in, workspace lookup and discovery, pipelines and run history, compute
selection and power actions, schedules and local time, retries, log lines. Deployed; imports no test or tool code."""

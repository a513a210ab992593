"""Logic shared by the timer functions: settings, auth, workspace lookup, pipelines, computes, schedules."""

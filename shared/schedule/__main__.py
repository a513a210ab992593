"""`python -m shared.schedule`: see shared.schedule.cli."""

from shared import closedpipe
from shared.schedule.cli import main

raise SystemExit(closedpipe.run(main))

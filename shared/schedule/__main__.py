"""`python -m shared.schedule`: see shared.schedule.cli."""

from shared.schedule.cli import main

raise SystemExit(main())

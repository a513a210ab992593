"""`python -m localrun FUNCTION [...]`: see localrun.cli."""

from localrun.cli import main
from shared import closedpipe

raise SystemExit(closedpipe.run(main))

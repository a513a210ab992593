"""`python -m localrun FUNCTION [...]`: see localrun.cli."""

from localrun.cli import main

raise SystemExit(main())

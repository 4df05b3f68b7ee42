"""`python -m advcat` runs the command-line interface."""

from advcat.cli.main import main

raise SystemExit(main())

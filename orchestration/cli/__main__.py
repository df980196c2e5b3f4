"""`python -m orchestration.cli`: the `cwh` command line without its entry-point script."""

from orchestration.cli import main

main()

"""`python -m clearsight` runs the command line."""

from clearsight.cli import main

main()

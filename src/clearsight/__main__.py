"""`python -m clearsight` runs the command line."""

from clearsight.cli import main

if __name__ == "__main__":  # worker processes (spawned) import this module without running the command
    main()

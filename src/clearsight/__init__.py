"""clearsight: integrity analytics for open government data."""

__version__ = "0.1.0"

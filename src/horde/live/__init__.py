"""Live views of a running run: the web dashboard (``--ui``)."""

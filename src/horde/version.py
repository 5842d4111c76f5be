"""horde's version, in a module of its own so anything can import it without cycles."""

__version__ = "0.1.0"

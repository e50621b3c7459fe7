"""wasabi's version (a leaf module: the artifact format keys compiled code with it)."""
__version__ = "0.1.0"

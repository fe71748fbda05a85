"""revOS: turns LinkedIn engagement into captured leads."""

__version__ = "0.1.0"

"""Bangkom: JSON API for Indonesian civil-service competency development."""

__version__ = "0.1.0"

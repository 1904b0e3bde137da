"""LMS sync: the change log and its feed."""

"""Learning: learners, and later enrolments, progress, attendance, certificates."""

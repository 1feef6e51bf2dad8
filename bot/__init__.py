"""readiness-bot: production-readiness checklists as issues that keep themselves true."""

__version__ = "0.1.0"  # the one place the version is written (pyproject reads it)

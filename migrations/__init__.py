"""Alembic migrations, installed as the package `bot.migrations` (see pyproject) for installed bots."""

"""The shipped checklist templates, installed as package data `bot.checklists` (see pyproject)."""

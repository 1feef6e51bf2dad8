"""Queries on the encrypted secrets table (the encryption itself is `bot.secrets`)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.store.models import StoredSecret


def secret_names(session: Session) -> list[str]:
    return list(session.exec(select(StoredSecret.name)).all())


def any_secret(session: Session) -> bool:
    return session.exec(select(StoredSecret.name).limit(1)).first() is not None

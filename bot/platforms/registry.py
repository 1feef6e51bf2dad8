"""The platforms the bot serves: one `PlatformSpec` per platform package, registered once here.

The receiver mounts `/webhooks/<name>` for each, the dispatcher normalises with each one's parser,
start-up checks each one's settings and the factory builds each configured client. Adding a
platform is its package and one entry in `_BUILTIN`.
"""

from __future__ import annotations

from bot.platforms.github.spec import SPEC as GITHUB
from bot.platforms.gitlab.spec import SPEC as GITLAB
from bot.platforms.spec import PlatformSpec

_BUILTIN = (GITHUB, GITLAB)
PLATFORMS: dict[str, PlatformSpec] = {}
# Where a platform the registry does not know (the in-memory test double) looks for CODEOWNERS.
ANY_CODEOWNERS = tuple(dict.fromkeys(path for spec in _BUILTIN for path in spec.codeowners_locations))


class UnknownPlatform(KeyError):
    """No platform of this name is registered: a caller's bug, never a sender's."""


def register(spec: PlatformSpec) -> None:
    PLATFORMS[spec.name] = spec


def spec_for(name: str) -> PlatformSpec:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise UnknownPlatform(name) from None


def codeowners_locations(name: str) -> tuple[str, ...]:
    found = PLATFORMS.get(name)
    return found.codeowners_locations if found is not None else ANY_CODEOWNERS


for _spec in _BUILTIN:
    register(_spec)

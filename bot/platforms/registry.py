"""The platforms the bot serves: one `PlatformSpec` per platform package, registered once here.

The receiver mounts `/webhooks/<name>` for each, the dispatcher normalises with each one's parser,
`load_settings` reads each one's settings model from the environment, start-up checks them and
the factory builds each configured client. Adding a platform is its package and one entry in
`_BUILTIN`; a platform's name (`bot.core.events.Platform`) is valid exactly when it is registered.
"""

from __future__ import annotations

from bot.config import declare_platform_settings
from bot.core.events import Platform
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
    declare_platform_settings(spec.name, spec.settings)


def unregister(name: str) -> None:
    """Forget a platform (tests that register one of their own)."""
    PLATFORMS.pop(name, None)
    declare_platform_settings(name, None)


def platform_named(name: str) -> Platform:
    """The platform called `name` (a command-line option, a stored row); UnknownPlatform if none is."""
    return spec_for(name).platform


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

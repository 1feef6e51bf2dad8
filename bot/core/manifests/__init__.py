"""Dependency manifests and lock files of every ecosystem, parsed into normalised package names."""

from bot.core.manifests.base import ECOSYSTEMS, MANIFEST_GLOBS, Manifest, normalise, parse_manifest

__all__ = ["ECOSYSTEMS", "MANIFEST_GLOBS", "Manifest", "normalise", "parse_manifest"]

"""The session's reload batches, for those who follow them (the workers of a cluster).

Every host (the IPython extension, ``fastautoreload.reload``, the plain prompt and
scripts) reloads through ``ModuleReloader``, which publishes here what each check
reloaded: the exact bytes each module was compiled from, never a failed version.
Followers are called in the session's thread, after the session's own reloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Source(NamedTuple):
    """One module as the session reloaded it."""

    module: str
    path: str
    """The session's file, which other machines may not have."""
    source: bytes
    """The exact bytes the session compiled."""


class Batch(NamedTuple):
    """What one check reloaded, in the order it reloaded it."""

    sources: tuple[Source, ...]
    forced: frozenset[str] = frozenset()
    """Reloaded whole on request (``%autoreload now m``, ``fastautoreload.reload``)."""
    full: bool = False
    """The session runs whole modules (``--full``)."""


Follower = Callable[[Batch], None]

_followers: list[Follower] = []
_latest: dict[str, Source] = {}
"""Each module's last reloaded source, for followers that start later."""


def follow(follower: Follower) -> None:
    """Call ``follower`` with every batch from now on."""
    if follower not in _followers:
        _followers.append(follower)


def unfollow(follower: Follower) -> None:
    if follower in _followers:
        _followers.remove(follower)


def followers() -> tuple[Follower, ...]:
    return tuple(_followers)


def latest() -> Batch:
    """Every module reloaded so far, as its last reloaded source."""
    return Batch(tuple(_latest.values()))


def record(events, policy) -> Batch | None:
    """The batch of a check's events (None when nothing reloaded), remembered."""
    sources = tuple(
        Source(event.module, event.path, event.source)
        for event in events
        if event.kind == "reloaded" and event.source is not None
    )
    if not sources:
        return None
    for source in sources:
        _latest.pop(source.module, None)  # last reloaded last
        _latest[source.module] = source
    return Batch(sources, frozenset(policy.forced), policy.full)

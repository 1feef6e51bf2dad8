"""File contents cached by git blob sha: a blob's content never changes, so a push that leaves a
file alone costs no read of it, on any platform."""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class BlobCache:
    """A byte-bounded LRU, safe to use from the evaluation thread and the event loop alike."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[str, str], bytes | None] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, repo: str, sha: str) -> tuple[bool, bytes | None]:
        with self._lock:
            key = (repo, sha)
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return True, self._data[key]
            self.misses += 1
            return False, None

    def put(self, repo: str, sha: str, content: bytes | None) -> None:
        size = len(content or b"")
        if size > self.max_bytes:
            return
        with self._lock:
            key = (repo, sha)
            if key in self._data:
                return
            self._data[key] = content
            self._size += size
            while self._size > self.max_bytes:
                _, old = self._data.popitem(last=False)
                self._size -= len(old or b"")

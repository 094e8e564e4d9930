"""Walking a directory tree that hostile code controls: iterative, bounded, never following a
link, with a bounded number of open descriptors whatever the depth.

The code in a session can make a tree 100,000 levels deep, a directory of millions of entries,
or swap a directory for a symlink while we look. So the walk

- keeps an explicit stack (no recursion: no `RecursionError`, as `os.fwalk` and
  `shutil.rmtree` give past ~1000 levels);
- holds at most `_OPEN_DESCRIPTORS` directory descriptors: shallower ones are closed and, when
  the walk climbs back, reopened from the nearest open ancestor, one `openat(O_NOFOLLOW)` per
  level, never through a path string;
- stops at `WalkLimits` (entries, depth, time) and says which one cut it.

It is blocking: callers on the event loop run it in a thread.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_DESCRIPTORS = 16
_CLOCK_EVERY = 256  # entries between two looks at the clock


@dataclass(frozen=True)
class WalkLimits:
    max_entries: int | None = 100_000
    max_depth: int | None = 64
    """Levels below the start that are entered (1: its direct entries only)."""
    time_limit: float | None = 10.0


@dataclass
class _Level:
    name: str  # relative to the level above
    path: str  # relative to the start of the walk
    depth: int
    fd: int | None
    subdirectories: list[str] = field(default_factory=list)


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class TreeWalk:
    """Iterate for (path relative to the start, lstat result), parents before their contents;
    afterwards `truncated` says why the walk stopped early (None: it saw everything).

    `start_fd` stays the caller's to close.
    """

    def __init__(self, start_fd: int, limits: WalkLimits = WalkLimits(), *, prefix: str = ""):
        self.start_fd = start_fd
        self.limits = limits
        self.prefix = prefix
        self.truncated: str | None = None
        self.count = 0

    def __iter__(self) -> Iterator[tuple[str, os.stat_result]]:
        limits = self.limits
        self._deadline = None if limits.time_limit is None else time.monotonic() + limits.time_limit
        self._stack = [_Level("", self.prefix, 0, self.start_fd)]
        self._owned: set[int] = set()  # descriptors we opened (not the caller's start_fd)
        self._depth_cut = False
        try:
            yield from self._scan(self._stack[0])
            while self._stack:
                yield from self._step()
            if self._depth_cut:
                self.truncated = (
                    f"directories deeper than {limits.max_depth} levels were not entered"
                )
        except _Stop as stop:
            self.truncated = stop.reason
        finally:
            for fd in self._owned:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._owned.clear()

    def _step(self) -> Iterator[tuple[str, os.stat_result]]:
        level = self._stack[-1]
        if not level.subdirectories:
            self._stack.pop()
            if self._stack:  # the start descriptor is the caller's
                self._close(level)
            return
        name = level.subdirectories.pop()
        parent_fd = self._descriptor(len(self._stack) - 1)
        if parent_fd is None:
            return  # the parent vanished or became a link meanwhile
        try:
            fd = os.open(name, DIRECTORY_FLAGS, dir_fd=parent_fd)
        except OSError:
            return  # removed, replaced by a link or unreadable: nothing to list there
        self._owned.add(fd)
        path = f"{level.path}/{name}" if level.path else name
        self._stack.append(_Level(name, path, level.depth + 1, fd))
        self._close_shallow()
        yield from self._scan(self._stack[-1])

    def _scan(self, level: _Level) -> Iterator[tuple[str, os.stat_result]]:
        assert level.fd is not None
        limits = self.limits
        descend = limits.max_depth is None or level.depth + 1 < limits.max_depth
        with os.scandir(level.fd) as listing:
            for entry in listing:
                if limits.max_entries is not None and self.count >= limits.max_entries:
                    raise _Stop(f"more than {limits.max_entries:,} entries")
                if self.count % _CLOCK_EVERY == 0 and self._out_of_time():
                    raise _Stop(f"listing took longer than {limits.time_limit:g} s")
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # removed by the running code meanwhile
                if stat.S_ISDIR(info.st_mode):
                    if descend:
                        level.subdirectories.append(entry.name)
                    else:
                        self._depth_cut = True
                self.count += 1
                yield (f"{level.path}/{entry.name}" if level.path else entry.name), info
        level.subdirectories.reverse()  # visited in the order listed

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() > self._deadline

    def _descriptor(self, index: int) -> int | None:
        """The open descriptor of `_stack[index]`, reopened from the nearest open ancestor."""
        if self._stack[index].fd is not None:
            return self._stack[index].fd
        above = index
        while self._stack[above].fd is None:
            above -= 1
        fd = self._stack[above].fd
        for level in self._stack[above + 1 : index + 1]:
            try:
                level.fd = os.open(level.name, DIRECTORY_FLAGS, dir_fd=fd)
            except OSError:
                self._stack[index].subdirectories.clear()
                return None
            self._owned.add(level.fd)
            fd = level.fd
        return fd

    def _close_shallow(self) -> None:
        """Keep at most `_OPEN_DESCRIPTORS` open: close the shallowest (never the start's)."""
        open_levels = [level for level in self._stack[1:-1] if level.fd is not None]
        for level in open_levels[: max(0, len(open_levels) + 1 - _OPEN_DESCRIPTORS)]:
            self._close(level)

    def _close(self, level: _Level) -> None:
        if level.fd is not None and level.fd in self._owned:
            self._owned.discard(level.fd)
            os.close(level.fd)
        level.fd = None

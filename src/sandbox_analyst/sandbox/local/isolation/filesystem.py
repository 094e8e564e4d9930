"""The worker's view of the filesystem, built in its own mount namespace.

Starting from a private copy of the host's mounts:

1. every mount becomes read-only and nosuid (one recursive mount_setattr reaches /proc, /dev...);
2. sensitive directories (homes, /run, the data dir, the config dir...) are covered by an empty
   read-only tmpfs, so other sessions' workdirs and the server's secrets simply do not exist;
3. /tmp, /var/tmp and /dev/shm become fresh private tmpfs, writable, sized by the disk quota;
4. read-only paths that lived under a covered directory (an interpreter under /root/.pyenv, a
   virtualenv under /tmp) are bound back at the same place, read-only;
5. the session workdir is bound, writable, at a fixed path (`/home/user`): code and replayed
   cells see the same absolute path in every session, and the host layout stays invisible;
   the same workdir is also bound at `/mnt/data` (the path LibreChat's and OpenAI's code
   interpreters tell the model its files are in), inside the empty tmpfs that hides /mnt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sandbox_analyst.sandbox.local.isolation import libc
from sandbox_analyst.sandbox.local.isolation.allowed_paths import (
    PRIVATE_TMP_DIRS,
    SENSITIVE_DIRS,
    is_within,
    minimal,
)

_HIDE_OPTIONS = "size=1m,mode=0755"
_WORKDIR_CANDIDATES = ("/home/user", "/home/sandbox", "/home/analyst-sandbox")
WORKDIR_ALIASES = ("/mnt/data",)


def _depth(path: str) -> int:
    return path.rstrip("/").count("/")


@dataclass(frozen=True)
class MountPlan:
    hidden: tuple[str, ...]
    """Directories covered by an empty read-only tmpfs."""
    private: tuple[str, ...]
    """Directories covered by a fresh writable tmpfs."""
    rebind: tuple[str, ...]
    """Read-only paths under a covered directory, bound back where they were."""
    workdir_target: str
    tmpfs_size_mb: int
    workdir_aliases: tuple[str, ...] = ()
    """More places the workdir is bound at: those of `WORKDIR_ALIASES` inside a hidden
    directory (where a mountpoint can be made without touching the host)."""

    @classmethod
    def build(cls, *, hidden: tuple[str, ...], read_paths: tuple[str, ...], tmpfs_size_mb: int):
        """Resolve what to cover and what to bind back, once, in the zygote."""
        private = tuple(p for p in PRIVATE_TMP_DIRS if os.path.isdir(p) and not os.path.islink(p))
        covered_dirs = {
            os.path.realpath(path)
            for path in (*SENSITIVE_DIRS, *hidden)
            if os.path.isdir(path) and os.path.realpath(path) != "/"
        }
        covers = minimal((*covered_dirs, *private))
        rebind = minimal(
            path
            for path in read_paths
            if any(is_within(path, cover) and path != cover for cover in covers)
        )
        # A hidden directory inside a covered one vanishes with it, unless it sits inside a path
        # that is bound back: then it needs its own tmpfs, mounted after that bind.
        kept_hidden = tuple(
            sorted(
                path
                for path in covered_dirs
                if path not in private
                and (
                    not any(is_within(path, c) and path != c for c in covers)
                    or any(is_within(path, r) for r in rebind)
                )
            )
        )
        target = next(
            candidate
            for candidate in _WORKDIR_CANDIDATES
            if not any(is_within(path, candidate) for path in (*rebind, *kept_hidden))
        )
        home_covered = any(is_within("/home", cover) for cover in covers)
        if not home_covered:  # no /home on this host: nowhere to create the mountpoint
            target = ""
        aliases = tuple(
            alias
            for alias in WORKDIR_ALIASES
            if target
            and any(is_within(alias, hidden) and alias != hidden for hidden in kept_hidden)
            and not any(is_within(alias, path) or is_within(path, alias) for path in rebind)
        )
        return cls(kept_hidden, private, rebind, target, tmpfs_size_mb, aliases)

    def visible_workdir(self, workdir: str) -> str:
        return self.workdir_target or os.path.realpath(workdir)

    def apply(self, workdir: str) -> str:
        """Rebuild the view inside the (already unshared) mount namespace; returns where the
        workdir is visible."""
        # Our changes must never propagate back to the host's mount table.
        libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE, None)
        sources = {path: _open_path(path) for path in self.rebind if os.path.lexists(path)}
        workdir_fd = _open_path(os.path.realpath(workdir))
        try:
            libc.mount_setattr(
                "/", set_=libc.MOUNT_ATTR_RDONLY | libc.MOUNT_ATTR_NOSUID, recursive=True
            )
            target = self.visible_workdir(workdir)
            steps: list[tuple[int, int, str, str]] = [
                *((_depth(p), 0, "hide", p) for p in self.hidden),
                *((_depth(p), 0, "private", p) for p in self.private),
                *((_depth(p), 1, "rebind", p) for p in sources),
                (_depth(target), 2, "workdir", target),
                *((_depth(alias), 2, "workdir", alias) for alias in self.workdir_aliases),
            ]
            for _, _, kind, path in sorted(steps):
                if kind == "hide":
                    libc.mount("tmpfs", path, "tmpfs", _TMPFS_FLAGS, _HIDE_OPTIONS)
                elif kind == "private":
                    size = f"size={self.tmpfs_size_mb}m,mode=1777"
                    libc.mount("tmpfs", path, "tmpfs", _TMPFS_FLAGS, size)
                elif kind == "rebind":
                    _bind(sources[path], path)
                    ro = libc.MOUNT_ATTR_RDONLY | libc.MOUNT_ATTR_NOSUID
                    libc.mount_setattr(path, set_=ro, recursive=True)
                else:
                    _bind(workdir_fd, path)
                    libc.mount_setattr(
                        path,
                        set_=libc.MOUNT_ATTR_NOSUID | libc.MOUNT_ATTR_NODEV,
                        clear=libc.MOUNT_ATTR_RDONLY,
                    )
            # Only now, with every mountpoint created, may the covering tmpfs turn read-only.
            for path in self.hidden:
                libc.mount_setattr(path, set_=libc.MOUNT_ATTR_RDONLY)
        finally:
            for fd in (*sources.values(), workdir_fd):
                os.close(fd)
        return target


_TMPFS_FLAGS = libc.MS_NOSUID | libc.MS_NODEV


def _open_path(path: str) -> int:
    return os.open(path, os.O_PATH | os.O_CLOEXEC)


def _bind(source_fd: int, target: str) -> None:
    """Bind what `source_fd` points at onto `target`, creating the mountpoint as needed. The fd
    was opened before the covering tmpfs hid the source path; MS_REC keeps submounts (and is
    required inside a user namespace)."""
    is_dir = os.path.isdir(f"/proc/self/fd/{source_fd}")
    _make_mountpoint(target, is_dir)
    libc.mount(f"/proc/self/fd/{source_fd}", target, None, libc.MS_BIND | libc.MS_REC, None)


def _make_mountpoint(target: str, is_dir: bool) -> None:
    parent = os.path.dirname(target) if not is_dir else target
    missing = []
    while not os.path.exists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        os.mkdir(directory)
        os.chmod(directory, 0o755)  # whatever the umask: a dropped uid must traverse it
    if not is_dir and not os.path.exists(target):
        with open(target, "x"):
            pass

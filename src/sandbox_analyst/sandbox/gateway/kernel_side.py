"""Runs inside a Jupyter kernel (ipykernel) behind the gateway, as the module
`_sandbox_analyst_kernel`: the local backend's figure and display conventions, per-execution
environment variables, shell commands, memory figures, and the file operations that the gateway
has no API for.

Self-contained on purpose (standard library; matplotlib only once user code imports it): the
provider sends this file's source to any ipykernel when a session starts, so a plain kernel
needs nothing of ours installed. The kernel image installs it as a module and makes it
matplotlib's backend (`MPLBACKEND=module://_sandbox_analyst_kernel`).

How the provider talks to it: every execute request it sends carries the key `sandbox_analyst`
in the message metadata (environment variables for that execution, or an operation and its
arguments), and what comes back rides in the execute reply's metadata under the same key. The
kernel's `init_metadata` / `finish_metadata` hooks, which ipykernel runs around every execute
request, are wrapped for that. Requests without the key (another client's) are left alone.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import io
import json
import os
import resource
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from typing import Any

VERSION = "2"
KEY = "sandbox_analyst"
# Holds the session's settings, so a restarted kernel (or another server process) finds its
# session again; its absence after a restart means the workdir did not survive. It lies beside
# the workdir (in `session_dir`, on the same file system) so that the code never sees it; a
# kernel with no `session_dir` works in its start directory and keeps the marker there.
MARKER = ".sandbox-analyst-session"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LIST_LIMIT = 20_000


class _Refused(Exception):
    """A file operation that must not happen; reported to the provider, never raised in the
    user's view."""

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path


class _State:
    def __init__(self) -> None:
        self.shell: Any = None
        self.kernel: Any = None
        self.start_dir = os.getcwd()
        self.workdir: str | None = None
        self.dpi = 100
        self.peak = 0
        self.quota: int | None = None
        self.shown: set[int] = set()
        self.request: dict[str, Any] | None = None
        self.reply: dict[str, Any] = {}
        self.saved_env: dict[str, str | None] = {}
        self.cpu_at_begin = 0.0
        self.uploads: dict[str, dict[str, Any]] = {}


_state = _State()


# --- installation --------------------------------------------------------------------------


def install(config: dict[str, Any]) -> dict[str, Any]:
    """Hook into the running kernel (idempotent). `config`: figure_dpi, threads, quota."""
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        raise RuntimeError("the sandbox bootstrap needs an IPython kernel (ipykernel)")
    _state.shell, _state.kernel = shell, kernel
    _state.dpi = int(config.get("figure_dpi", 100))
    quota = config.get("quota_bytes")
    _state.quota = int(quota) if quota else None
    threads = str(config.get("threads", 1))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, threads)
    _install_metadata_hooks(kernel)
    _install_figures(shell)
    return {"version": VERSION, "pid": os.getpid()}


def _install_metadata_hooks(kernel: Any) -> None:
    # Bound to the class's methods, not the instance's: installing twice must not chain.
    init_original = type(kernel).init_metadata.__get__(kernel)
    finish_original = type(kernel).finish_metadata.__get__(kernel)

    def init_metadata(parent: dict[str, Any]) -> dict[str, Any]:
        metadata = init_original(parent)
        request = (parent.get("metadata") or {}).get(KEY)
        if isinstance(request, dict):
            _begin(request)
        return metadata

    def finish_metadata(
        parent: dict[str, Any], metadata: dict[str, Any], reply_content: dict[str, Any]
    ) -> dict[str, Any]:
        metadata = finish_original(parent, metadata, reply_content)
        request = (parent.get("metadata") or {}).get(KEY)
        if isinstance(request, dict):
            metadata[KEY] = _end(request)
        return metadata

    kernel.init_metadata = init_metadata
    kernel.finish_metadata = finish_metadata


def _begin(request: dict[str, Any]) -> None:
    _state.cpu_at_begin = _cpu_seconds()
    _state.request = request
    _state.reply = {}
    _state.saved_env = {}
    env = request.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            _state.saved_env[str(name)] = os.environ.get(str(name))
            os.environ[str(name)] = str(value)


def _end(request: dict[str, Any]) -> dict[str, Any]:
    for name, value in _state.saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _state.saved_env = {}
    reply = dict(_state.reply)
    reply.update(_process_stats())
    reply["execution_cpu_seconds"] = max(0.0, _cpu_seconds() - _state.cpu_at_begin)
    if request.get("usage") and _state.workdir is not None:
        reply["disk_usage"] = _usage(_state.workdir)
    _state.request = None
    _state.reply = {}
    return reply


def _process_stats() -> dict[str, Any]:
    """Resident and peak memory of the kernel (plus its largest finished child), CPU time."""
    rss = peak = None
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    # ru_maxrss is in KiB on Linux, bytes on macOS; it never goes down, unlike a VmHWM that a
    # process may reset.
    scale = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    # The kernel's resident-set counters are cached per thread and may read a little lower
    # later: keep our own maximum, so that the reported peak never goes down.
    peak = _state.peak = max(_state.peak, own, peak or 0, children)
    return {
        "peak_memory_bytes": peak,
        "memory_bytes": rss if rss is not None else peak,
        "cpu_seconds": _cpu_seconds(),
        "pid": os.getpid(),
    }


def _cpu_seconds() -> float:
    """The kernel's CPU time so far, its finished subprocesses' included (as the local
    backend counts them)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


# --- figures ---------------------------------------------------------------------------------


def _install_figures(shell: Any) -> None:
    backend = "module://" + __name__
    os.environ["MPLBACKEND"] = backend
    formatter = shell.display_formatter.formatters["image/png"]
    if "matplotlib.figure" in sys.modules:
        formatter.for_type(sys.modules["matplotlib.figure"].Figure, _figure_png)
    else:
        formatter.for_type_by_name("matplotlib.figure", "Figure", _figure_png)
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use(backend, force=True)
    # ipykernel's inline backend flushes every figure after each cell, so a figure that is the
    # cell's value would appear twice; ours shows each figure once.
    for callback in list(shell.events.callbacks.get("post_execute", [])):
        if getattr(callback, "__module__", "").startswith("matplotlib_inline"):
            shell.events.unregister("post_execute", callback)
    with contextlib.suppress(ValueError):
        shell.events.unregister("post_run_cell", _end_of_cell)
    shell.events.register("post_run_cell", _end_of_cell)


def _figure_png(figure: Any) -> bytes | None:
    if not figure.axes and not figure.texts and not figure.images:
        return None  # an empty figure renders as a blank image: show only its text
    _state.shown.add(id(figure))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_state.dpi, bbox_inches="tight")
    return buffer.getvalue()


def show(*args: Any, **kwargs: Any) -> None:
    """`plt.show()`: display every open figure not yet shown in this cell, then close them."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    from IPython.display import display

    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        if id(figure) not in _state.shown:
            display(figure)
    pyplot.close("all")


def _end_of_cell(result: Any = None) -> None:
    try:
        show()
    finally:
        _state.shown.clear()


def __getattr__(name: str) -> Any:
    # matplotlib asks its backend module for these, first by attribute and then through
    # vars(): resolve them when pyplot loads us, and keep them as real attributes.
    if name == "FigureCanvas":
        from matplotlib.backends.backend_agg import FigureCanvasAgg as value
    elif name == "FigureManager":
        from matplotlib.backend_bases import FigureManagerBase as value
    else:
        raise AttributeError(name)
    globals()["FigureCanvas" if name == "FigureCanvas" else "FigureManager"] = value
    if name == "FigureCanvas":
        globals()["FigureManager"] = __getattr__("FigureManager")
    return value


# --- operations the provider calls ---------------------------------------------------------


def call() -> None:
    """Run the operation named in the current request's metadata; its outcome goes back in
    the reply's metadata. Refusals are reported, not raised; an interrupt is raised."""
    request = _state.request or {}
    operation = _OPERATIONS.get(str(request.get("op")))
    if operation is None:
        _state.reply["error"] = {"kind": "usage", "path": "", "message": "unknown operation"}
        return
    try:
        _state.reply["value"] = operation(**dict(request.get("args") or {}))
    except _Refused as refused:
        _state.reply["error"] = {
            "kind": refused.kind,
            "path": refused.path,
            "message": str(refused),
        }
    except OSError as exc:
        _state.reply["error"] = {
            "kind": "access",
            "path": str(exc.filename or ""),
            "message": exc.strerror or str(exc),
        }


def _open_session(
    sandbox_id: str, session_dir: str, session: dict[str, Any] | None
) -> dict[str, Any]:
    """Enter the session's workdir. `session` (env vars, labels...) is recorded for a new
    session; None resumes one from its marker (after a restart, or from another process)."""
    os.chdir(_state.start_dir)
    if session_dir:
        parts = [*_split(session_dir), sandbox_id]
        for index in range(len(parts)):
            with contextlib.suppress(FileExistsError):
                os.mkdir(os.path.join(*parts[: index + 1]), 0o700)
        workdir = os.path.join(_state.start_dir, *parts)
        marker = os.path.join(os.path.dirname(workdir), f".{sandbox_id}{MARKER}")
    else:
        workdir = _state.start_dir
        marker = os.path.join(workdir, MARKER)
    stored: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError), open(marker) as source:
        stored = json.load(source)
    if stored is not None and stored.get("sandbox_id") != sandbox_id:
        stored = None
    resumed = stored is not None
    if session is None:
        if stored is None:
            return {"resumed": False, "workdir": workdir}
        session = stored
    elif stored is None:
        session = {**session, "sandbox_id": sandbox_id, "created_at": time.time()}
        with open(marker, "w") as target:
            json.dump(session, target)
    else:
        session = stored
    os.chdir(workdir)
    # HOME stays the kernel's: its caches (matplotlib's font list) are built once per image,
    # not once per session.
    os.environ["PWD"] = workdir
    for name, value in dict(session.get("env") or {}).items():
        os.environ[str(name)] = str(value)
    _state.workdir = workdir
    if _state.shell is not None:
        _state.shell.home_dir = workdir
        with contextlib.suppress(Exception):
            _state.shell.user_ns["_dh"][:] = [workdir]
    return {"resumed": resumed, "workdir": workdir, "session": session}


def _end_session() -> bool:
    """Remove the session's workdir when it is a directory of its own."""
    workdir = _state.workdir
    if workdir is None or workdir == _state.start_dir:
        return False
    os.chdir(_state.start_dir)
    shutil.rmtree(workdir, ignore_errors=True)
    sandbox_id = os.path.basename(workdir)
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(os.path.dirname(workdir), f".{sandbox_id}{MARKER}"))
    _state.workdir = None
    return True


def _hello() -> dict[str, Any]:
    return {"version": VERSION, "workdir": _state.workdir, **_process_stats()}


def _run_shell(code: str, cwd: str | None = None) -> dict[str, Any]:
    """`bash -c CODE` in the workdir (or `cwd` inside it), streaming its output as the
    kernel's stdout/stderr. An interrupt kills the command's whole process group."""
    directory = _state.workdir or os.getcwd()
    if cwd:
        parts = _split(cwd)
        with _directory(parts):  # refuses links and missing directories
            pass
        directory = os.path.join(directory, *parts)
    process = subprocess.Popen(
        ["bash", "-c", code],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _forward_output(process)
        return {"exit_code": process.wait()}
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _forward_output(process: subprocess.Popen[bytes]) -> None:
    streams = {process.stdout: sys.stdout, process.stderr: sys.stderr}
    decoders = {pipe: codecs.getincrementaldecoder("utf-8")("replace") for pipe in streams}
    with selectors.DefaultSelector() as selector:
        for pipe in streams:
            selector.register(pipe, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                pipe = key.fileobj
                data = os.read(key.fd, 1 << 16)
                target = streams[pipe]
                if not data:
                    selector.unregister(pipe)
                    text = decoders[pipe].decode(b"", final=True)
                else:
                    text = decoders[pipe].decode(data)
                if text:
                    target.write(text)
                    target.flush()


# --- files -------------------------------------------------------------------------------------


def _split(path: str) -> list[str]:
    """Same rules as the local backend: no NUL, no absolute path, no `..`."""
    if not isinstance(path, str) or "\x00" in path:
        raise _Refused("escape", str(path), "not a valid path")
    if path.startswith("/"):
        raise _Refused("escape", path, "absolute paths are not allowed")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _Refused("escape", path, "'..' is not allowed")
    return parts


def _root() -> str:
    if _state.workdir is None:
        raise _Refused("usage", "", "no session is open in this kernel")
    return _state.workdir


@contextlib.contextmanager
def _directory(parts: list[str], *, create: bool = False) -> Any:
    """A descriptor of the directory `parts`, walked without following any link."""
    fd = os.open(_root(), _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise _Refused(
                        "missing", "/".join(parts), "no such directory in the workdir"
                    ) from None
                os.mkdir(part, 0o755, dir_fd=fd)
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                if _is_link(part, fd):
                    raise _Refused(
                        "escape", "/".join(parts[: index + 1]), "symbolic links are not followed"
                    ) from None
                raise _Refused("missing", "/".join(parts), "not a directory") from None
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


def _target(path: str) -> tuple[list[str], str]:
    parts = _split(path)
    if not parts:
        raise _Refused("escape", path, "a file name is required")
    return parts[:-1], parts[-1]


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _entry(path: str, name: str, info: os.stat_result) -> dict[str, Any]:
    return {
        "name": name,
        "path": path,
        "is_dir": stat.S_ISDIR(info.st_mode),
        "size": info.st_size,
        "modified": info.st_mtime,
    }


def _write_begin(path: str) -> str:
    parents, name = _target(path)
    with _directory(parents, create=True) as dir_fd:
        if _is_link(name, dir_fd):
            raise _Refused("escape", path, "symbolic links are not followed")
        temporary = f".{name}.{uuid.uuid4().hex}.part"
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=dir_fd,
        )
        token = uuid.uuid4().hex
        budget = None if _state.quota is None else _state.quota - _usage(_root())
        _state.uploads[token] = {
            "fd": fd,
            "dir_fd": os.dup(dir_fd),
            "temporary": temporary,
            "name": name,
            "path": path,
            "budget": budget,
        }
        return token


def _upload(token: str) -> dict[str, Any]:
    upload = _state.uploads.get(token)
    if upload is None:
        raise _Refused("usage", "", "unknown or finished upload")
    return upload


def _write_chunk(token: str, data: str) -> int:
    upload = _upload(token)
    chunk = base64.b64decode(data)
    if upload["budget"] is not None:
        upload["budget"] -= len(chunk)
        if upload["budget"] < 0:
            _write_abort(token)
            raise _Refused(
                "quota",
                upload["path"],
                f"writing {upload['path']!r} would exceed the workdir quota of "
                f"{_state.quota} bytes",
            )
    view = memoryview(chunk)
    while view:
        view = view[os.write(upload["fd"], view) :]
    return len(chunk)


def _write_end(token: str) -> dict[str, Any]:
    upload = _state.uploads.pop(token, None)
    if upload is None:
        raise _Refused("usage", "", "unknown or finished upload")
    dir_fd = upload["dir_fd"]
    try:
        os.close(upload["fd"])
        os.rename(upload["temporary"], upload["name"], src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        info = os.stat(upload["name"], dir_fd=dir_fd, follow_symlinks=False)
        return _entry(upload["path"], upload["name"], info)
    finally:
        os.close(dir_fd)


def _write_abort(token: str) -> bool:
    upload = _state.uploads.pop(token, None)
    if upload is None:
        return False
    with contextlib.suppress(OSError):
        os.close(upload["fd"])
    with contextlib.suppress(OSError):
        os.unlink(upload["temporary"], dir_fd=upload["dir_fd"])
    os.close(upload["dir_fd"])
    return True


def _read(path: str, offset: int, length: int) -> dict[str, Any]:
    parents, name = _target(path)
    with _directory(parents) as dir_fd:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except FileNotFoundError:
            raise _Refused("missing", path, "no such file in the workdir") from None
        except OSError:
            if _is_link(name, dir_fd):
                raise _Refused("escape", path, "symbolic links are not followed") from None
            raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Refused("access", path, "not a regular file")
        data = os.pread(fd, max(0, int(length)), max(0, int(offset)))
    finally:
        os.close(fd)
    return {"data": base64.b64encode(data).decode("ascii"), "eof": len(data) < int(length)}


def _list(path: str = ".", recursive: bool = False) -> list[dict[str, Any]]:
    parts = _split(path)
    entries: list[dict[str, Any]] = []
    with _directory(parts) as dir_fd:
        _scan(dir_fd, "/".join(parts), recursive, entries)
    entries.sort(key=lambda entry: entry["path"])
    return entries


def _scan(dir_fd: int, prefix: str, recursive: bool, entries: list[dict[str, Any]]) -> None:
    for name in os.listdir(dir_fd):
        if len(entries) >= _LIST_LIMIT:
            return
        if not prefix and name == MARKER:
            continue
        relative = f"{prefix}/{name}" if prefix else name
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed by the running code meanwhile
        entry = _entry(relative, name, info)
        entries.append(entry)
        if recursive and entry["is_dir"]:
            with contextlib.suppress(OSError):
                child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                try:
                    _scan(child, relative, recursive, entries)
                finally:
                    os.close(child)


def _remove(path: str) -> None:
    parents, name = _target(path)
    with _directory(parents) as dir_fd:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise _Refused("missing", path, "no such file in the workdir") from None
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)


def _exists(path: str) -> bool:
    parts = _split(path)
    if not parts:
        return True
    try:
        with _directory(parts[:-1]) as dir_fd:
            os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
    except (_Refused, FileNotFoundError, NotADirectoryError) as exc:
        if isinstance(exc, _Refused) and exc.kind == "escape":
            raise
        return False
    return True


def _usage(root: str) -> int:
    """Bytes used by regular files under `root` (links and special files not followed)."""
    total = 0
    for _directory_name, _dirs, files, dir_fd in os.fwalk(root):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
    return total


_OPERATIONS: dict[str, Any] = {
    "open_session": _open_session,
    "end_session": _end_session,
    "hello": _hello,
    "shell": _run_shell,
    "write_begin": _write_begin,
    "write_chunk": _write_chunk,
    "write_end": _write_end,
    "write_abort": _write_abort,
    "read": _read,
    "list": _list,
    "remove": _remove,
    "exists": _exists,
}

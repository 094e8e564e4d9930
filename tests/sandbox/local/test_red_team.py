"""Hostile code against a live pool: every probe ends with a clear error in the Execution and a
service that still works. Probes whose layer is not in force on this machine are skipped with
the reason; CI runs where every layer holds.

The pool here has tight limits so that bombs hit them quickly.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox import SandboxErrorName
from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool
from sandbox_analyst.sandbox.local.isolation import LayerName
from tests.fixtures.sandboxes import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTPUT_LIMIT = 64 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hostile_pool(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SandboxPool]:
    data_dir = tmp_path_factory.mktemp("data")
    (data_dir / "analyst.db").write_text("database with every user's secrets")
    settings = sandbox_settings(
        pool_size=2,
        memory_limit_mb=768,
        disk_quota_mb=16,
        max_processes=32,
        output_limit=OUTPUT_LIMIT,
        timeout=20.0,
        interrupt_grace=1.0,
    )
    async with SandboxPool(settings, data_dir / "sandboxes", hidden_paths=(str(data_dir),)) as pool:
        await pool.wait_ready()
        yield pool


@pytest_asyncio.fixture(loop_scope="session")
async def attacker(hostile_pool: SandboxPool) -> AsyncIterator[LocalSandbox]:
    sandbox = await hostile_pool.acquire()
    yield sandbox
    await sandbox.close()


@pytest_asyncio.fixture(loop_scope="session")
async def victim(hostile_pool: SandboxPool) -> AsyncIterator[LocalSandbox]:
    sandbox = await hostile_pool.acquire()
    await sandbox.run_code("precious = 'victim state'")
    await sandbox.files.write("private.csv", b"victim,data\n")
    yield sandbox
    await sandbox.close()


def require(pool: SandboxPool, *layers: str) -> None:
    report = pool.isolation_report
    if report is None:
        pytest.skip("isolation is switched off")
    for name in layers:
        layer = report.layer(name)
        if not layer.active:
            pytest.skip(f"{name} not in force here: {layer.detail}")


async def assert_victim_unharmed(victim: LocalSandbox) -> None:
    execution = await victim.run_code("precious")
    assert execution.text == "'victim state'"


async def test_memory_bomb_raises_memory_error_and_keeps_state(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.RLIMITS)
    await attacker.run_code("before = 'kept'")
    execution = await attacker.run_code("hog = bytearray(2 * 1024**3)")
    assert execution.error is not None
    assert execution.error.name == "MemoryError"
    assert (await attacker.run_code("before")).text == "'kept'"
    await assert_victim_unharmed(victim)


async def test_exhausting_the_cgroup_memory_is_reported_as_out_of_memory(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.CGROUPS)
    # 8 MB at a time, each page touched: the session's memory cgroup (768 MiB, which also
    # counts what the worker already holds) is full before its address space limit is.
    execution = await attacker.run_code(
        "import numpy as np\nheld = []\nfor _ in range(200):\n    held.append(np.ones(1 << 20))"
    )
    assert execution.state_lost
    message = execution.error.value
    assert "out of memory" in message
    assert "768 MiB memory limit" in message
    assert (await attacker.run_code("1 + 1")).text == "2"
    await assert_victim_unharmed(victim)


async def test_an_oversized_frame_on_the_channel_is_reported_as_such(
    attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    # Hostile code can write anything to its end of the channel, e.g. announce a 2 GB frame.
    execution = await attacker.run_code(
        "import struct\n"
        "from sandbox_analyst.sandbox.local.worker import figures\n"
        "figures.current._shell.channel._sock.sendall(struct.pack('>I', 2**31))"
    )
    assert execution.state_lost
    assert "over the 64 MiB limit" in execution.error.value
    assert "memory" not in execution.error.value
    assert (await attacker.run_code("1 + 1")).text == "2"
    await assert_victim_unharmed(victim)


async def test_fork_bomb_is_contained(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.CGROUPS)
    execution = await attacker.run_code(
        "import os, time, signal\n"
        "children, refused = [], None\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as exc:\n"
        "        refused = exc.errno\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children:\n"
        "    os.kill(pid, signal.SIGKILL)\n"
        "    os.waitpid(pid, 0)\n"
        "len(children), refused"
    )
    assert execution.error is None
    forked, refused = eval(execution.text)  # a tuple of two ints
    assert forked < 32
    assert refused is not None
    await assert_victim_unharmed(victim)


async def test_disk_fill_stops_at_the_quota(
    hostile_pool: SandboxPool, attacker: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.RLIMITS)
    one_file = await attacker.run_code(
        "with open('fill.bin', 'wb') as out:\n    out.write(b'x' * (40 * 1024 * 1024))"
    )
    assert one_file.error is not None
    assert "File too large" in one_file.error.value or one_file.error.name == "OSError"
    await attacker.files.remove("fill.bin")
    many_files = await attacker.run_code(
        "for index in range(3):\n"
        "    with open(f'part-{index}.bin', 'wb') as out:\n"
        "        out.write(b'x' * (10 * 1024 * 1024))"
    )
    assert many_files.error is not None
    assert many_files.error.name == SandboxErrorName.DISK_QUOTA
    assert "quota" in many_files.error.value


FILL_SLOWLY = (
    "import time\n"
    "written = 0\n"
    "for index in range(300):\n"
    "    with open(f'fill-{index}.bin', 'wb') as out:\n"
    "        out.write(b'x' * (1 << 20))\n"
    "    written += 1\n"
    "    time.sleep(0.05)\n"
)


async def test_filling_the_disk_is_stopped_while_the_cell_runs(
    hostile_pool: SandboxPool, attacker: LocalSandbox
) -> None:
    # 300 files of 1 MiB, 20 per second, against a 16 MiB quota: stopped long before the end.
    await attacker.run_code("kept = 'state'")
    execution = await attacker.run_code(FILL_SLOWLY)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.DISK_QUOTA
    assert "while the code ran" in execution.error.value
    assert not execution.state_lost
    written = int((await attacker.run_code("written")).text)
    assert 16 <= written < 300
    assert (await attacker.run_code("kept")).text == "'state'"


async def test_code_that_ignores_the_quota_interrupt_is_killed(
    hostile_pool: SandboxPool, attacker: LocalSandbox
) -> None:
    code = (
        "import time\n"
        "for index in range(300):\n"
        "    try:\n"
        "        with open(f'fill-{index}.bin', 'wb') as out:\n"
        "            out.write(b'x' * (1 << 20))\n"
        "        time.sleep(0.05)\n"
        "    except BaseException:\n"
        "        pass\n"
    )
    execution = await attacker.run_code(code)
    assert execution.state_lost
    assert "disk quota" in execution.error.value
    files = [entry for entry in await attacker.files.list() if entry.name.startswith("fill-")]
    assert len(files) < 300


async def test_output_flood_is_capped_and_server_memory_stays_flat(
    attacker: LocalSandbox,
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    execution = await attacker.run_code(
        "import sys\nline = 'x' * 1023 + '\\n'\n"
        "for _ in range(200_000):\n    sys.stdout.write(line)"
    )
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    kept = sum(len(chunk) for chunk in execution.logs.stdout)
    assert kept <= OUTPUT_LIMIT + 200
    assert "output truncated" in "".join(execution.logs.stdout + execution.logs.stderr)
    assert grown_kb < 64 * 1024  # 200 MB were printed; the server kept well under 64 MB
    assert (await attacker.run_code("1 + 1")).text == "2"


async def test_network_is_unreachable(hostile_pool: SandboxPool, attacker: LocalSandbox) -> None:
    require(hostile_pool, LayerName.NETWORK)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        execution = await attacker.run_code(
            "import socket\n"
            "outcomes = {}\n"
            "def attempt(name, action):\n"
            "    try:\n"
            "        action()\n"
            "        outcomes[name] = 'reached'\n"
            "    except OSError as exc:\n"
            "        outcomes[name] = type(exc).__name__\n"
            f"attempt('host tcp', lambda: socket.create_connection(('127.0.0.1', {port}), 2))\n"
            "attempt('outside tcp', lambda: socket.create_connection(('1.1.1.1', 443), 2))\n"
            "attempt('dns', lambda: socket.getaddrinfo('example.com', 443))\n"
            "attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            ".sendto(b'x', ('8.8.8.8', 53)))\n"
            "outcomes"
        )
        outcomes = eval(execution.text)
        assert "reached" not in outcomes.values(), outcomes
    finally:
        listener.close()


async def test_secrets_and_other_sessions_are_unreadable(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.FILESYSTEM)
    data_dir = hostile_pool.root.parent
    targets = [
        str(data_dir / "analyst.db"),
        str(victim.files.root / "private.csv"),
        "/etc/shadow",
        f"/proc/{os.getpid()}/environ",
        f"/proc/{hostile_pool.zygote_pid}/environ",
        f"/proc/{hostile_pool.zygote_pid}/mem",
        f"/proc/{victim.pid}/environ",
    ]
    execution = await attacker.run_code(
        "results = {}\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        with open(path, 'rb') as handle:\n"
        "            handle.read(16)\n"
        "        results[path] = 'READ'\n"
        "    except OSError as exc:\n"
        "        results[path] = type(exc).__name__\n"
        "results"
    )
    results = eval(execution.text)
    assert "READ" not in results.values(), results


IPC = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
IPC_CREAT, O_CREAT, O_RDWR = 0o1000, 0o100, 0o2
KEY, QUEUE = 0x5A17, b"/analyst-red-team"

def leave_secrets():
    segment = libc.shmget(KEY, 4096, IPC_CREAT | 0o666)
    address = libc.shmat(segment, None, 0)
    ctypes.memmove(address, b"other user's secret", 19)
    queue = libc.msgget(KEY, IPC_CREAT | 0o666)
    # POSIX queues may be refused outright (Landlock denies their filesystem): also safe.
    libc.mq_open(QUEUE, O_CREAT | O_RDWR, 0o666, None)
    return segment >= 0 and queue >= 0

def look_for_secrets():
    found = {}
    segment = libc.shmget(KEY, 0, 0)
    found["shm"] = ctypes.string_at(libc.shmat(segment, None, 0), 19) if segment >= 0 else None
    found["msg"] = libc.msgget(KEY, 0) >= 0
    found["mqueue"] = libc.mq_open(QUEUE, O_RDWR, 0, None) >= 0
    return found
"""


async def test_sysv_ipc_and_posix_queues_are_private_to_a_session(
    attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    await victim.run_code(IPC)
    assert (await victim.run_code("leave_secrets()")).text == "True"
    await attacker.run_code(IPC)
    found = await attacker.run_code("look_for_secrets()")
    assert found.text == "{'shm': None, 'msg': False, 'mqueue': False}"
    # The session itself still has working IPC (multiprocessing, some libraries need it).
    assert (await victim.run_code("look_for_secrets()['shm']")).text == 'b"other user\'s secret"'


async def test_ipc_objects_end_with_their_session(hostile_pool: SandboxPool) -> None:
    session = await hostile_pool.acquire()
    await session.run_code(IPC)
    assert (await session.run_code("leave_secrets()")).text == "True"
    await session.close()
    for table in ("shm", "msg"):
        assert 0x5A17 not in _sysv_keys(table), f"a SysV {table} object outlived its session"
    later = await hostile_pool.acquire()
    try:
        await later.run_code(IPC)
        found = await later.run_code("look_for_secrets()")
        assert found.text == "{'shm': None, 'msg': False, 'mqueue': False}"
    finally:
        await later.close()


async def test_other_processes_are_invisible_in_proc(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.PID)
    others = {"server": os.getpid(), "zygote": hostile_pool.zygote_pid, "victim": victim.pid}
    execution = await attacker.run_code(
        "import os\n"
        "read = {}\n"
        f"for name, pid in {others!r}.items():\n"
        "    for entry in ('cmdline', 'status', 'mountinfo'):\n"
        "        try:\n"
        "            open(f'/proc/{pid}/{entry}', 'rb').read()\n"
        "            read[name + ' ' + entry] = 'READ'\n"
        "        except OSError as exc:\n"
        "            read[name + ' ' + entry] = type(exc).__name__\n"
        "listed = sorted(int(n) for n in os.listdir('/proc') if n.isdigit())\n"
        "read, listed, os.getpid()"
    )
    read, listed, own = eval(execution.text)
    assert "READ" not in read.values(), read
    assert listed == [1, own]  # the session's init and the worker
    assert attacker.pid != own  # the host knows the worker by its host pid


def _sysv_keys(table: str) -> set[int]:
    """Keys of the host's SysV IPC objects of one kind ("shm", "msg", "sem")."""
    with open(f"/proc/sysvipc/{table}") as listing:
        return {int(line.split()[0]) for line in listing.readlines()[1:]}


async def test_signals_and_ptrace_toward_others_fail(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.SECCOMP)
    targets = {"server": os.getpid(), "zygote": hostile_pool.zygote_pid, "victim": victim.pid}
    execution = await attacker.run_code(
        "import ctypes, os, signal\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "outcomes = {}\n"
        f"for name, pid in {targets!r}.items():\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGTERM)\n"
        "        outcomes[name + ' kill'] = 'SENT'\n"
        "    except OSError as exc:\n"
        "        outcomes[name + ' kill'] = type(exc).__name__\n"
        "    attached = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH\n"
        "    outcomes[name + ' ptrace'] = 'ATTACHED' if attached == 0 else 'refused'\n"
        "outcomes"
    )
    outcomes = eval(execution.text)
    assert "SENT" not in outcomes.values(), outcomes
    assert "ATTACHED" not in outcomes.values(), outcomes
    await assert_victim_unharmed(victim)


async def test_child_processes_stay_inside_the_same_limits(
    hostile_pool: SandboxPool, attacker: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.NETWORK, LayerName.RLIMITS)
    execution = await attacker.run_code(
        "import subprocess, sys\n"
        "probe = '''\n"
        "import socket, resource\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 22), 2); print('net: reached')\n"
        "except OSError as exc:\n"
        "    print('net:', type(exc).__name__)\n"
        "print('as:', resource.getrlimit(resource.RLIMIT_AS)[0])\n"
        "try:\n"
        "    open('/etc/shadow').read(); print('shadow: READ')\n"
        "except OSError as exc:\n"
        "    print('shadow:', type(exc).__name__)\n"
        "'''\n"
        "print(subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True)"
        ".stdout)"
    )
    output = "".join(execution.logs.stdout)
    assert "net: reached" not in output
    assert "shadow: READ" not in output
    limit = int(output.split("as: ")[1].split()[0])
    assert 0 < limit < 8 * 1024**3  # inherited: finite, a few GB of mappings at most


async def test_a_segfault_is_reported_and_the_session_replaced(
    attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    execution = await attacker.run_code("import ctypes\nctypes.string_at(0)")
    assert execution.state_lost
    assert "SIGSEGV" in execution.error.value
    assert (await attacker.run_code("21 * 2")).text == "42"
    await assert_victim_unharmed(victim)


async def test_infinite_loop_times_out_with_state_kept(attacker: LocalSandbox) -> None:
    await attacker.run_code("marker = 'kept'")
    execution = await attacker.run_code("while True:\n    pass", timeout=0.5)
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert (await attacker.run_code("marker")).text == "'kept'"


async def test_concurrent_hostility_leaves_other_sessions_working(
    attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    bomb = asyncio.create_task(attacker.run_code("hog = bytearray(2 * 1024**3)"))
    spin = await victim.run_code("sum(range(1_000_000))")
    await bomb
    assert spin.text == str(sum(range(1_000_000)))


R_PROBE = """
probe <- function(action) tryCatch({ force(action); "READ" }, error = function(e) "refused",
                                   warning = function(w) "refused")
"""


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
async def test_r_cannot_read_other_sessions_or_secrets(
    hostile_pool: SandboxPool, attacker: LocalSandbox, victim: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.FILESYSTEM)
    data_dir = hostile_pool.root.parent
    targets = [
        str(data_dir / "analyst.db"),
        str(victim.files.root / "private.csv"),
        "/etc/shadow",
        f"/proc/{victim.pid}/environ",
    ]
    paths = ", ".join(f'"{path}"' for path in targets)
    execution = await attacker.run_code(
        f"{R_PROBE}\ncat(sapply(c({paths}), function(p) probe(readBin(p, 'raw', 16))), sep='\\n')",
        language="r",
    )
    assert execution.error is None, execution.error
    assert execution.logs.stdout
    assert "".join(execution.logs.stdout).split() == ["refused"] * len(targets)
    await assert_victim_unharmed(victim)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
async def test_r_cannot_reach_the_network(
    hostile_pool: SandboxPool, attacker: LocalSandbox
) -> None:
    require(hostile_pool, LayerName.NETWORK)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        execution = await attacker.run_code(
            f"{R_PROBE}\n"
            f"cat(probe(socketConnection('127.0.0.1', {port}, timeout = 2)),\n"
            "    probe(readLines(url('http://1.1.1.1/'))), sep='\\n')",
            language="r",
        )
        assert execution.error is None, execution.error
        assert "".join(execution.logs.stdout).split() == ["refused", "refused"]
    finally:
        listener.close()

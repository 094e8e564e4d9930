"""`%pip` in a sandbox. Without egress the sandbox has no network: it says at once what works
instead (pip would retry for many seconds and fail). With egress, `%pip install ...` runs pip
through the egress proxy (HTTPS_PROXY), from the package index the server is configured with
(PIP_INDEX_URL), into the session's `.pip-packages`: the proxy's policy decides whether the
index may be reached, so an index the admin has not listed is refused there, naming the policy.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request

from sandbox_analyst.sandbox.local.worker.import_paths import add_import_path

PIP_TARGET_DIR = ".pip-packages"  # hidden: not one of the files the code made


class PackageInstallUnavailable(Exception):
    """Raised by `%pip` inside a sandbox that cannot install with it."""


class PackageInstallFailed(Exception):
    """pip ran and failed; its own output says why."""


def pip_magic(line: str) -> None:
    if not os.environ.get("HTTPS_PROXY"):
        raise PackageInstallUnavailable(
            f"%pip {line.strip()}: the sandbox has no network, so pip cannot install here. "
            "Packages come from the server: an assistant that allows installs asks for one "
            "with install_package(name) (in a chat, a cell of `%pip install NAME` lines does "
            "that); otherwise an admin adds it to the sandbox's template."
        )
    words = shlex.split(line)
    if not words or words[0] != "install" or len(words) < 2:
        raise PackageInstallUnavailable("%pip here installs packages: %pip install NAME ...")
    target = os.path.join(os.getcwd(), PIP_TARGET_DIR)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        target,
        "--upgrade",
        # Wheels only: building an sdist would run its setup code here, and need a compiler.
        "--only-binary",
        ":all:",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        *words[1:],
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        # pip reads an index it may not reach as one without the package: say why instead.
        index = _index_url(words[1:])
        refusal = _egress_refusal(index) if index else None
        if refusal is not None:
            raise PackageInstallFailed(f"pip install failed: the package index {index}: {refusal}")
        raise PackageInstallFailed(f"pip install failed (exit status {completed.returncode})")
    add_import_path(target)


def _index_url(arguments: list[str]) -> str | None:
    for flag in ("--index-url", "-i"):
        if flag in arguments[:-1]:
            return arguments[arguments.index(flag) + 1]
        for argument in arguments:
            if argument.startswith(f"{flag}="):
                return argument.split("=", 1)[1]
    return os.environ.get("PIP_INDEX_URL")


def _egress_refusal(url: str) -> str | None:
    """The egress proxy's refusal of `url`, if it refuses it (its message names the policy)."""
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError as error:
        return str(error.reason) if "Egress refused" in str(error.reason) else None
    except (urllib.error.URLError, OSError) as error:
        return str(error) if "Egress refused" in str(error) else None
    return None

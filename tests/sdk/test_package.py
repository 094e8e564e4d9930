"""`from sandbox_analyst import SandboxManager`, and what `import sandbox_analyst` costs."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_top_level_package_does_not_import_the_engine() -> None:
    """`import sandbox_analyst` stays light: the SDK is loaded when it is first named."""
    probe = (
        "import sys, sandbox_analyst\n"
        "assert 'sandbox_analyst.sdk' not in sys.modules\n"
        "assert 'sandbox_analyst.sandbox' not in sys.modules\n"
        "from sandbox_analyst import SandboxManager\n"
        "assert SandboxManager.__module__ == 'sandbox_analyst.sdk.manager'\n"
        "assert 'sandbox_analyst.sandbox.local' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, env=dict(os.environ))

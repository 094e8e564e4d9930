"""The `e2b` backend: sessions that are E2B sandboxes (E2B's cloud, a self-hosted E2B, or any
E2B-compatible server such as this project's own), through E2B's official
`e2b-code-interpreter` SDK.

Needs the `e2b` extra (`pip install sandbox-analyst[e2b]`).
"""

from sandbox_analyst.sandbox.e2b.errors import E2BAuthError, E2BError, E2BSandboxGone
from sandbox_analyst.sandbox.e2b.provider import E2BProvider
from sandbox_analyst.sandbox.e2b.sandbox import E2BSandbox

__all__ = ["E2BAuthError", "E2BError", "E2BProvider", "E2BSandbox", "E2BSandboxGone"]

"""The browser UI: a single page (plain ES modules, no build step) served at `/`, its assets
under `/ui/`, the API it talks to staying at `/api`."""

from sandbox_analyst.web.serving import CONTENT_SECURITY_POLICY, STATIC_DIR, mount_ui

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "mount_ui"]

"""LibreChat's Code Interpreter API (`POST /exec`, uploads, file listings and downloads), a
thin wire over `service.librechat`, mounted at `/librechat/v1`."""

from sandbox_analyst.api.librechat.app import MOUNT_PATH, create_librechat_app

__all__ = ["MOUNT_PATH", "create_librechat_app"]

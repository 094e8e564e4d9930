"""The worker side of the local backend: code that runs inside each forked child."""

from sandbox_analyst.sandbox.local.worker.main import WorkerConfig, run_worker

__all__ = ["WorkerConfig", "run_worker"]

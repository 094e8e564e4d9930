"""Write the Sandbox Analyst kernelspec: an ipykernel that starts with our figure and display
conventions loaded and the default template's libraries imported.

    python -m sandbox_analyst.sandbox.gateway.kernelspec DEST [--python PYTHON]
    jupyter kernelspec install DEST --name analyst-python

Standard library only, and runnable as a plain script (`python .../kernelspec.py DEST`), so a
kernel image can build it without installing this project.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE_FILE = "_sandbox_analyst_kernel.py"
STARTUP_FILE = "sandbox_analyst_startup.py"
# The default template's heavy imports (matches the local backend's zygote preload).
PRELOAD = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "scipy",
    "scipy.stats",
    "sklearn",
    "sklearn.linear_model",
    "sklearn.ensemble",
    "sklearn.model_selection",
)


def kernel_env(threads: int = 1) -> dict[str, str]:
    """What every kernel of ours starts with (the kernelspec's and the image's)."""
    return {
        "MPLBACKEND": "module://_sandbox_analyst_kernel",
        "OPENBLAS_NUM_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "ANALYST_KERNEL_PRELOAD": ",".join(PRELOAD),
    }


def write_kernelspec(
    destination: Path, *, python: str = "python", display_name: str = "Sandbox Analyst (Python)"
) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "kernel_side.py", destination / MODULE_FILE)
    shutil.copyfile(HERE / "kernel_startup.py", destination / STARTUP_FILE)
    spec = {
        "display_name": display_name,
        "language": "python",
        "argv": [
            python,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            f"--IPKernelApp.exec_files={{resource_dir}}/{STARTUP_FILE}",
        ],
        "env": kernel_env(),
        "interrupt_mode": "signal",
        "metadata": {"debugger": False, "sandbox_analyst": {"bootstrap": MODULE_FILE}},
    }
    (destination / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
    return destination


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path)
    parser.add_argument("--python", default="python", help="the kernel's interpreter")
    parser.add_argument("--display-name", default="Sandbox Analyst (Python)")
    args = parser.parse_args()
    written = write_kernelspec(args.destination, python=args.python, display_name=args.display_name)
    print(written)


if __name__ == "__main__":
    main()

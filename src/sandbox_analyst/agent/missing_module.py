"""What the model is told when its code imports a module the sandbox does not have: which
template the session runs, and what can be done (ask for an approved install, or tell the user
that an admin must add the package), so that it does not retry the import or invent a
workaround that needs the network."""

from __future__ import annotations

import re

_MISSING = re.compile(r"^No module named '([^']+)'")

# Import names whose package is published under another name (the usual surprises).
_PACKAGE_OF = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python-headless",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "Crypto": "pycryptodome",
    "skimage": "scikit-image",
}


def missing_module(error_name: str, error_value: str) -> str | None:
    """The top-level module an execution error says is missing, if it says so."""
    if error_name != "ModuleNotFoundError":
        return None
    found = _MISSING.match(error_value)
    return found.group(1).split(".")[0] if found else None


def package_for(module: str) -> str:
    """The package name to ask for, as far as it can be guessed from the import name."""
    return _PACKAGE_OF.get(module, module.replace("_", "-"))


def missing_module_note(
    error_name: str, error_value: str, *, template: str, installs: bool
) -> str | None:
    """The note for a ModuleNotFoundError (None for any other error). `installs`: whether the
    assistant may ask for approved installs (the install_package tool)."""
    module = missing_module(error_name, error_value)
    if module is None:
        return None
    package = package_for(module)
    where = f"The module '{module}' is not installed in this sandbox (template '{template}')."
    if installs:
        return (
            f"{where} Call install_package(name='{package}') to ask the server for it (the "
            "sandbox itself has no network; pip does not work here). If that is refused, use "
            "what is installed or tell the user."
        )
    return (
        f"{where} Packages cannot be installed from this conversation: do not retry the import "
        "or pip. Use the libraries that are installed, or tell the user that an admin can add "
        f"'{package}' to the '{template}' template (its packages list; then `analyst templates "
        "build`) or allow approved installs for this assistant."
    )

"""Kernel start-up for the shipped kernelspec and kernel image: load the sandbox bootstrap
(`_sandbox_analyst_kernel`) and import the default template's heavy libraries once, before
any session is handed the kernel, so that a session's first cell does not pay for them.

Run by ipykernel: from the kernelspec (`--IPKernelApp.exec_files`) or from the image's IPython
profile (`profile_default/startup/`). It runs in the user's namespace, so it leaves no names
behind. Standard library only, like the bootstrap.
"""


def _sandbox_analyst_startup() -> None:
    import importlib
    import importlib.util
    import os
    import sys

    name = "_sandbox_analyst_kernel"
    try:
        importlib.import_module(name)  # installed in the image
    except ImportError:
        # The kernelspec ships it beside this file.
        here = os.path.dirname(os.path.abspath(globals().get("__file__") or "."))
        spec = importlib.util.spec_from_file_location(name, os.path.join(here, name + ".py"))
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    for library in os.environ.get("ANALYST_KERNEL_PRELOAD", "").split(","):
        if library.strip():
            try:
                importlib.import_module(library.strip())
            except Exception as exc:  # a missing library must not keep the kernel down
                print(f"sandbox-analyst: could not preload {library}: {exc}", file=sys.stderr)


_sandbox_analyst_startup()
del _sandbox_analyst_startup

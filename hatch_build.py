"""Hatch build hook: ship neodyme's template history (a git bundle) inside the wheel.

The history is rebuilt from the commits of the checkout being built (neodyme_cli/history.py
says how), so a wheel built from any commit of main carries every template version up to it.
An sdist carries the bundle at its root, for wheels built from it without git.
"""

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = "history.bundle"
WHEEL_PATH = f"neodyme_cli/_template/{BUNDLE}"


class TemplateHistoryHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # an editable install reads the history from its checkout's git at run time
        root = Path(self.root)
        self._scratch = Path(tempfile.mkdtemp(prefix="neodyme-build-"))
        bundle = self._scratch / BUNDLE
        if (root / ".git").exists():
            self._write_from_git(root, bundle)
        elif (root / BUNDLE).is_file():  # building a wheel from an sdist
            shutil.copy2(root / BUNDLE, bundle)
        else:
            raise RuntimeError(
                "neodyme's template history needs its git repository: build from a git clone."
            )
        destination = WHEEL_PATH if self.target_name == "wheel" else BUNDLE
        build_data["force_include"][str(bundle)] = destination

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if hasattr(self, "_scratch"):
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _write_from_git(self, root: Path, bundle: Path) -> None:
        sys.path.insert(0, str(root))
        try:
            from neodyme_cli.history import is_shallow, write_bundle
        finally:
            sys.path.remove(str(root))
        if is_shallow(root):
            self.app.display_warning(
                "This clone is shallow: the wheel carries only the template versions it holds "
                "(git fetch --unshallow, then rebuild, for all of them)."
            )
        if not write_bundle(root, bundle):
            raise RuntimeError("This checkout has no commit with a template to ship.")

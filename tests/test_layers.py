"""The import rules of the house, checked on the source (every import, those under
``TYPE_CHECKING`` and inside functions included):

- ``core`` imports nothing of authkeeper above it;
- ``storage`` imports only ``core`` (and itself);
- ``flows`` import neither the web layer, the JSON API, the pages nor a plugin;
- ``pages`` import no JSON handler (nothing of ``http``) and no plugin;
- a plugin is imported only by the composition root (``authkeeper``, ``authkeeper.auth``) and
  by itself; plugins never import each other;
- ``integrations`` import no plugin;
- ``verifier`` (for services that share no database with the server) imports nothing else of
  authkeeper.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "authkeeper"
COMPOSITION_ROOT = {"authkeeper", "authkeeper.auth"}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(name: str, is_package: bool, source: str) -> set[str]:
    """Every authkeeper module the module ``name`` imports (relative imports resolved)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from . import sessions`` names modules too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "authkeeper" or m.startswith("authkeeper.")}


def area(module: str) -> str:
    """``authkeeper.flows.sign_in`` → ``flows``; ``authkeeper.plugins.admin.x`` → ``plugins.admin``."""
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    if parts[1] == "plugins" and len(parts) > 2 and parts[2] != "base":
        return f"plugins.{parts[2]}"
    return parts[1]


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def violations(modules: dict[str, tuple[bool, str]]) -> list[str]:
    """``modules``: name → (is a package, source)."""
    found: list[str] = []
    for name, (is_package, source) in sorted(modules.items()):
        mine = area(name)
        for target in sorted(imports_of(name, is_package, source)):
            theirs = area(target)
            if theirs == mine:
                continue
            rule = _rule(name, mine, target, theirs)
            if rule:
                found.append(f"{name} imports {target}: {rule}")
    return found


def _rule(name: str, mine: str, target: str, theirs: str) -> str | None:
    if theirs.startswith("plugins.") and name not in COMPOSITION_ROOT:
        return "only the composition root and the plugin itself import a plugin"
    if mine == "verifier":
        return "the verifier imports nothing else of authkeeper"
    if mine == "core":
        return "core imports nothing above it"
    if mine == "storage" and theirs not in ("core",):
        return "storage imports only core"
    if mine == "flows" and theirs in ("web", "http", "pages", "integrations"):
        return "flows import neither the web layer, the JSON API nor the pages"
    if mine == "pages" and theirs == "http":
        return "pages import no JSON handler"
    if mine == "web" and theirs in ("http", "pages", "integrations"):
        return "the web layer is below the JSON API and the pages"
    return None


def test_the_import_rules_hold() -> None:
    found = violations({name: (path.name == "__init__.py", path.read_text()) for name, path in MODULES.items()})
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("authkeeper.pages.probe", "from ..plugins.admin import flows\n", "only the composition root"),
        ("authkeeper.pages.probe", "from ..http.api import apply_sign_in\n", "pages import no JSON handler"),
        (
            "authkeeper.core.probe",
            "if TYPE_CHECKING:\n    from ..flows.sign_in import X\n",
            "core imports nothing above",
        ),
        ("authkeeper.flows.probe", "def f():\n    from ..web import call\n", "flows import neither"),
        ("authkeeper.plugins.admin.probe", "from ..two_factor import challenge\n", "only the composition root"),
        ("authkeeper.storage.probe", "from ..flows import sessions\n", "storage imports only core"),
        ("authkeeper.verifier.probe", "from ..core.models import User\n", "the verifier imports nothing else"),
    ],
)
def test_the_checker_catches_a_violation(module: str, source: str, expected: str) -> None:
    assert any(expected in line for line in violations({module: (False, source)}))


def test_modules_stay_under_400_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) >= 400}
    assert not long, long

"""The layout keeps its promises: concepts in folders, no import cycles, a core free of
the web server and of aiogram, thin package files. Read from the source, imports inside
functions included."""

import ast
from pathlib import Path

from bot.settings import PROJECT_DIR

PACKAGES = ("bot", "handlers")
MOST_MODULES_IN_BOT = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (PROJECT_DIR / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def imported(path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ours this file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return {name for name in found if name in known}


def all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        if name in done:
            return None
        visiting.append(name)
        for target in sorted(graph[name]):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle:
            return cycle
    return None


def test_no_module_imports_itself_round_a_cycle() -> None:
    known = modules()
    graph = {name: imported(path, known) - {name} for name, path in known.items()}
    assert find_cycle(graph) is None


def test_the_core_knows_neither_aiogram_nor_aiohttps_web_server() -> None:
    for name, path in modules().items():
        if not name.startswith("bot") or name == "bot.__main__":
            continue
        names = all_imports(path)
        assert not {n for n in names if n == "aiogram" or n.startswith("aiogram.")}, name
        assert not {n for n in names if n.startswith("aiohttp.web")}, name


def test_the_core_is_grouped_by_concept() -> None:
    top = sorted(p.name for p in (PROJECT_DIR / "bot").glob("*.py"))
    assert len(top) <= MOST_MODULES_IN_BOT, top
    folders = {p.name for p in (PROJECT_DIR / "bot").iterdir() if (p / "__init__.py").exists()}
    expected = {"conversation", "crm", "booking", "dialogue", "followups", "content", "storage"}
    assert expected <= folders


def test_package_files_hold_a_docstring_and_nothing_else() -> None:
    for name, path in modules().items():
        if path.name != "__init__.py":
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{name} holds code"

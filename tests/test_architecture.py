"""The seams of docs/architecture.md, checked: layers only call down, no import cycles, nothing outside the
facade reaches into it, and the one definition of each vocabulary is the one the code uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# lowest first; a module may import its own layer and the layers below it (docs/architecture.md)
LAYERS = [
    ("vocabulary", ["analysis.errors", "analysis.verdicts", "analysis.sections", "analysis.sql", "analysis.export",
                    "analysis.identities", "analysis.progress", "analysis.formatting"]),
    ("store", ["analysis.store", "analysis.filters", "analysis.groups", "analysis.records", "analysis.query"]),
    ("domain", ["analysis.ingest", "analysis.issues", "analysis.reliability", "analysis.judge", "analysis.scores",
                "analysis.instances", "analysis.browse", "analysis.plots"]),
    ("products", ["analysis.report", "analysis.bundle"]),
    ("facade", ["analysis.workspace", "analysis", "analysis.demo", "analysis.serve"]),
    ("entry points", ["analysis.cli", "dashboard"]),
]


def modules() -> dict[str, Path]:
    out = {}
    for pkg in ("analysis", "dashboard"):
        for p in (ROOT / pkg).rglob("*.py"):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for pre in prefixes:
            if (module == pre or module.startswith(pre + ".")) and len(pre) > best:
                best, rank = len(pre), i
    assert rank is not None, f"{module} belongs to no layer of docs/architecture.md"
    return rank


def imports(module: str, path: Path, known: set[str], top_level_only: bool) -> set[str]:
    """The project modules `module` imports (relative imports resolved); with top_level_only, only those
    executed at import time (not inside functions)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # imports under `if` / `try` at module level still run at import
        nodes = [n for top in tree.body if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 for n in ast.walk(top)]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]  # a submodule, or a name of `base` (trimmed below)
        else:
            continue
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n and n != module:
                found.add(n)
    return found


def test_layers_only_call_down():
    mods = modules()
    known = set(mods)
    upward = []
    for m, p in mods.items():
        for dep in imports(m, p, known, top_level_only=False):
            if layer_of(dep) > layer_of(m):
                upward.append(f"{m} ({LAYERS[layer_of(m)][0]}) imports {dep} ({LAYERS[layer_of(dep)][0]})")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    mods = modules()
    known = set(mods)
    graph = {m: imports(m, p, known, top_level_only=True) for m, p in mods.items()}
    # a package importing its own submodules (its __init__ re-exporting) is not a cycle of concern
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in graph.get(m, ()):
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)


def test_nothing_reaches_into_the_facade():
    """No private Workspace attribute (`ws._…`) is used outside workspace.py: lower layers get a Query."""
    offenders = []
    for p in list((ROOT / "analysis").rglob("*.py")) + list((ROOT / "dashboard").rglob("*.py")):
        if p.name == "workspace.py":
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"\b(ws|workspace|self\.ws)\._[a-z]", line):
                offenders.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_nothing_below_the_facade_is_given_a_workspace():
    """Below the facade, functions take a Query (and a path), never the Workspace: no parameter named `ws`, no use
    of `ws.` (the facade's own name for it)."""
    facade = [i for i, (name, _) in enumerate(LAYERS) if name == "facade"][0]
    offenders = []
    for m, p in modules().items():
        if layer_of(m) >= facade:
            continue
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if "ws" in names:
                    offenders.append(f"{m}.{node.name}({', '.join(names)})")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ws":
                offenders.append(f"{m}:{node.lineno}: ws.{node.attr}")
    assert not offenders, "\n".join(offenders)


def test_one_notebook_api():
    """The namespaces are the one notebook API: the flat names of earlier versions are gone, and using one says
    where it went."""
    from analysis.issues.api import Issues
    from analysis.judge.api import Judging
    from analysis.reliability.api import Audit, Rubrics
    from analysis.scores import Scores
    from analysis.workspace import MOVED, Workspace

    spaces = {"scores": Scores, "issues": Issues, "audit": Audit, "rubrics": Rubrics, "judge": Judging}
    for old, new in MOVED.items():
        assert not hasattr(Workspace, old), old
        namespace, method = new.split(".")
        assert callable(getattr(spaces[namespace], method, None)), new
    ws = Workspace.__new__(Workspace)
    with pytest.raises(AttributeError, match=r"ws\.issues\.discover"):
        ws.discover_issues()
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        _ = ws.bogus


def test_judgment_columns_are_the_tables(tmp_path):
    from analysis import Workspace
    from analysis.records import JUDGMENT_COLUMNS, RUN_COLUMNS

    ws = Workspace(tmp_path / "w.duckdb")
    try:
        cols = [r[0] for r in ws.q.rows("SELECT column_name FROM duckdb_columns() WHERE table_name = 'judgments' "
                                        "ORDER BY column_index")]
        runs = [r[0] for r in ws.q.rows("SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs' "
                                        "ORDER BY column_index")]
    finally:
        ws.close()
    assert list(JUDGMENT_COLUMNS) == cols
    assert list(RUN_COLUMNS) == runs


def test_one_verdict_vocabulary():
    """The judge's parser, the importers' verdict columns and Arena-Hard's games read labels the same way."""
    from analysis import verdicts
    from analysis.ingest.arena_hard import parse_preference
    from analysis.ingest.values import verdict_expr
    from analysis.judge.parse import VERDICTS, parse_verdict
    import polars as pl

    slot = {"a": "first", "b": "second", "tie": "tie"}
    for label, (side, strength) in verdicts.LABELS.items():
        assert VERDICTS[label] == (slot[side], strength)
        got = parse_verdict(f"Some reasoning. [[{label.upper()}]]")
        assert (got.verdict, got.strength) == (slot[side], strength), label
        as_column = pl.DataFrame({"v": [label, f"[[{label}]]"]}).select(verdict_expr("v"))["v"].to_list()
        assert as_column[1] == side and as_column[0] == (side if label != "c" else None), label
        if any(op in label for op in "<>="):
            winner, _ = parse_preference(label.upper())
            assert winner == (side.upper() if side != "tie" else "tie"), label


def test_one_format_record_per_importer():
    """Every format is one registry record; the README's format table names each of them."""
    from analysis.ingest import ALIASES, FORMATS, formats

    assert set(FORMATS) == {f.name for f in formats.REGISTRY}
    assert not set(ALIASES) & set(FORMATS)
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in FORMATS if f"`{name}`" not in readme]
    assert not missing, f"the README's format table lacks {missing}"


@pytest.mark.parametrize("where, name", [("client", "CallOptions"), ("runner", "JudgeSpec")])
def test_cli_options_come_from_the_dataclasses(where, name):
    """Each judge option's help and default are the dataclass field's, not restated in the CLI."""
    import argparse
    import dataclasses
    import importlib

    from analysis import cli

    cls = getattr(importlib.import_module(f"analysis.judge.{where}"), name)
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    dests = {a.dest: a for a in sub.choices["judge"]._actions if "--" + a.dest.replace("_", "-") in a.option_strings}
    checked = 0
    for f in dataclasses.fields(cls):
        if f.name not in dests or not f.metadata.get("help"):
            continue
        action = dests[f.name]
        assert action.help.startswith(f.metadata["help"]), f.name
        if f.default is not dataclasses.MISSING and not isinstance(f.default, bool):
            assert f"(default {'none' if f.default is None else f.default})" in action.help, f.name
        assert action.default is None  # not given -> the dataclass's own default applies
        checked += 1
    assert checked >= 5


# functions allowed over 80 lines, (file, name) -> length: ten when the check was written, none now
LONG_FUNCTIONS: dict[tuple[str, str], int] = {}


def test_no_new_function_over_80_lines():
    """A function a reader cannot see whole is split into named steps (none is left over 80 lines)."""
    over = {}
    for p in [*(ROOT / "analysis").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")]:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    over[(str(p.relative_to(ROOT)), node.name)] = length
    grown = {k: v for k, v in over.items() if v > LONG_FUNCTIONS.get(k, 80)}
    assert not grown, f"functions over 80 lines (split them into named steps): {grown}"

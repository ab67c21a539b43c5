"""The package's shape, checked from the source (no imports run): no import cycles, pure cores
without ROS, tools apart from nodes and cores, reid_training built on top and never imported
by the runtime, and tracker facts defined once."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG_DIR = ROOT / "src" / "reid_tracker_ros" / "reid_tracker_ros"
PKG = "reid_tracker_ros"
ROS_MODULES = {"rclpy", "reid_msgs", "sensor_msgs", "std_msgs", "geometry_msgs", "visualization_msgs",
               "diagnostic_msgs", "lifecycle_msgs", "rcl_interfaces", "builtin_interfaces", "launch",
               "launch_ros", "tf2_ros", "cv_bridge"}
# the ROS side: node shells, ROS helpers, the local runner and the tools that start graphs
ROS_SIDE = ("nodes.", "ros.", "tools.", "runner")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, lazily or not; TYPE_CHECKING blocks
    (annotations only) are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import x` / `from .pkg import mod`: x may itself be a module
            found.update(f"{target}.{a.name}" for a in node.names)
    return found


MODULES = {_module_name(p): p for p in PKG_DIR.rglob("*.py")}
GRAPH = {m: {i for i in _imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}


def _own_parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:k]) for k in range(1, len(parts))}


def test_the_package_has_no_import_cycles():
    # importing a submodule runs its packages' __init__ first: those edges are implied, not cycles
    graph = {m: {d for d in deps if d not in _own_parents(m)} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d] if d in stack else [m, d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_cores_import_nothing_from_ros_and_nothing_imports_upward():
    bad = []
    for m, p in MODULES.items():
        rel = m[len(PKG) + 1:]
        imports = _imports(p)
        if not rel.startswith(ROS_SIDE):
            ros = sorted(i for i in imports if i.split(".")[0] in ROS_MODULES)
            bad += [f"{m} imports {i}" for i in ros]
            bad += [f"{m} imports {i}" for i in sorted(imports) if i.startswith((f"{PKG}.nodes", f"{PKG}.ros",
                                                                                 f"{PKG}.tools"))]
        if not rel.startswith("tools."):
            bad += [f"{m} imports {i}" for i in sorted(imports) if i.startswith(f"{PKG}.tools")]
        bad += [f"{m} imports {i}" for i in sorted(imports) if i.split(".")[0] == "reid_training"]
    assert not bad, "\n".join(bad)


def test_every_program_that_is_not_a_node_or_core_lives_in_tools():
    """A module with a command-line entry (``if __name__ == "__main__"``) is a node, a tool, or
    one of the few core modules that double as small CLIs (named here: the graph's environment,
    the local runner, the MOT-to-bag converter and the data generators)."""
    core_clis = {f"{PKG}.graph", f"{PKG}.runner", f"{PKG}.mot.bag_writer"} | {
        f"{PKG}.mot.{m}" for m in ("synthetic", "crowd", "crowd_reid", "families", "multicam")}
    stray = sorted(m for m, p in MODULES.items()
                   if "__main__" in p.read_text(encoding="utf-8")
                   and not m.startswith((f"{PKG}.nodes.", f"{PKG}.tools.")) and m not in core_clis)
    assert not stray, f"programs outside tools/: {stray}"


def test_tracker_names_presets_and_schema_agree():
    from reid_tracker_ros.config import PARAMETER_SCHEMA
    from reid_tracker_ros.tracking import RANGES, strategy_names
    from reid_tracker_ros.tracking.config import preset_dirs

    presets = {p.stem for d in preset_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    assert presets == set(strategy_names())
    specs = {s.name: s for s in PARAMETER_SCHEMA["tracker"]}
    assert specs["tracker"].choices == strategy_names()
    for name in ("n_init", "max_age", "max_iou_distance", "max_cosine_distance", "nn_budget", "min_score"):
        assert (specs[name].min_value, specs[name].max_value) == RANGES[name], name


def test_nodes_name_topics_through_the_topics_module():
    """Publishers and subscriptions never spell a topic name inline (topics.py holds them)."""
    inline = []
    for m, p in MODULES.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("create_subscription", "create_publisher", "make_publisher")
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
                inline.append(f"{m}:{node.lineno} {node.args[1].value!r}")
    assert not inline, inline

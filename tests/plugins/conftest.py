"""Plugins a test puts on PYTHONPATH: a package and a `.dist-info` declaring its entry point,
which importlib.metadata finds as it finds an installed distribution."""

from __future__ import annotations

from pathlib import Path

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "ostinato-plugin-hello"


def make_plugin(root: Path, name: str, module_source: str, target: str) -> Path:
    """A directory holding module `name` and a distribution whose `ostinato.tasks` entry point
    `name` names `target`; put it on PYTHONPATH."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.py").write_text(module_source)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ostinato.tasks]\n{name} = {target}\n")
    return root


def broken_plugin(root: Path) -> Path:
    """A plugin whose module raises as it is imported."""
    return make_plugin(root, "broken_plugin",
                       "raise RuntimeError('the broken plugin is broken')\n", "broken_plugin:plugin")

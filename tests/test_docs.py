"""Every ```python block in README.md and docs/ runs, as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if not path.exists():
            continue
        text = path.read_text()
        for number, match in enumerate(FENCE.finditer(text), start=1):
            found.append((f"{path.relative_to(ROOT)}#{number}", match.group(1)))
    return found


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_code_block_runs(where: str, code: str) -> None:
    name = "docs_" + re.sub(r"\W", "_", where)
    module = types.ModuleType(name)
    sys.modules[name] = module  # event classes need an importable module
    try:
        exec(compile(code, where, "exec"), module.__dict__)
    finally:
        del sys.modules[name]

"""docs/projections.md: the schema section is generated from the views, and its
python examples run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from projections.schema_doc import BEGIN, END, markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "projections.md"


def test_schema_section_matches_the_views() -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] + "\n" == markdown(), (
        "regenerate with: python -m projections.schema_doc"
    )


@pytest.mark.slow  # loads the demo album; docs examples also run in the docs suite
@pytest.mark.parametrize(
    "block", re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
)
def test_python_examples_run(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(block, str(DOC), "exec"), {"__name__": "__doc_example__"})
    assert capsys.readouterr().out

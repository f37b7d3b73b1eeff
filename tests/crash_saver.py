"""The saving process of tests/test_crash.py: saves a growing project for ever, printing the
number of each version once it is saved, until it is killed.

    python tests/crash_saver.py MODE FILE START    (MODE: runtime or document)"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from runtime.project import Field, Model
from runtime.projectfile import load

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


def version(k: int):
    """The k-th version of the project: the shoes example with k more models (deterministic, so
    the test can rebuild any version to compare with the file)."""
    project = load(EXAMPLES / "shoes.actiongraph.json")
    for i in range(k):
        project.models.append(Model(f"Model{i}", [Field(f"field{j}", "Text", id=f"f{100 + 8 * i + j}")
                                                  for j in range(8)], id=f"m{100 + i}"))
    project.name = f"Shoes v{k}"
    return project


def main(mode: str, path: str, start: int) -> None:
    if mode == "document":  # the editor's own save path (File > Save)
        from app.document import Document

        document = Document(version(start), Path(path))
        for k in itertools.count(start):
            document.project = version(k)
            document.save()
            print(k, flush=True)
    from runtime.projectfile import save

    for k in itertools.count(start):
        save(version(k), path)
        print(k, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

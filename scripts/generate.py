"""Generate aiokinesis/_generated/ from botocore's Kinesis and DynamoDB service models.

Why generated: the hot path must not walk the model per call, so every shape gets a
straight-line serializer (with the model's constraints inline) and deserializer.
Run `python scripts/generate.py` after changing botocore's pin. The generated headers name a
hash of the model's content, not botocore's version, so `--check` (and the test that runs it)
compares content: with the same hash the committed files must equal a fresh generation byte for
byte; with another hash it lists what changed in the model and fails only if the change is one
the generated code or the hand-written waiters and paginators would follow. The generator itself
is the `codegen` package next to this script.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore
from botocore.loaders import create_loader

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the codegen package, however this script is loaded

from codegen import inputs
from codegen.config import SERVICES, ServiceConfig
from codegen.drift import Drift, compare
from codegen.emit import HEADER, gen_errors, gen_models, gen_operations, gen_shapes
from codegen.model import Model


def generate_service(config: ServiceConfig, docs: Mapping[str, Any]) -> dict[Path, str]:
    """The service's generated modules and its snapshot, made from its documents."""
    snap = inputs.snapshot(config, docs)
    model = Model(docs["service-2"], config)
    digest = snap["hash"]
    out = config.out
    return {
        out / "__init__.py": HEADER.format(
            what=f"Code generated from botocore's {config.title} model.", service=config.service, digest=digest
        ),
        out / "models.py": gen_models(model, digest),
        out / "errors.py": gen_errors(model, digest),
        out / "shapes.py": gen_shapes(model, digest),
        out / "operations.py": gen_operations(model, digest),
        inputs.snapshot_path(config): inputs.snapshot_text(snap),
    }


def generate(loader: inputs.Loader | None = None) -> dict[Path, str]:
    loader = loader or create_loader()
    files: dict[Path, str] = {}
    for config in SERVICES:
        files.update(generate_service(config, inputs.load(loader, config)))
    return files


@dataclass
class Check:
    """What --check found: files that differ from a fresh generation of the same model, and per
    service whose installed model has another hash, what changed."""

    stale: list[Path] = field(default_factory=list)
    drift: dict[str, Drift] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.stale) or any(d.substantive for d in self.drift.values())

    def report(self) -> str:
        version = botocore.__version__
        lines = [f"stale: {path} (run python scripts/generate.py)" for path in self.stale]
        for service, drift in self.drift.items():
            verdict = "regenerate (python scripts/generate.py)" if drift.substantive else "nothing to regenerate"
            lines.append(f"{service}: botocore {version}'s model differs from the one generated from; {verdict}:")
            lines += [f"  {line}" for line in drift.lines]
        return "\n".join(lines)


def check(loader: inputs.Loader | None = None) -> Check:
    loader = loader or create_loader()
    result = Check()
    for config in SERVICES:
        docs = inputs.load(loader, config)
        committed = inputs.read_snapshot(config)
        installed = inputs.snapshot(config, docs)
        if committed is None or committed["hash"] != installed["hash"]:
            result.drift[config.service] = compare(committed, installed)
            continue
        for path, text in generate_service(config, docs).items():
            if not path.exists() or path.read_text() != text:
                result.stale.append(path)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with the installed botocore's model: fail on stale files or a change to follow",
    )
    args = parser.parse_args(argv)
    if not args.check:
        for path, text in generate().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return 0
    result = check()
    report = result.report()
    if report:
        print(report, file=sys.stderr if result.failed else sys.stdout)
    else:
        print(f"generated code matches botocore {botocore.__version__}'s models")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate aiokinesis/_generated/ from botocore's Kinesis and DynamoDB service models.

Why generated: the hot path must not walk the model per call, so every shape gets a
straight-line serializer (with the model's constraints inline) and deserializer.
Run `python scripts/generate.py` after changing botocore's pin; `--check` (used by the
tests) fails on any difference with the committed files. The generator itself is the
`codegen` package next to this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import botocore
from botocore.loaders import create_loader

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the codegen package, however this script is loaded

from codegen.config import SERVICES
from codegen.emit import HEADER, gen_errors, gen_models, gen_operations, gen_shapes
from codegen.model import Model


def generate() -> dict[Path, str]:
    loader = create_loader()
    version = botocore.__version__
    files: dict[Path, str] = {}
    for config in SERVICES:
        model = Model(loader.load_service_model(config.service, "service-2"), config)
        out = config.out
        files[out / "__init__.py"] = HEADER.format(
            what=f"Code generated from botocore's {config.title} model.",
            version=version,
            service=config.service,
            api="service-2",
        )
        files[out / "models.py"] = gen_models(model, version)
        files[out / "errors.py"] = gen_errors(model, version)
        files[out / "shapes.py"] = gen_shapes(model, version)
        files[out / "operations.py"] = gen_operations(model, version)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed files differ")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in stale:
        print(f"stale: {path} (run python scripts/generate.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

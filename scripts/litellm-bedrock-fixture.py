#!/usr/bin/env python3
"""Regenerates tests/fixtures/models/litellm-bedrock.json: the Bedrock subset of
litellm's model data (model_prices_and_context_window.json, shipped in its wheel
as litellm/model_prices_and_context_window_backup.json) at a pinned PyPI release.

    python3 scripts/litellm-bedrock-fixture.py 1.110.2

Downloads the wheel with pip (from PyPI only, no dependencies), records the
wheel's and the data file's sha256, and keeps, for every entry whose
`litellm_provider` starts with `bedrock`, the fields labcheck reads. The keys
are litellm's own (region and commitment prefixes included): the test and
`labcheck models check` normalise them (src/gateway.rs), so the fixture stays
a faithful copy of the package's data.
"""
import hashlib
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "litellm"
DATA = "litellm/model_prices_and_context_window_backup.json"
FIELDS = [
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "deprecation_date",
    "deprecation_source",
    "successor_model",
    "source",
]
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/models/litellm-bedrock.json"


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else "1.110.2"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={version}",
             "--no-deps", "--only-binary=:all:", "-d", tmp],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob(f"{PACKAGE}-{version}-*.whl"))
        wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(DATA)
    data = json.loads(raw)
    models = {}
    for key in sorted(data):
        entry = data[key]
        if not isinstance(entry, dict):
            continue
        if not str(entry.get("litellm_provider", "")).startswith("bedrock"):
            continue
        models[key] = {f: entry[f] for f in FIELDS if entry.get(f) is not None}
    fixture = {
        "package": PACKAGE,
        "version": version,
        "registry": f"https://pypi.org/project/{PACKAGE}/{version}/",
        "wheel": wheel.name,
        "wheel_sha256": wheel_sha,
        "file": DATA,
        "file_sha256": hashlib.sha256(raw).hexdigest(),
        "fields": FIELDS,
        "models": models,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(models)} Bedrock entries from {wheel.name}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Prints candidate data/models.toml rows for every Bedrock model id in the
litellm fixture (tests/fixtures/models/litellm-bedrock.json) that the table
does not have yet. Used once on 2026-11-27 to grow the table; the rows were
then reviewed and extended by hand (docs/models.md says which). Normalisation
(the last path segment of litellm's key, a geographic prefix removed) matches
src/gateway.rs.

    python3 scripts/models-rows-from-litellm.py CHECKED_DATE >> data/models.toml

Status rule: a `deprecation_date` before CHECKED_DATE is `eol`; a later one is
`legacy` (Bedrock sets an EOL date only for Legacy versions, per
https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html);
none is `active`.
"""
import json
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
GEO = ["us-gov", "global", "apac", "us", "eu", "jp", "au", "ca", "in"]
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


def split(key):
    parts = key.split("/")
    ident = parts[-1]
    if "claude_platform" in parts or "@" in ident or "." not in ident:
        return None
    region = next((p for p in parts[:-1] if REGION.match(p)), None)
    prefix = None
    for g in GEO:
        if ident.startswith(g + "."):
            prefix, ident = g, ident[len(g) + 1 :]
            break
    return ident, prefix, region


def main():
    checked = sys.argv[1]
    fixture = json.loads((ROOT / "tests/fixtures/models/litellm-bedrock.json").read_text())
    version = fixture["version"]
    table = tomllib.loads((ROOT / "data/models.toml").read_text())
    known = {m["id"] for m in table["model"]}
    rows = {}
    for key, entry in fixture["models"].items():
        s = split(key)
        if s is None:
            continue
        ident, prefix, region = s
        row = rows.setdefault(ident, {"keys": [], "profiles": set(), "regions": set(),
                                      "dates": set(), "urls": [], "mode": entry.get("mode"),
                                      "mantle": False, "successor": None})
        row["keys"].append(key)
        if key.startswith("bedrock_mantle/"):
            row["mantle"] = True
        if prefix:
            row["profiles"].add(prefix)
        if region:
            row["regions"].add(region)
        if prefix is None and entry.get("deprecation_date"):
            row["dates"].add(entry["deprecation_date"])
        for f in ("deprecation_source", "source"):
            u = entry.get(f)
            if u and u.startswith("https://docs.aws.amazon.com/") and u not in row["urls"]:
                row["urls"].append(u)
        if entry.get("successor_model"):
            row["successor"] = entry["successor_model"]
    print(f"\n# ---- Rows generated from litellm {version} (scripts/models-rows-from-litellm.py, {checked}),")
    print("# ---- reviewed by hand: see docs/models.md \"Rows from the gateway data\".")
    for ident in sorted(rows):
        if ident in known:
            continue
        r = rows[ident]
        provider = ident.split(".")[0]
        out = ["", "[[model]]", f'id = "{ident}"', f'provider = "{provider}"']
        if r["mode"]:
            out.append(f'kind = "{r["mode"]}"')
        if r["mantle"]:
            out.append("# an id of Bedrock's OpenAI-compatible endpoint (litellm `bedrock_mantle`)")
        dates = sorted(r["dates"])
        if len(dates) > 1:
            out.append(f"# litellm gives several dates: {', '.join(dates)}; the latest is kept")
        if dates:
            d = dates[-1]
            out.append(f'status = "{"eol" if d < checked else "legacy"}"')
            out.append(f'eol_date = "{d}"')
        else:
            out.append('status = "active"')
        if r["profiles"]:
            out.append("profiles = [" + ", ".join(f'"{p}"' for p in sorted(r["profiles"])) + "]")
        if r["regions"]:
            out.append("on_demand_regions = [" + ", ".join(f'"{g}"' for g in sorted(r["regions"])) + "]")
        srcs = [f"https://pypi.org/project/litellm/{version}/#model_prices_and_context_window.json:{k}" for k in sorted(r["keys"])[:2]]
        srcs += r["urls"][:2]
        out.append("sources = [")
        out += [f'  "{s}",' for s in srcs]
        out.append("]")
        out.append(f'checked = "{checked}"')
        print("\n".join(out))


if __name__ == "__main__":
    main()

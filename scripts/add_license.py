"""Put a licence into a trained pipeline folder before ``spacy package``, which copies a ``LICENSE`` (and a
``LICENSES_SOURCES``) found there into the package (beside its README and inside the installed model folder),
and record its name in meta.json. A ``LICENSES_SOURCES`` file beside LICENSE_FILE is copied too.

    python scripts/add_license.py PIPELINE_DIR LICENSE_FILE [--name "CC BY 4.0"]
"""
import argparse
import json
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("license_file", type=Path)
    parser.add_argument("--name", default="CC BY 4.0", help="the licence's name for meta.json")
    args = parser.parse_args()
    if not (args.pipeline / "meta.json").is_file():
        raise SystemExit(f"{args.pipeline} is not a saved pipeline (no meta.json); train it first")
    if not args.license_file.is_file():
        raise SystemExit(f"{args.license_file} does not exist")
    shutil.copyfile(args.license_file, args.pipeline / "LICENSE")
    sources = args.license_file.with_name("LICENSES_SOURCES")
    if sources.is_file():
        shutil.copyfile(sources, args.pipeline / "LICENSES_SOURCES")
    meta_path = args.pipeline / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["license"] = args.name
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{args.license_file} -> {args.pipeline / 'LICENSE'} (meta.json license: {args.name})")


if __name__ == "__main__":
    main()

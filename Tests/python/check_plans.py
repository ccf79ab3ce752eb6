#!/usr/bin/env python3
"""Validates plan.json files against Plans/plan.schema.json (JSON Schema 2020-12).

    python check_plans.py SCHEMA PLAN_DIR_OR_JSON...

Prints one line per file and exits 1 when any fails (with the failing path inside the file).
"""
import json
import os
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failed = 0
    for target in argv[2:]:
        path = os.path.join(target, "plan.json") if os.path.isdir(target) else target
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if errors:
            failed += 1
            for error in errors[:5]:
                where = "/".join(str(p) for p in error.absolute_path) or "(top)"
                print(f"{path}: INVALID at {where}: {error.message[:300]}")
        else:
            print(f"{path}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

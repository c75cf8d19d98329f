"""python -m ostinato.wire check|freeze [schemas-dir]: see ostinato.wire.schemas;
subjects|register [registry options]: see ostinato.wire.registry_cli."""

from __future__ import annotations

import sys
from pathlib import Path

from ostinato.wire import schemas as _schemas
from ostinato.wire.schemas import default_schemas_dir, freeze, unreleased


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("subjects", "register"):
        from ostinato.wire.registry_cli import main as registry_main

        registry_main.main(args, prog_name="python -m ostinato.wire")  # exits
    if not args or args[0] not in ("check", "freeze"):
        print(_schemas.__doc__)
        return 2
    directory = Path(args[1]) if len(args) > 1 else default_schemas_dir()
    if args[0] == "freeze":
        for path in freeze(directory):
            print(f"released {path}")
        return 0
    pending = unreleased(directory)
    for record, version in pending:
        print(f"{record.name}: changed since its last release; run "
              f"`python -m ostinato.wire freeze` to release it as v{version}")
    return 1 if pending else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CDK entry point: ``cd infra && npx aws-cdk deploy -c stage=prod`` (see docs/deploy.md).

Context: ``stage`` (default ``dev``) picks the ``.chalice/config.json`` stage and names every
resource ``rebill-<stage>-…``; ``bill_source_accounts`` (comma-separated account ids, default
the deploying account) may deliver AWS bill exports into the data bucket.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

if __name__ == "__main__":
    # `python app.py` from infra/ puts infra/ first on sys.path, where this file would shadow the
    # Chalice app's own `app.py` when `chalice package` imports it: the project goes first.
    _infra = Path(__file__).resolve().parent
    sys.path[:] = [str(_infra.parent)] + [
        p for p in sys.path if Path(p or ".").resolve() not in (_infra, _infra.parent)
    ]

import aws_cdk as cdk

from infra.stack import APP_NAME, PROJECT_ROOT, RebillStack


def build(app: cdk.App, *, source_dir: Path = PROJECT_ROOT) -> RebillStack:
    """The stack of the stage the app's context names."""
    stage = str(app.node.try_get_context("stage") or "dev")
    accounts = str(app.node.try_get_context("bill_source_accounts") or "")
    stack = RebillStack(
        app,
        f"Rebill-{stage}",
        stage=stage,
        source_dir=source_dir,
        stack_name=f"{APP_NAME}-{stage}",
        bill_source_accounts=[a.strip() for a in accounts.split(",") if a.strip()] or None,
        description=f"Rebill ({stage}): cloud bills in, customer invoices out",
    )
    return stack


def main() -> None:
    chalice_out = Path.cwd() / "chalice.out"  # where chalice.cdk packages (always the cwd)
    shutil.rmtree(chalice_out, ignore_errors=True)
    app = cdk.App()
    build(app)
    app.synth()
    shutil.rmtree(chalice_out, ignore_errors=True)  # the assets are in cdk.out by now


if __name__ == "__main__":
    main()

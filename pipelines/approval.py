"""`creditpipe approve`: the second pair of eyes on a promotion waiting under four-eyes mode."""

from __future__ import annotations

import argparse

from pipelines.registry_store import approve
from pipelines.resources import MlflowResource


def cmd_approve(args: argparse.Namespace) -> int:
    """Approve (moves ``champion``) or reject (``--reject --reason``) a pending model version."""
    result = approve(MlflowResource(), args.model, str(args.version), reject=args.reject, reason=args.reason or "")
    if result.approved:
        print(f"approved: {result.model_name} version {result.version} is champion "
              f"(by {result.user} at {result.at}{'; ' + result.reason if result.reason else ''})")
    else:
        print(f"rejected: {result.model_name} version {result.version} by {result.user} at {result.at}: {result.reason}; "
              f"the champion stays version {result.champion_version or '– (none)'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("approve", help="four-eyes: approve or reject a model version waiting for promotion")
    p.add_argument("--model", required=True, help="registered model name, e.g. credit-pipeline-demo")
    p.add_argument("--version", required=True, help="the pending model version")
    p.add_argument("--reject", action="store_true", help="reject instead of approve (needs --reason)")
    p.add_argument("--reason", default="", help="why (required with --reject)")
    p.set_defaults(func=cmd_approve)

"""``bmad version``, ``bmad init`` and ``bmad config check``. Thin: each calls the library and
renders the result. The release commands live in :mod:`bmad.cli.release_run` and the ledger
queries in :mod:`bmad.cli.release_records`.
"""

from __future__ import annotations

from bmad.cli.options import add_config, add_debug, add_json, config_of, folder_path, path

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse


def version_command(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=version)


def version(args: argparse.Namespace) -> None:
    """Print bmad's version."""
    from bmad import __version__
    from bmad.cli._render import echo

    echo(__version__)


def init_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", nargs="?", type=folder_path, default=".", metavar="DIR", help="The service's folder."
    )
    parser.add_argument("--force", action="store_true", help="Overwrite an existing bmad.yaml.")
    parser.add_argument("--service", metavar="NAME", help="Service name (default: folder name).")
    add_json(parser, "Print one JSON document instead of tables.")
    parser.set_defaults(handler=init)


def init(args: argparse.Namespace) -> None:
    """Write a commented starter bmad.yaml from what is found in the folder."""
    from pathlib import Path

    from bmad.cli._render import echo, print_json
    from bmad.engine.starter import write_starter

    written = write_starter(Path(args.directory), force=args.force, service=args.service)
    if args.json:
        print_json({"path": str(written.path), "found": written.found})
        return
    echo(f"wrote {written.path}")
    for what, where in written.found.items():
        echo(f"  found {what}: {where}")
    echo(f"next: bmad config check {written.path}")


def config_command(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(group_parser=parser)
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(parser))
    check = groups.add_parser(
        "check",
        help="Validate a bmad.yaml.",
        description="Validate a bmad.yaml: every problem names file:line:column and the field.",
    )
    check.add_argument("path", nargs="?", type=path, metavar="FILE", help="The bmad.yaml to check.")
    add_config(check, "The bmad.yaml to check (default: $BMAD_CONFIG, else ./bmad.yaml).")
    add_json(check, "Print one JSON document instead of tables.")
    add_debug(check)
    check.set_defaults(handler=config_check)


def config_check(args: argparse.Namespace) -> None:
    """Validate a bmad.yaml: every problem names file:line:column and the field."""
    from bmad.cli._render import echo, print_json
    from bmad.config.loader import load_config
    from bmad.core.errors import UsageError

    if args.path is not None and args.config is not None and args.path != args.config:
        raise UsageError(f"two files to check: {args.path} and --config {args.config}", hint="name one")
    path = args.path if args.path is not None else config_of(args)
    config = load_config(path)
    envs = {
        name: {"risk": env.risk, "production": env.production, "warnings_fail": env.warnings_fail}
        for name, env in config.environments.items()
    }
    if args.json:
        print_json({"ok": True, "path": str(path), "service": config.service.name, "environments": envs})
        return
    echo(f"ok: {path}: service {config.service.name}, environments: {', '.join(config.environments)}")


COMMANDS = {"version": version_command, "init": init_command, "config": config_command}

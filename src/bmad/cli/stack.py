"""`bmad stack up|down|status|env`: the local stack of real components (see docs/stack.md)."""

from __future__ import annotations

import argparse
import os

from bmad.cli.options import add_debug, path

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from bmad.engine.local_stack import ComponentStatus, StackInfo

DEFAULT_DIR = ".stack"
COMPONENTS = "podman, registry, pushgateway, alertmanager, prometheus, postgres"
# What `bmad stack env` exports: only variables something reads. DOCKER_HOST: the Docker SDK
# (adapters/engine_client.py) and the example's build scripts; BMAD_PROMETHEUS_FILE_SD_DIR: the
# default of target.local.prometheus_file_sd (config/deploy.py). The component URLs are in
# `bmad stack status --json`.
EXPORTED = ("DOCKER_HOST", "BMAD_PROMETHEUS_FILE_SD_DIR")
PORTS = {"registry": 5000, "prometheus": 9090, "pushgateway": 9091, "alertmanager": 9093, "postgres": 5432}


def stack_command(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(group_parser=parser)
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(parser))
    subcommands = (
        ("up", "Start every component that is not running (idempotent) and wait until each is ready.", _up_options),
        (
            "down",
            "Stop the recorded components by pid (process group). Nothing recorded: nothing to do.",
            _down_options,
        ),
        (
            "status",
            "Show each component's state (from the state file, probed now). Exit 3 when one is not running.",
            None,
        ),
        ("env", 'Print shell exports pointing clients at the stack: eval "$(bmad stack env)".', None),
    )
    handlers = {"up": up_command, "down": down_command, "status": status_command, "env": env_command}
    for name, summary, extra in subcommands:
        sub = groups.add_parser(name, help=summary.split(". ")[0].rstrip(".") + ".", description=summary)
        sub.add_argument(
            "--dir",
            dest="directory",
            type=path,
            default=os.environ.get("BMAD_STACK_DIR") or DEFAULT_DIR,
            metavar="DIR",
            help="Directory of the stack's config, data, logs and state (default: $BMAD_STACK_DIR, else .stack).",
        )
        sub.add_argument("--json", dest="as_json", action="store_true", help="Print JSON instead of a table.")
        if extra is not None:
            extra(sub)
        add_debug(sub)
        sub.set_defaults(handler=handlers[name])


def _only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only", action="append", metavar="COMPONENT", help=f"Only this component (repeatable): {COMPONENTS}."
    )


def _up_options(parser: argparse.ArgumentParser) -> None:
    _only(parser)
    for name, port in PORTS.items():
        note = " (with --only postgres)" if name == "postgres" else ""
        parser.add_argument(f"--{name}-port", type=int, metavar="PORT", help=f"default {port}{note}")
    parser.add_argument(
        "--scrape",
        action="append",
        metavar="JOB=HOST:PORT[,HOST:PORT]",
        help="A job for Prometheus to scrape statically (repeatable; default: none, the local target's serving "
        "replicas are found through file_sd).",
    )
    parser.add_argument(
        "--rules",
        action="append",
        type=path,
        metavar="FILE",
        help="Prometheus rule file (repeatable; default: examples/hello/monitoring/*.yml if present).",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="Seconds to wait for each component to be ready."
    )


def _down_options(parser: argparse.ArgumentParser) -> None:
    _only(parser)
    parser.add_argument(
        "--purge",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Also delete the data (registry, TSDB, PostgreSQL).",
    )


def up_command(args: argparse.Namespace) -> None:
    """Start every component that is not running (idempotent) and wait until each is ready."""
    ports = {name: getattr(args, f"{name}_port") for name in PORTS}
    info = _up(args.directory, args.only, ports, args.scrape, args.rules, args.timeout)
    _render(info, info.status(args.only or None), args.as_json)


def _up(
    directory: Path,
    only: list[str] | None,
    port_overrides: dict[str, int | None],
    scrape: list[str] | None,
    rules: list[Path] | None,
    timeout: float,
) -> StackInfo:
    """Start the stack; what is not given on the command line comes from its last start, or the defaults."""
    from dataclasses import replace

    from bmad.engine.local_stack import EXAMPLE_SCRAPE_TARGETS, StackPorts, saved_settings
    from bmad.engine.local_stack import up as stack_up

    saved = saved_settings(directory.resolve())
    ports = saved.ports if saved else StackPorts()
    ports = replace(ports, **{k: v for k, v in port_overrides.items() if v is not None})
    targets = _parse_scrape(scrape) if scrape else (None if saved else dict(EXAMPLE_SCRAPE_TARGETS))
    rule_files = list(rules) if rules else (None if saved else _default_rules())
    return stack_up(
        directory,
        ports=ports,
        components=only or None,
        scrape_targets=targets,
        rule_files=rule_files,
        ready_timeout=timeout,
    )


def down_command(args: argparse.Namespace) -> None:
    """Stop the recorded components by pid (process group). Nothing recorded: nothing to do."""
    import json

    from bmad.cli._render import echo
    from bmad.engine.local_stack import down as stack_down

    stopped = stack_down(args.directory, only=args.only or None, purge=args.purge)
    if args.as_json:
        echo(json.dumps({"dir": str(args.directory.resolve()), "stopped": stopped}))
    else:
        echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def status_command(args: argparse.Namespace) -> int:
    """Show each component's state (from the state file, probed now). Exit 3 when one is not running."""
    from bmad.engine.local_stack import load

    info = load(args.directory)
    items = info.status()
    _render(info, items, args.as_json)
    wanted = [i for i in items if i.name in info.components]
    return 0 if all(i.state == "running" for i in wanted) else 3


def env_command(args: argparse.Namespace) -> None:
    """Print shell exports pointing clients at the stack: eval "$(bmad stack env)"."""
    import json
    import shlex

    from bmad.cli._render import echo
    from bmad.engine.local_stack import load

    env = {key: value for key, value in load(args.directory).env().items() if key in EXPORTED}
    if args.as_json:
        echo(json.dumps(env, indent=2))
    else:
        for key, value in env.items():
            echo(f"export {key}={shlex.quote(value)}")


def _parse_scrape(values: list[str]) -> dict[str, list[str]]:
    from bmad.core.errors import UsageError

    targets: dict[str, list[str]] = {}
    for value in values:
        job, sep, rest = value.partition("=")
        items = [t.strip() for t in rest.split(",") if t.strip()]
        if not sep or not job.strip() or not items or any(":" not in t for t in items):
            raise UsageError(f"--scrape {value!r}: expected JOB=HOST:PORT[,HOST:PORT...]")
        targets.setdefault(job.strip(), []).extend(items)
    return targets


def _default_rules() -> list[Path]:
    from pathlib import Path

    from bmad.engine.local_stack import EXAMPLE_RULES_DIR

    rules_dir = Path(EXAMPLE_RULES_DIR)
    if not rules_dir.is_dir():
        return []
    return sorted(p for p in rules_dir.iterdir() if p.suffix in (".yml", ".yaml"))


def _render(info: StackInfo, items: list[ComponentStatus], as_json: bool) -> None:
    import json

    from bmad.cli._render import echo

    if as_json:
        payload = {
            "dir": str(info.root),
            "logs": str(info.logs_dir),
            "env": {k: v for k, v in info.env().items() if k != "BMAD_STACK_POSTGRES_URL"},
            "components": [item.to_json() for item in items],
        }
        echo(json.dumps(payload, indent=2))
        return
    from bmad.cli._text import Column, Piece, Printer, Table

    columns = [Column(name, wrap=True) for name in ("component", "state", "pid", "endpoint", "ready in", "log")]
    table = Table(columns, f"local stack in {info.root}", boxed=True)
    colours = {"running": "green", "stopped": "dim", "exited": "red", "unhealthy": "yellow"}
    for item in items:
        table.add_row(
            item.name,
            Piece(item.state, colours.get(item.state, "")),
            str(item.pid or "-"),
            item.endpoint,
            f"{item.start_seconds:.2f}s" if item.start_seconds is not None else "-",
            item.log or "-",
        )
    out = Printer()
    if not out.is_terminal:
        out.width = 200  # a log file keeps whole paths on one line
    out.table(table)
    out.print(f'clients: eval "$(bmad stack env --dir {info.root})"  # DOCKER_HOST={info.docker_host}')


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"stack": stack_command}

"""``bmad dashboards install``: the Grafana dashboards bmad ships (the measure area)."""

from __future__ import annotations

from bmad.cli.options import add_config, add_debug, add_env, add_json, config_of, folder_path

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable


def dashboards_command(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(group_parser=parser)
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(parser))
    summary = "Install every dashboard JSON through Grafana's API (create, or overwrite by uid)."
    install_parser = groups.add_parser("install", help=summary, description=summary)
    add_config(install_parser)
    add_env(install_parser)
    install_parser.add_argument(
        "--url", metavar="URL", help="Grafana URL (default: the environment's monitoring.grafana.url)."
    )
    install_parser.add_argument(
        "--token-env", metavar="VAR", help="Env var holding the Grafana token (default: monitoring.grafana.token)."
    )
    install_parser.add_argument(
        "--dir",
        dest="folder",
        type=folder_path,
        metavar="DIR",
        help="Folder of dashboard JSON files (default: the ones bmad ships).",
    )
    add_json(install_parser, "Print one JSON document instead of text.")
    add_debug(install_parser)
    install_parser.set_defaults(handler=install)


def install(args: argparse.Namespace) -> None:
    """Install every dashboard JSON through Grafana's API (create, or overwrite by uid)."""
    from bmad.cli._render import echo, print_json
    from bmad.engine.dashboards import install_grafana_dashboards

    installed, grafana_url = install_grafana_dashboards(
        config_of(args), args.env, url=args.url, token_env=args.token_env, folder=args.folder
    )
    if args.json:
        files = [{"file": name, "uid": ref.uid, "title": ref.title, "url": ref.url} for name, ref in installed]
        print_json({"grafana": grafana_url, "installed": files})
        return
    for name, ref in installed:
        echo(f"installed {ref.title!r} (uid {ref.uid}) from {name}: {grafana_url}{ref.url}")
    echo(f"{len(installed)} dashboards installed in {grafana_url}")


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"dashboards": dashboards_command}

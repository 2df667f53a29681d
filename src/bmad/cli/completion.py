"""``bmad completion bash|zsh|fish``: a shell completion script generated from the command table
(:mod:`bmad.cli._completion_scripts`). Install with, e.g.,
``bmad completion bash > ~/.local/share/bash-completion/completions/bmad``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

SHELLS = ("bash", "zsh", "fish")


def completion_command(parser: argparse.ArgumentParser) -> None:
    parser.description = "Print a shell completion script: bash, zsh or fish (e.g. source <(bmad completion bash))."
    parser.add_argument("shell", choices=SHELLS, help="The shell the script is for.")
    parser.set_defaults(handler=print_script)


def print_script(args: argparse.Namespace) -> None:
    """Print the completion script for ``args.shell``."""
    from bmad.cli._completion_scripts import bash_script, command_words, fish_script, zsh_script
    from bmad.cli._render import echo

    words = command_words()
    script = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[args.shell](words)
    echo(script, end="")


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"completion": completion_command}

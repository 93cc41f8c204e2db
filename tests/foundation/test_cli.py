import subprocess
import sys

import pytest

from portal.cli import build_parser

COMMANDS = ["serve", "up"]


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "portal.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert command in out
    assert "PORTAL_DATA_DIR" in out


def test_every_subcommand_has_its_own_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(COMMANDS) <= set(sub.choices)
    for name, subparser in sub.choices.items():
        text = subparser.format_help()
        assert subparser.description, f"`portal {name}` has no description"
        assert "usage: portal " + name in text


def test_unknown_command_fails():
    result = subprocess.run([sys.executable, "-m", "portal.cli", "nope"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize("argv", [[], ["serve", "--port", "notaport"]])
def test_bad_arguments_are_reported(argv):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2

"""User text (names, descriptions, file names) is printed as written, never read as markup."""

from __future__ import annotations

from typer.testing import CliRunner

from scsim.cli import app

from conftest import R0

NAME = "[/x] [bold]odd"
DESCRIPTION = "rates [per day] and [/] brackets"


def test_markup_like_text_is_printed_as_written(tmp_path):
    runner = CliRunner()
    sets = ["--set", f"name='{NAME}'", "--set", f"description='{DESCRIPTION}'"]
    described = runner.invoke(app, ["validate", str(R0), *sets])
    assert described.exit_code == 0, described.output
    assert NAME in described.output and DESCRIPTION in described.output
    out = tmp_path / "run"
    ran = runner.invoke(app, ["run", str(R0), "--out", str(out), "--population", "500",
                              "--days", "5", *sets])
    assert ran.exit_code == 0, ran.output
    reported = runner.invoke(app, ["report", str(out)])
    assert reported.exit_code == 0, reported.output
    page = (out / "report.html").read_text()
    assert "[/x] [bold]odd" in page and "rates [per day]" in page


ESC_NAME = "run \x1b]0;owned\x07 \x1b[2J \u202eevil"


def test_control_characters_are_shown_never_obeyed(tmp_path):
    """A run folder named with terminal escapes (names in files are refused; a folder's name
    is the file system's): query and compare print the escapes as text."""
    runner = CliRunner()
    root = tmp_path / "root"
    for name in (ESC_NAME, "plain"):
        ran = runner.invoke(app, ["run", str(R0), "--out", str(root / name), "--quiet",
                                  "--population", "500", "--days", "5"])
        assert ran.exit_code == 0, ran.output
    outputs = [runner.invoke(app, ["query", "SELECT run, scenario FROM runs", "--root",
                                   str(root), *fmt]) for fmt in ([], ["--format", "csv"],
                                                                 ["--format", "json"])]
    outputs.append(runner.invoke(app, ["compare", str(root / ESC_NAME), str(root / "plain")]))
    for result in outputs:
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\u202e" not in result.output
        assert "\\x1b" in result.output or "\\u001b" in result.output
    missing = runner.invoke(app, ["report", str(tmp_path / "gone\x1b[2J")])
    assert missing.exit_code == 2 and "\x1b" not in missing.stderr
    assert "gone\\x1b[2J" in missing.stderr


def test_usage_errors_that_repeat_what_was_typed_escape_it():
    """click's own messages (an unknown command or option) repeat the user's text: stderr
    escapes control characters while a command runs."""
    runner = CliRunner()
    for args in (["bogus\x1b[2J"], ["run", str(R0), "--bogus\x1b]0;owned\x07"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert "\x1b" not in result.stderr and "\\x1b" in result.stderr, result.stderr

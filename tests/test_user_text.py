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

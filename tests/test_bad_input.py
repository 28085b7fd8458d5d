"""Every kind of bad input: one clear line naming file, field and reason; exit 2.

Each case runs ``scsim run`` (the command that would otherwise write output)
and checks the message, the exit status, the absence of a traceback and that
no output folder or partial folder was left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scsim.cli import app

from conftest import R0

VALID = R0.read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def replace(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


DATED = replace("days = 365", "days = 365\nstart = 2018-01-01")
DATED_ENTRY = '\n[[schedule]]\ndate = 2018-03-01\nset = { "channels.bills.detection" = 0.5 }\n'

CASES = {
    "malformed TOML": (
        replace("[scheme]", "[scheme"), [], "malformed TOML",
    ),
    "unknown field": (
        replace("start_score = 1000", "start_score = 1000\nstrat_score = 5"), [],
        "scheme.strat_score: unknown field; allowed here: start_score, min_score,",
    ),
    "unknown field in a list item": (
        replace('share = 0.10 }', 'share = 0.10, colour = 1 }'), [],
        "population.groups[1].colour: unknown field; allowed here: name, share",
    ),
    "wrong type": (
        replace("daily_rate = 0.002", 'daily_rate = "often"'), [],
        "behaviours.jaywalk.daily_rate: Input should be a valid number",
    ),
    "shares do not sum to 1": (
        replace('{ name = "minority", share = 0.10 }', '{ name = "minority", share = 0.20 }'), [],
        "population.groups: shares sum to 1.1, not 1",
    ),
    "probability above 1": (
        replace("detection = 0.95", "detection = 1.5"), [],
        "channels.bills.detection: Input should be less than or equal to 1",
    ),
    "probability below 0": (
        replace("daily_trip_rate = 0.01", "daily_trip_rate = -0.01"), [],
        "measures.travel_ban.daily_trip_rate: Input should be greater than or equal to 0",
    ),
    "negative population in file": (
        replace("size = 1_000_000", "size = -5"), [],
        "population.size: Input should be greater than 0",
    ),
    "negative population on command line": (
        VALID, ["--population", "-5"], "population.size: Input should be greater than 0",
    ),
    "unknown group in a modifier": (
        replace("detection_by_group = { minority = 0.60 }",
                "detection_by_group = { minorty = 0.60 }"), [],
        "channels.traffic_cameras.detection_by_group.minorty: unknown group 'minorty'",
    ),
    "unknown behaviour in points": (
        replace("good_deed = 10,", "good_deeds = 10,"), [],
        "scheme.points.good_deeds: unknown behaviour 'good_deeds'",
    ),
    "rate times multiplier above 1": (
        replace("multiplier_by_income = { low = 2.0 }", "multiplier_by_income = { low = 2000.0 }"),
        [], "behaviours.late_payment.daily_rate: daily_rate times multipliers is 2",
    ),
    "group shares of a region that do not sum to 1": (
        VALID, ["--set", "population.group_shares_by_region={all={minority=0.5}}"],
        "population.group_shares_by_region.all: shares sum to 0.5, not 1",
    ),
    "group shares of an unknown region": (
        VALID, ["--set", "population.group_shares_by_region={west={minority=1.0}}"],
        "population.group_shares_by_region.west: unknown region 'west'",
    ),
    # numbers the engine could not represent: rejected, never wrapped around
    "points beyond the representable range": (
        VALID, ["--set", "scheme.points={good_deed=9223372036854775807}"],
        "scheme.points.good_deed: Input should be less than or equal to 65535",
    ),
    "an employment penalty of absurd depth": (
        VALID, ["--set", "measures.employment_penalty={levels_down=9223372036854775807}"],
        "measures.employment_penalty.levels_down: Input should be less than or equal to 1000",
    ),
    "an infinite multiplier": (
        VALID, ["--set", "behaviours.jaywalk.multiplier_by_group={minority=inf}"],
        "behaviours.jaywalk.multiplier_by_group.minority: Input should be a finite number",
    ),
    "income lost beyond the ledger's exact sums": (
        VALID, ["--set", "population.income_levels=[{name='all',share=1.0,daily_income=900000}]",
                "--days", "5000"],
        "population.income_levels: a daily income of 900,000 yuan over 5,000 days",
    ),
    "too many trait combinations": (
        VALID, ["--set", "population.regions=["
                + ",".join(f"{{name='r{k}',share=0.001}}" for k in range(1000)) + "]",
                "--set", "population.propensity_levels=["
                + ",".join(f"{{name='p{k}',share=0.001}}" for k in range(1000)) + "]"],
        "population: groups x income levels x regions x propensity levels x 2 age bands",
    ),
    "an over-long name": (
        replace('name = "minority"', f'name = "{"m" * 65}"'), [],
        "is 65 characters long; at most 64",
    ),
    # a name whose output column another column already uses
    "a behaviour named after an output column": (
        VALID, ["--add", "behaviours.offences={daily_rate=0.001}"],
        "behaviours.offences: the name makes the output column 'offences_committed'",
    ),
    "a grade and a behaviour making the same column": (
        VALID, ["--add", "behaviours.grade_a={daily_rate=0.001}", "--set",
                "scheme.grades=[{name='a_committed',min_score=500},{name='z',min_score=0}]"],
        "the name makes the output column 'grade_a_committed'",
    ),
    # --set only changes what exists; --add adds
    "a misspelt behaviour in --set": (
        VALID, ["--set", "behaviours.jaywalkk.daily_rate=0.01"],
        "behaviours.jaywalkk.daily_rate: unknown behaviour 'jaywalkk' (known: jaywalk,",
    ),
    "a misspelt channel in --set": (
        VALID, ["--set", "channels.bils.coverage=0.5"],
        "channels.bils.coverage: unknown channel 'bils'",
    ),
    # what the mechanism modules find wrong with their own sections
    "a sanction of a blacklist nobody can be on": (
        replace("blacklist_below = 600\n", ""), [],
        "measures.travel_ban: the travel ban acts on the blacklist, but the scheme has none",
    ),
    "loan denial without a blacklist": (
        replace("blacklist_below = 600\n", "").replace(
            "[measures.travel_ban]\ndaily_trip_rate = 0.01\napplies_to = \"blacklist\"\n",
            "[measures.loan_denial]\ndaily_application_rate = 0.01\n"), [],
        "measures.loan_denial: the loan denial acts on the blacklist, but the scheme has none",
    ),
    "court list of an unknown behaviour": (
        replace("blacklist_below = 600", 'blacklist_below = 600\nblacklist_behaviours = '
                '["court_defualt"]'), [],
        "scheme.blacklist_behaviours[0]: unknown behaviour 'court_defualt' (known: jaywalk,",
    ),
    "credit repair of an unknown behaviour": (
        replace("blacklist_below = 600", 'blacklist_below = 600\ncredit_repair = { share = 0.5, '
                'delay_days = 30, behaviours = ["court_defualt"] }'), [],
        "scheme.credit_repair.behaviours[0]: unknown behaviour 'court_defualt'",
    ),
    "deposit waiver for an unknown grade": (
        VALID + '\n[measures.deposit_waiver]\ngrades = ["aaa"]\n', [],
        "measures.deposit_waiver.grades[0]: unknown grade 'aaa' (known: none: define "
        "scheme.grades)",
    ),
    "school admission without children": (
        VALID + "\n[measures.school_admission]\n", [],
        "measures.school_admission: no household has children",
    ),
    "end without start": (
        replace("days = 365", "end = 2018-12-31"), [],
        "run: run.end needs run.start",
    ),
    "days and end disagree": (
        replace("days = 365", "days = 365\nstart = 2018-01-01\nend = 2018-06-30"), [],
        "run: run.days 365 does not match run.start 2018-01-01 to run.end 2018-06-30 "
        "(181 days); give one of the two",
    ),
    "schedule without a start date": (
        VALID + DATED_ENTRY, [], "schedule: dated changes need run.start",
    ),
    "schedule of a value that cannot change": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "population.size" = 5 }\n', [],
        "schedule[0].set.population.size: cannot change over time: the population is drawn "
        "once",
    ),
    "schedule of a value fixed for the run": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "scheme.start_score" = 900 }\n',
        [], "schedule[0].set.scheme.start_score: cannot change over time: the score every "
        "citizen starts with is fixed for the run",
    ),
    "schedule of a path nothing can schedule": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "measures.travel_ban.x" = 1 }\n',
        [], "schedule[0].set.measures.travel_ban.x: cannot change over time (schedulable: "
        "behaviour rates",
    ),
    "schedule of a retention the scenario lacks": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "scheme.retention_days" = 30 }\n',
        [], "schedule[0].set.scheme.retention_days: records never expire in this scenario",
    ),
    "schedule of a whole number as a fraction": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "scheme.points.jaywalk" = -2.5 }'
        '\n', [], "schedule[0]: on 2018-03-01: scheme.points.jaywalk: Input should be a valid "
        "integer, got a number with a fractional part",
    ),
    "schedule of an unknown channel": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "channels.bils.detection" = 0.5 }'
        '\n', [],
        "schedule[0].set.channels.bils.detection: unknown channel 'bils' (known: "
        "traffic_cameras, bills,",
    ),
    "scheduled value its field refuses": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nset = { "channels.bills.detection" = 1.5 }'
        '\n', [],
        "schedule[0]: on 2018-03-01: channels.bills.detection: Input should be less than or "
        "equal to 1",
    ),
    "schedule date outside the run": (
        DATED + DATED_ENTRY.replace("2018-03-01", "2019-03-01"), [],
        "schedule[0]: 2019-03-01 is outside the run (2018-01-01 to 2018-12-31)",
    ),
    "schedule out of date order": (
        DATED + DATED_ENTRY + DATED_ENTRY.replace("2018-03-01", "2018-02-01"), [],
        "schedule[1]: 2018-02-01 comes before the previous entry's 2018-03-01; list entries "
        "in date order",
    ),
    "ramp that ends before it starts": (
        DATED + '\n[[schedule]]\nfrom = 2018-03-01\nto = 2018-02-01\n'
        'ramp = { "channels.bills.detection" = 0.5 }\n', [],
        "schedule[0]: a ramp must end after it starts (from 2018-03-01, to 2018-02-01)",
    ),
    "entry that both sets and ramps": (
        DATED + '\n[[schedule]]\ndate = 2018-03-01\nto = 2018-04-01\n'
        'set = { "channels.bills.detection" = 0.5 }\n', [],
        "schedule[0]: an entry either sets values on a date (date, set) or ramps them",
    ),
    "set during a ramp of the same value": (
        DATED + '\n[[schedule]]\nfrom = 2018-02-01\nto = 2018-06-01\n'
        'ramp = { "channels.bills.detection" = 0.5 }\n' + DATED_ENTRY, [],
        "schedule[1].set.channels.bills.detection: changes a value schedule[0] is ramping "
        "(2018-02-01 to 2018-06-01)",
    ),
    "figure on a date without its date": (
        DATED + '\n[[calibration.targets]]\nmetric = "blacklisted_on"\npublished = 5\n'
        'source = "x"\n', [],
        "calibration.targets[0].on: blacklisted_on is a figure on a date: give on = YYYY-MM-DD",
    ),
    "figure per year given a date": (
        DATED + '\n[[calibration.targets]]\nmetric = "blacklist_entries_per_year"\n'
        'published = 5\nsource = "x"\non = 2018-05-01\n', [],
        "calibration.targets[0].on: blacklist_entries_per_year is a figure per year, not on a "
        "date",
    ),
    "burn-in outside the run": (
        replace("days = 365", "days = 365\nstart = 2018-01-01\nreport_from = 2019-01-01"), [],
        "run: run.report_from 2019-01-01 must fall after run.start 2018-01-01 and by the last "
        "day 2018-12-31",
    ),
    # text is printed to terminals: no control characters (ESC sets titles, clears screens)
    "ESC in the name": (
        replace('name = "r0', 'name = "\\u001b]0;owned\\u0007r0'), [],
        "name: holds the control character \\x1b; text is printed to terminals",
    ),
    "clear-screen in the description": (
        replace('description = "', 'description = "\\u001b[2J'), [],
        "description: holds the control character \\x1b",
    ),
    "bidirectional override in the description": (
        replace('description = "', 'description = "\\u202e'), [],
        "description: holds the control character \\u202e",
    ),
    "newline in the name": (
        replace('name = "r0', 'name = "two\\nlines r0'), [],
        "name: holds the control character \\n",
    ),
    "carriage return in a schedule note": (
        DATED + DATED_ENTRY + 'note = "done\\r"\n', [],
        "schedule[0].note: holds the control character \\x0d",
    ),
    # a value of another type is not converted: true is no population, "5" no rate
    "true as a population": (
        replace("size = 1_000_000", "size = true"), [],
        "population.size: Input should be a valid integer (got True)",
    ),
    "text as a rate": (
        replace("daily_rate = 0.002", 'daily_rate = "0.002"'), [],
        "behaviours.jaywalk.daily_rate: Input should be a valid number (got '0.002')",
    ),
    "a fraction as a count of days": (
        replace("days = 365", "days = 365.5"), [],
        "run.days: Input should be a valid integer (got 365.5)",
    ),
    "false as a seed": (
        replace("seed = 1", "seed = false"), [],
        "run.seed: Input should be a valid integer (got False)",
    ),
    "two entries setting one value on one day": (
        DATED + DATED_ENTRY + DATED_ENTRY.replace("0.5", "0.6"), [],
        "schedule[1].set.channels.bills.detection: schedule[0] also sets it on 2018-03-01: one "
        "would silently replace the other",
    ),
    "a run ending after year 9999": (
        replace("days = 365", "days = 365\nstart = 9999-06-01"), [],
        "run: run.start 9999-06-01 plus 365 days ends after 9999-12-31",
    ),
    "population too large for memory": (
        VALID, ["--population", str(10**13)],
        "population.size: 10,000,000,000,000 citizens over 365 days need about",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_cleanly(tmp_path, case):
    text, extra, expected = CASES[case]
    scenario = write(tmp_path, text)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--quiet",
                                      *extra])
    assert result.exit_code == 2, result.output
    assert f"error: {scenario}: " in result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]


def test_memory_message_says_what_would_fit(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(R0), "--population", str(10**13)])
    assert result.exit_code == 2
    assert "the largest population that fits is about" in result.stderr
    assert "bytes per citizen" in result.stderr


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.toml"
    result = CliRunner().invoke(app, ["validate", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: file not found"


def test_existing_output_is_refused_without_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["run", str(R0), "--out", str(out), "--quiet",
                                      "--population", "100"])
    assert result.exit_code == 2
    assert "already exists; use --force" in result.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_real_process_exit_status_and_no_traceback(tmp_path):
    """The installed entry point, not just the in-process runner, exits 2 cleanly."""
    scenario = write(tmp_path, replace("detection = 0.95", "detection = 1.5"))
    proc = subprocess.run(
        [sys.executable, "-m", "scsim", "run", str(scenario), "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "run").exists()


def test_add_creates_what_set_refuses(tmp_path):
    """--add makes the new behaviour that --set calls a typo; it then runs like any other."""
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(R0), "--out", str(out), "--quiet",
                                      "--population", "1000", "--days", "5",
                                      "--add", "behaviours.loitering={daily_rate=0.5}"])
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    daily = pq.read_table(out / "daily.parquet")
    assert sum(daily.column("loitering_committed").to_pylist()) > 0


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.toml"
    os.mkfifo(path)
    return path


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    return tmp_path / "a.toml"


def _extends_loop(tmp_path: Path) -> Path:
    _loop(tmp_path)
    return write(tmp_path, 'extends = "a.toml"\n')


def _extends_chain(tmp_path: Path) -> Path:
    for k in range(20):
        (tmp_path / f"s{k}.toml").write_text(f'extends = "s{k + 1}.toml"\n')
    (tmp_path / "s20.toml").write_text(VALID)
    return tmp_path / "s0.toml"


def _not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_bytes(b"name = '\xff\xfe'\n")
    return path


FILES = {
    "a FIFO (would block forever)": (_fifo, "cannot read file: not a regular file"),
    "a device (would fill memory)": (lambda tmp: Path("/dev/zero"),
                                     "cannot read file: not a regular file"),
    "a folder": (lambda tmp: tmp, "cannot read file: a folder"),
    "a huge file": (lambda tmp: write(tmp, VALID + "#" * (1 << 20)), "a scenario may have at most"),
    "a NUL byte": (lambda tmp: write(tmp, VALID.replace("[run]", "[run]\0")), "NUL byte"),
    "not UTF-8": (_not_utf8, "not UTF-8 text"),
    "deep nesting": (lambda tmp: write(tmp, "x = " + "[" * 3000 + "]" * 3000 + "\n"),
                     "nested more than 32 levels deep"),
    "deep inline tables": (lambda tmp: write(tmp, "x = " + "{a=" * 3000 + "1" + "}" * 3000),
                           "nested more than 32 levels deep"),
    "a symbolic link loop": (_loop, "cannot read file: Too many levels of symbolic links"),
    "a symbolic link loop in extends": (_extends_loop, "extends: 'a.toml': symbolic link loop"),
    "a chain of extends too long": (_extends_chain, "more than 16 files extend one another"),
    "an over-long file name": (lambda tmp: tmp / ("a" * 300 + ".toml"),
                               "cannot read file: File name too long"),
}


@pytest.mark.parametrize("case", list(FILES))
def test_unreadable_scenario_files_get_one_line(tmp_path, case):
    make, expected = FILES[case]
    path = make(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "scsim", "validate", str(path)], capture_output=True, text=True,
        env={**os.environ, "NO_COLOR": "1"}, timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_deeply_nested_set_value_gets_one_line():
    result = CliRunner().invoke(app, ["validate", str(R0), "--set",
                                      "x=" + "[" * 3000 + "]" * 3000])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("x: nested more than 32 levels deep")


def test_a_nul_character_in_a_file_name_is_one_line(tmp_path):
    """Typer refuses one in a path argument; a file named inside an option's text or a file
    (--counterfactual, an experiment's scenario) reaches the checked reader, which says so."""
    result = CliRunner().invoke(app, ["run", str(R0), "--counterfactual", "a\x00.toml",
                                      "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --counterfactual: a\\x00.toml: the file name "
                                     "holds a NUL character")
    assert list(tmp_path.iterdir()) == []

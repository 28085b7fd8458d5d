"""``scsim screen --refit``: screening the assumptions while the calibration holds.

The synthetic truth of ``test_fit.py`` with one fitted value, the default
rate, fitted to the listings; two assumptions are screened: the courts'
detection and the trip rate.  Listings follow rate x detection, so a refit
must answer a lower detection with a higher rate, and the listed count then
no longer moves with detection; trips refused move with the trip rate either
way, while the listings hold.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from test_fit import synthetic_figures, truth_scenario
from typer.testing import CliRunner

from scsim.cli import app
from scsim.experiments.refit import MOSTLY_BY_BREAKING, WHILE_HELD, verdict

runner = CliRunner()
RATE = "behaviours.debt.daily_rate"
DETECTION = "channels.courts.detection"
TRIPS = "measures.travel_ban.daily_trip_rate"


def refit_scenario(tmp_path):
    text = truth_scenario(
        synthetic_figures(101), fit=f'"{RATE}" = {{ prior = "log-uniform" }}',
        extra=f'"{DETECTION}" = {{ assumption = true, low = 0.3, high = 1.0 }}')
    # the trips refused are held out: only the listings are fitted
    text = "\n".join(line.replace('source = "synthetic truth"',
                                  'role = "predicted", source = "synthetic truth"')
                     if "denied_trips" in line else line for line in text.splitlines())
    path = tmp_path / "truth.toml"
    path.write_text(text)
    return path


def test_the_verdict_reads_both_intervals():
    assert verdict(10.0, 2.0, 9.0, 3.0) == WHILE_HELD
    assert verdict(10.0, 2.0, 4.0, 1.0) == MOSTLY_BY_BREAKING  # (clear of 0, but under half)
    assert verdict(10.0, 2.0, 1.0, 3.0) == MOSTLY_BY_BREAKING
    assert verdict(1.0, 2.0, 4.0, 1.0) == WHILE_HELD  # (an effect refitting reveals)
    assert verdict(1.0, 2.0, 1.0, 3.0) == "not told from noise"


def test_a_screening_with_refits_tells_breaking_from_holding(tmp_path):
    """Each point's refitted rate times its detection is the truth's listing rate (0.0005,
    detection 1): the two listing counts (some 400 and 800 events) pin it to their Poisson
    noise, about 4%, so within 20% is 5 sd.  Refitted, detection's effect on the listed
    falls to a fifth of what it was or less; the trip rate's effect on trips refused stays
    within 30% of its plain one (the same runs but for the refitted rate)."""
    out = tmp_path / "screen"
    result = runner.invoke(app, ["screen", str(refit_scenario(tmp_path)), "--out", str(out),
                                 "--samples", "4", "--refit", "--refit-budget", "20",
                                 "--workers", "2"])
    assert result.exit_code == 0, result.output
    sweep = json.loads((out / "sweep.json").read_text())
    assert [v["path"] for v in sweep["vary"]] == [TRIPS, DETECTION]  # the fitted value left out
    refits = pq.read_table(out / "refits.parquet").to_pylist()
    design = pq.read_table(out / "design.parquet").to_pylist()
    assert len(refits) == len(design) == 4 * 3
    for refit, point in zip(refits, design, strict=True):
        assert refit["held"] and refit["distance_after"] <= refit["distance_before"]
        assert abs(refit[RATE] * point[DETECTION] / 0.0005 - 1) < 0.2, (refit, point)
        ran = json.loads((out / "refitted" / f"point={point['point']}" / "replicate=0" /
                          "summary.json").read_text())["scenario"]
        assert ran["behaviours"]["debt"]["daily_rate"] == refit[RATE]
    rows = {(r["quantity"], r["parameter"]): r
            for r in pq.read_table(out / "screen-refit.parquet").to_pylist()}
    listed = rows[("sanctioned", DETECTION)]
    assert listed["mu_star_refitted"] < 0.2 * listed["mu_star"]
    assert listed["verdict"] == MOSTLY_BY_BREAKING
    trips = rows[("trips_denied", TRIPS)]
    assert trips["verdict"] == WHILE_HELD
    assert abs(trips["mu_star_refitted"] / trips["mu_star"] - 1) < 0.3
    assert "With refits" in (out / "report.html").read_text()
    assert "the refits held the targets at 12 of 12 points" in " ".join(result.output.split())
    # a resume keeps every stored refit (their files) and gives the same comparison
    stamps = {f.name: f.stat().st_mtime_ns for f in (out / "refits").iterdir()}
    again = runner.invoke(app, ["screen", str(tmp_path / "truth.toml"), "--out", str(out),
                                "--samples", "4", "--refit", "--refit-budget", "20",
                                "--resume", "--quiet"])
    assert again.exit_code == 0, again.output
    assert {f.name: f.stat().st_mtime_ns for f in (out / "refits").iterdir()} == stamps
    assert pq.read_table(out / "screen-refit.parquet").to_pylist() == list(rows.values())


def test_refit_needs_a_fit_section(tmp_path):
    from conftest import SCENARIOS

    result = runner.invoke(app, ["screen", str(SCENARIOS / "national-empty-list.toml"),
                                 "--refit", "--out", str(tmp_path / "s"), "--samples", "2"])
    assert result.exit_code == 2
    assert "--refit: " in result.output and "names no value to fit" in result.output
    assert not (tmp_path / "s").exists()

"""ledger.json: totals, rates per group with intervals, disparity, and the CLI's pairing."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.engine.sim import simulate
from scsim.ledger import (
    NO_CITIZENS,
    NOT_MEASURED,
    OK,
    SMALL,
    build_ledger,
    count_interval,
    mean_interval,
    wilson_interval,
)
from scsim.results import daily_table
from scsim.scenario import load_scenario
from scsim.scenario.pairing import no_system

from conftest import R0, SCENARIOS
from mechanism_base import scenario

runner = CliRunner()


def test_wilson_interval_matches_published_values():
    # Wilson (1927) score intervals as tabulated by Newcombe (1998), Stat Med 17:857.
    low, high = wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=5e-5)
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=5e-5), pytest.approx(0.7634, abs=5e-5))


def test_mean_interval_matches_a_direct_computation():
    rng = np.random.default_rng(3)
    x = rng.poisson(0.7, size=5000)
    low, high = mean_interval(int(x.sum()), float((x * x).sum()), x.size)
    half = 1.959963984540054 * x.std(ddof=1) / math.sqrt(x.size)
    assert low == pytest.approx(x.mean() - half, rel=1e-12)
    assert high == pytest.approx(x.mean() + half, rel=1e-12)
    # two-sided 95% Garwood bound on zero events: -ln(0.025) = 3.69 events
    assert mean_interval(0, 0.0, 1000) == (0.0, pytest.approx(-math.log(0.025) / 1000))
    assert mean_interval(3, 9.0, 1) is None


@pytest.fixture(scope="module")
def paired():
    s = scenario()
    result = simulate(s, counterfactual=no_system(s))
    return result, build_ledger(result, "none"), daily_table(result).to_pylist()


def test_totals_are_the_sum_of_the_groups_and_match_the_daily_table(paired):
    _, ledger, rows = paired
    for name, total in ledger["totals"].items():
        assert total == sum(g["quantities"][name]["value"] for g in ledger["by_group"].values())
    for group, entry in ledger["by_group"].items():
        q = entry["quantities"]
        mine = [r for r in rows if r["group"] == group]
        assert q["trips_denied"]["value"] == sum(
            r["denied_trips"] - r["counterfactual_denied_trips"] for r in mine)
        assert q["speech_lost"]["value"] == sum(r["speech_lost"] for r in mine)
        assert q["behaviours_prevented"]["value"] == sum(r["behaviours_prevented"] for r in mine)
        assert q["false_records"]["value"] == sum(r["false_records"] for r in mine)
        assert q["days_blacklisted"]["value"] == sum(r["blacklisted"] for r in mine)
        assert q["days_wrongly_blacklisted"]["value"] == sum(
            r["wrongly_blacklisted"] for r in mine)
        assert entry["citizens"] == mine[0]["population"]
        assert q["wrongly_sanctioned"]["value"] > 0


def test_false_record_rate_and_interval_agree_with_the_analytic_expectation(paired):
    """A false jaywalk record arrives with daily probability p (0.002, minority 0.01).

    Nothing removes records and nothing clips (scores stay far above the floor),
    so each citizen's count over T = 400 days is Binomial(T, p): mean T p,
    variance T p (1 - p).  The group mean of n citizens then has standard error
    sqrt(T p (1 - p) / n); it must lie within 4 standard errors (a chance of
    6e-5 of failing for a correct kernel).  The ledger's 95% interval is
    +-1.96 sample standard errors; the sample variance of n >= 4,000 such
    counts is within 10% of the true one (its relative sd is about
    sqrt(2 / n) < 3%), so the half-width must be within 10% of the analytic one.
    """
    _, ledger, _ = paired
    days = 400
    for group, p in (("majority", 0.002), ("minority", 0.01)):
        entry = ledger["by_group"][group]
        n = entry["citizens"]
        q = entry["quantities"]["false_records"]
        mean = q["rate_per_100k"] / 1e5
        se = math.sqrt(days * p * (1 - p) / n)
        assert abs(mean - days * p) < 4 * se
        low, high = (x / 1e5 for x in q["ci95_per_100k"])
        assert (high - low) / 2 == pytest.approx(1.959963984540054 * se, rel=0.10)
        assert q["status"] == OK


def test_disparity_is_the_ratio_of_rates(paired):
    _, ledger, _ = paired
    assert ledger["reference_group"] == "majority"
    for name, by_group in ledger["disparity"].items():
        ref = ledger["by_group"]["majority"]["quantities"][name]["rate_per_100k"]
        for group, d in by_group.items():
            rate = ledger["by_group"][group]["quantities"][name]["rate_per_100k"]
            if ref:
                assert d["ratio"] == pytest.approx(rate / ref)
            else:
                assert d["ratio"] is None and d["status"].startswith("undefined")
    # the minority's false-match rate is five times the majority's
    assert ledger["disparity"]["false_records"]["minority"]["ratio"] == pytest.approx(5, rel=0.1)


def test_unpaired_runs_do_not_report_what_they_cannot_measure():
    result = simulate(scenario(population__size=2000))
    ledger = build_ledger(result, None)
    for name in ("wrongly_sanctioned", "speech_lost", "behaviours_prevented"):
        assert ledger["totals"][name] is None
        for entry in ledger["by_group"].values():
            assert entry["quantities"][name]["status"] == NOT_MEASURED
            assert entry["quantities"][name]["rate_per_100k"] is None
    assert ledger["totals"]["trips_denied"] == sum(
        r["denied_trips"] for r in daily_table(result).to_pylist())


def test_empty_and_small_groups_are_marked_not_zero():
    s = scenario(population__size=60, population__groups=[
        {"name": "majority", "share": 0.9989}, {"name": "minority", "share": 0.001},
        {"name": "none", "share": 0.0001}])
    result = simulate(s, counterfactual=no_system(s))
    ledger = build_ledger(result, "none")
    by_group = ledger["by_group"]
    assert by_group["none"]["citizens"] == 0
    assert by_group["none"]["quantities"]["sanctioned"]["rate_per_100k"] is None
    assert by_group["none"]["quantities"]["sanctioned"]["status"] == NO_CITIZENS
    assert ledger["disparity"]["sanctioned"]["none"]["ratio"] is None
    assert 0 < by_group["majority"]["citizens"] < 100
    assert by_group["majority"]["small_group"]
    assert by_group["majority"]["quantities"]["false_records"]["status"] == SMALL


def test_cli_pairs_with_none_and_writes_the_ledger(tmp_path):
    out = tmp_path / "paired"
    result = runner.invoke(app, ["run", str(SCENARIOS / "demo.toml"), "--population", "3000",
                                 "--days", "60", "--out", str(out), "--counterfactual", "none"])
    assert result.exit_code == 0, result.output
    ledger = json.loads((out / "ledger.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert ledger["paired"] and ledger["counterfactual"] == "none"
    assert summary["counterfactual"]["label"] == "none"
    assert summary["counterfactual"]["scenario"]["channels"] == {}
    assert "speech_lost" in pq.read_table(out / "daily.parquet").column_names
    assert "paired with 'none'" in result.output


def test_cli_pairs_with_a_scenario_file_of_the_same_world(tmp_path):
    other = tmp_path / "lenient.toml"
    text = R0.read_text().replace("blacklist_below = 600", "blacklist_below = 300")
    assert text != R0.read_text()
    other.write_text(text)
    out = tmp_path / "paired"
    result = runner.invoke(app, ["run", str(R0), "--population", "2000", "--days", "30",
                                 "--out", str(out), "--quiet", "--counterfactual", str(other)])
    assert result.exit_code == 0, result.output
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["counterfactual"] == str(other)
    assert ledger["totals"]["behaviours_prevented"] == 0  # R0 has no deterrence


@pytest.mark.parametrize(
    ("counterfactual", "expected"),
    [
        ("demo", "--counterfactual: {path}: population: differs from the run's"),
        ("missing", "--counterfactual: {path}: file not found"),
    ],
)
def test_cli_refuses_a_counterfactual_it_cannot_pair(tmp_path, counterfactual, expected):
    path = SCENARIOS / "demo.toml" if counterfactual == "demo" else tmp_path / "missing.toml"
    out = tmp_path / "never"
    result = runner.invoke(app, ["run", str(R0), "--population", "1000", "--out", str(out),
                                 "--quiet", "--counterfactual", str(path)])
    assert result.exit_code == 2
    assert expected.format(path=path) in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_memory_estimate_counts_the_counterfactual_buffers():
    """Paired: the run's tallies (workers + 4), the counterfactual's, and a shadow per worker."""
    from scsim.engine.memory import estimate_memory

    s = scenario()
    alone = estimate_memory(s, 2).tally_bytes
    other = estimate_memory(no_system(s), 2).tally_bytes  # no channels: no false streams
    assert other < alone
    # in the pair the counterfactual's flows also have the columns of the run's mechanisms
    # (the travel ban's denied trips): one more int64 per day and group, in 6 copies
    extra = 6 * (s.run.days + 1) * len(s.population.groups) * 8
    assert estimate_memory(s, 2, no_system(s)).tally_bytes == (alone + other + extra
                                                               + alone * 2 // 6)


def test_count_interval_is_exact_poisson_and_never_negative():
    """Poisson counts (phi = 1): the Garwood bounds; published values for 3 events are
    0.619 and 8.77 (e.g. Ulm 1990); overdispersion widens them; none goes below 0."""
    n = 100_000
    low, high = count_interval(3, 3.0, n)  # three citizens with one event each
    assert low * n == pytest.approx(0.6187, abs=1e-4) and high * n == pytest.approx(8.767,
                                                                                    abs=1e-3)
    assert count_interval(0, 0.0, n) == (0.0, pytest.approx(-math.log(0.025) / n))
    # one citizen with 40 events: the variance shows it, and the interval widens
    wide = count_interval(40, 1600.0, n)
    narrow = count_interval(40, 40.0, n)
    assert wide[0] >= 0 and wide[1] - wide[0] > 5 * (narrow[1] - narrow[0])
    # where the normal interval of the mean would cross 0, this one does not
    assert mean_interval(40, 1600.0, n)[0] < 0 < wide[0] + 1e-300


def test_level_intervals_stay_non_negative_and_ratios_carry_intervals(tmp_path):
    """Every level's interval is within its range; every defined ratio has an interval that
    contains it, and ratios on under MIN_EVENTS events say so."""
    from scsim.ledger import MIN_EVENTS, TOO_FEW

    s = load_scenario(SCENARIOS / "demo.toml", {"population.size": 30_000}).scenario
    ledger = build_ledger(simulate(s, counterfactual=no_system(s)), "none")
    for g in ledger["by_group"].values():
        for q, entry in g["quantities"].items():
            if ledger["quantities"][q]["measure"] != "paired difference" and entry["ci95_per_100k"]:
                assert entry["ci95_per_100k"][0] >= 0, q
    few = 0
    for q, by_group in ledger["disparity"].items():
        for g, d in by_group.items():
            if d["ratio"] is None:
                continue
            assert d["ci95"][0] <= d["ratio"] <= d["ci95"][1], (q, g)
            counts = [ledger["by_group"][k]["quantities"][q]["value"]
                      for k in (g, ledger["reference_group"])]
            if min(counts) < MIN_EVENTS:
                assert d["status"] == TOO_FEW
                few += 1
            else:
                assert d["status"] != TOO_FEW
    assert few > 0  # the demo's small groups have some


def _entries(ledger: dict):
    """Every (quantity, entry) of the ledger: overall, by group, income, region and age."""
    yield from ledger["overall"].items()
    for axis in ("by_group", "by_income", "by_region", "by_age"):
        for place in ledger[axis].values():
            yield from place["quantities"].items()


def test_an_interval_never_leaves_its_quantitys_range():
    """A paired difference of a sanction against 'none' is each citizen's own count (the
    counterfactual cannot deny a trip), so its interval stays at or above 0 even in small
    groups, where the normal interval of a mean dipped below it; against a counterfactual
    that has the sanction, the difference may be negative, and so may its interval."""
    s = load_scenario(SCENARIOS / "national.toml", {"population.size": 20_000}).scenario
    ledger = build_ledger(simulate(s, counterfactual=no_system(s)), "none")
    about = ledger["quantities"]
    for q in ("trips_denied", "children_penalised", "income_lost", "lawful_activity_suppressed"):
        assert about[q]["measure"] == "paired difference" and not about[q]["can_be_negative"]
    assert about["behaviours_prevented"]["can_be_negative"]
    checked = 0
    for q, entry in _entries(ledger):
        if not about[q]["can_be_negative"] and entry["ci95_per_100k"] is not None:
            assert entry["ci95_per_100k"][0] >= 0 <= entry["value"], q
            checked += 1
    assert checked > 100
    strict = load_scenario(SCENARIOS / "national.toml", {
        "population.size": 20_000, "measures.travel_ban.daily_trip_rate": 0.01}).scenario
    other = build_ledger(simulate(s, counterfactual=strict), "stricter")
    assert other["quantities"]["trips_denied"]["can_be_negative"]
    # (the camps against camps: a citizen may do more lawful activity in the run than in the
    # counterfactual, and the interval of a negative total was NaN while it was counted as
    # a level's)
    assert other["quantities"]["lawful_activity_suppressed"]["can_be_negative"]
    for _, entry in _entries(other):
        if entry["ci95_per_100k"] is not None:
            assert all(map(math.isfinite, entry["ci95_per_100k"]))


def test_disparity_is_undefined_for_negative_rates():
    """Against another policy a difference can be negative; its ratio is not reported."""
    from scsim.ledger import _ratio

    def entry(rate):
        return {"rate_per_100k": rate, "status": OK, "value": 50, "ci95_per_100k": None}

    assert _ratio(entry(-2.0), entry(4.0), "majority")["ratio"] is None
    assert _ratio(entry(2.0), entry(-4.0), "majority")["status"].startswith("undefined")
    assert _ratio(entry(2.0), entry(4.0), "majority")["ratio"] == 0.5


def test_every_figure_says_whether_it_is_a_level_or_a_paired_difference(tmp_path):
    runner = CliRunner()
    for extra in ([], ["--counterfactual", "none"]):
        out = tmp_path / f"run{len(extra)}"
        result = runner.invoke(app, ["run", str(SCENARIOS / "demo.toml"), "--out", str(out),
                                     "--population", "2000", "--days", "20", *extra])
        assert result.exit_code == 0, result.output
        ledger = json.loads((out / "ledger.json").read_text())
        measures = {q: meta["measure"] for q, meta in ledger["quantities"].items()}
        assert set(ledger["measures"]) == set(measures.values())
        if not extra:
            assert set(measures.values()) == {"level"}
            assert "all figures are levels" in result.output
            continue
        assert measures["sanctioned"] == "level"
        assert measures["behaviours_prevented"] == "paired difference"
        assert measures["speech_lost"] == "paired difference"
        assert measures["wrongly_sanctioned"] == "paired comparison"
        assert measures["counterfactual_sanctioned"] == "counterfactual level"
        text = " ".join(result.output.split())
        assert "paired differences" in text and "paired comparisons" in text


def test_a_sample_of_a_preset_is_also_scaled_to_its_population_at_80_columns(tmp_path):
    result = CliRunner().invoke(app, ["run", str(SCENARIOS / "national.toml"), "--out",
                                      str(tmp_path / "run"), "--population", "3000",
                                      "--counterfactual", "none"])
    assert result.exit_code == 0, result.output
    assert "Scaled to the scenario's 1,409,778,724 citizens" in result.output
    assert "this run simulated 3,000" in " ".join(result.output.split())
    assert "e+" not in result.output  # counts and rates are written out, never 1.2e+04
    assert max(len(line) for line in result.output.splitlines()) <= 80
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["declared_population"] == 1_409_778_724 and summary["population"] == 3000

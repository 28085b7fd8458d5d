"""scsim trace: one citizen's story is exactly their part of the run."""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.engine.sim import EXAMPLES, simulate
from scsim.engine.trace import Tracer
from scsim.kernels.layout import LEVEL_SCORE_SUM, LEVEL_SCORED
from scsim.scenario import load_scenario
from scsim.scenario.pairing import no_system
from scsim.story import tell

from conftest import R0, SCENARIOS

runner = CliRunner()


@pytest.fixture(scope="module")
def small_region():
    # the flags scored as listing points, as the preset had them before its camps: false
    # matches then list citizens often enough for a story of one in a small sample
    s = load_scenario(SCENARIOS / "targeted-region.toml",
                      {"population.size": 1000, "run.days": 150,
                       "scheme.points.flagged_lawful_activity": -150}).scenario
    return s, simulate(s, counterfactual=no_system(s), first_id=1000)


def test_traces_of_every_citizen_add_up_to_the_run(small_region):
    """Summing every citizen's trace gives the run's tallies, ledger and end scores exactly."""
    s, result = small_region
    tracer = Tracer(s, result.counterfactual, first_id=1000)
    flows = np.zeros_like(result.run.flows[:, 0])
    levels = np.zeros_like(result.run.levels[:, 0])
    ledger = np.zeros_like(result.ledger_sum[0])
    groups = [g.name for g in s.population.groups]
    population = np.zeros(len(groups), dtype=np.int64)
    positive: dict[str, list[int]] = {}
    for k in range(s.population.size):
        trace = tracer.trace(1000 + k)
        for q, name in enumerate(result.kernel_layout.quantities):
            if trace.ledger[q] > 0:
                positive.setdefault(name, []).append(1000 + k)
        flows += trace.flows
        levels += trace.levels
        ledger += trace.ledger
        population[groups.index(trace.me.group)] += 1
        if trace.levels[0, LEVEL_SCORED]:
            assert trace.levels[-1, LEVEL_SCORE_SUM] == result.final_score[k]
    assert np.array_equal(flows, result.run.flows.sum(axis=1))
    assert np.array_equal(levels, result.run.levels.sum(axis=1))
    assert np.array_equal(ledger, result.ledger_sum.sum(axis=0))
    assert np.array_equal(population, result.population)
    assert ledger.any()
    # the run's examples of each quantity are its citizens of smallest id with a positive value
    assert result.examples == {q: ids[:EXAMPLES] for q, ids in positive.items()}
    assert len(result.examples) >= 4


def test_examples_do_not_depend_on_threads_or_chunks(small_region):
    s, result = small_region
    numba.set_num_threads(1)
    try:
        other = simulate(s, counterfactual=no_system(s), first_id=1000, chunk_size=77)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert other.examples == result.examples


def test_story_of_a_wrongly_listed_citizen(small_region):
    s, result = small_region
    tracer = Tracer(s, result.counterfactual, first_id=1000)
    for k in range(s.population.size):
        trace = tracer.trace(1000 + k)
        if trace.ledger[1]:  # Q_WRONGLY_SANCTIONED
            break
    else:
        pytest.skip("nobody wrongly listed in this sample")
    story = tell(trace)
    texts = [text for _, _, text in story.events]
    (channel,) = [c for c, ch in s.channels.items() if ch.false_attribution]
    claimed = s.channels[channel].false_attribution.behaviour.replace("_", " ")
    assert any(t.startswith(f"FALSE RECORD: {channel.replace('_', ' ')} recorded a {claimed}")
               for t in texts)  # which channel, claiming which behaviour
    assert "PUT ON THE BLACKLIST" in texts
    assert any(t.startswith("listed only because of false records") for t in texts)
    assert story.ledger["wrongly_sanctioned"] == 1
    assert "without the system" in story.outcome
    assert [d for d, _, _ in story.events] == sorted(d for d, _, _ in story.events)


def test_cli_trace_tells_and_saves(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(R0), "--population", "500", "--days", "200",
                               "--out", str(out), "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["trace", str(out), "--citizen", "7", "--sample", "2",
                                 "--save"])
    assert result.exit_code == 0, result.output
    assert "citizen 7" in result.output
    saved = json.loads((out / "traces.json").read_text())
    assert saved["stories"][0]["citizen"] == 7
    assert len(saved["stories"]) == 3


def _prosecuting_run(tmp_path, prosecution: str, population: int, days: int):
    """An R0 run with prosecution for speech (the section's fields after behaviours)."""
    scenario = tmp_path / "prosecuted.toml"
    scenario.write_text(R0.read_text() + '\n[measures.prosecution]\nbehaviours = ["speech"]\n'
                        + prosecution)
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(scenario), "--population", str(population), "--days",
                               str(days), "--out", str(out), "--quiet"]).exit_code == 0
    return out


def test_cli_trace_finds_a_detained_citizen_and_tells_the_case(tmp_path):
    out = _prosecuting_run(tmp_path, "probability = 0.5\ndelay_days = 3\ndetention_days = 30\n",
                           300, 200)
    result = runner.invoke(app, ["trace", str(out), "--sample", "1", "--only", "detained"])
    assert result.exit_code == 0, result.output
    for line in ("prosecuted for a post", "detained", "released from detention"):
        assert line in result.output
    # the first citizen told is the run's first example of the kind (stories.json)
    stories = json.loads((out / "stories.json").read_text())
    assert f"citizen {stories['examples']['ever_detained'][0]}" in result.output
    kinds = [story["kind"] for story in stories["stories"]]
    assert {"sanctioned", "prosecuted", "ever_detained"} <= set(kinds)
    told = [story["citizen"] for story in stories["stories"]]
    assert len(told) == len(set(told))  # each kind a citizen not told before


def test_cli_trace_says_when_a_run_has_nobody_of_the_kind(tmp_path):
    out = _prosecuting_run(tmp_path, "probability = 0.0\n", 100, 20)
    result = runner.invoke(app, ["trace", str(out), "--sample", "1", "--only", "prosecuted"])
    assert result.exit_code == 2
    assert "nobody in this run is prosecuted" in result.output


def test_each_only_choice_of_a_mechanism_is_a_quantity_of_its_module():
    from scsim.cli.tracing import ONLY_QUANTITY
    from scsim.mechanisms import MECHANISMS

    for quantity, section in ONLY_QUANTITY.values():
        module = next(m for m in MECHANISMS if m.section == section)
        assert quantity in [q.name for q in module.quantities]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_prosecution", "--only prosecuted: this run has no measures.prosecution"),
        ("missing", "no such run folder"),
        ("corrupt", "summary.json: unreadable or corrupt"),
        ("out_of_range", "--citizen: 999 is not in this run (ids 0 to 99)"),
        ("nothing", "name citizens with --citizen ID or draw some with --sample K"),
    ],
)
def test_cli_trace_refuses_bad_input(tmp_path, setup, message):
    out = tmp_path / "run"
    if setup != "missing":
        assert runner.invoke(app, ["run", str(R0), "--population", "100", "--days", "5",
                                   "--out", str(out), "--quiet"]).exit_code == 0
    if setup == "corrupt":
        (out / "summary.json").write_text('{"scenario": ')
    args = {"nothing": [], "no_prosecution": ["--sample", "1", "--only", "prosecuted"]}.get(
        setup, ["--citizen", "999" if setup == "out_of_range" else "1"])
    result = runner.invoke(app, ["trace", str(out), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_sample_never_repeats_a_citizen(tmp_path):
    """--sample draws without replacement: K distinct citizens, or every citizen of a run
    smaller than K (said), never one twice."""
    out = tmp_path / "tiny"
    assert runner.invoke(app, ["run", str(R0), "--out", str(out), "--population", "12",
                               "--days", "30", "--quiet"]).exit_code == 0
    for sample, seed in ((12, 0), (12, 5), (8, 1), (30, 2)):
        result = runner.invoke(app, ["trace", str(out), "--sample", str(sample),
                                     "--sample-seed", str(seed), "--save", "--search-seconds",
                                     "5"])
        assert result.exit_code == 0, result.output
        told = [s["citizen"] for s in json.loads((out / "traces.json").read_text())["stories"]]
        assert len(told) == len(set(told)) == min(sample, 12), told
        if sample > 12:
            assert "every one was drawn" in " ".join(result.output.split())
    with_ids = runner.invoke(app, ["trace", str(out), "--citizen", "3", "--sample", "12",
                                   "--save"])
    assert with_ids.exit_code == 0, with_ids.output
    told = [s["citizen"] for s in json.loads((out / "traces.json").read_text())["stories"]]
    assert told[0] == 3 and sorted(told) == list(range(12))  # 3 once, though also drawable


def test_a_trace_is_bounded(tmp_path):
    out = tmp_path / "tiny"
    assert runner.invoke(app, ["run", str(R0), "--out", str(out), "--population", "12",
                               "--days", "5", "--quiet"]).exit_code == 0
    too_many = runner.invoke(app, ["trace", str(out), "--sample", "100000"])
    assert too_many.exit_code == 2 and "--sample" in too_many.stderr
    ids = [arg for k in range(1001) for arg in ("--citizen", str(k % 12))]
    listed = runner.invoke(app, ["trace", str(out), *ids])
    assert listed.exit_code == 2 and "--citizen: at most 1,000 citizens" in listed.stderr

"""The printed phase plan agrees with the kernel, the random-number purposes and the ODD."""

from __future__ import annotations

import inspect
import re

from typer.testing import CliRunner

import scsim.rng.counter as counter
from scsim.cli import app
from scsim.engine.plan import PLAN, SET_UP, plan_lines
from scsim.engine.tables import compile_tables
from scsim.mechanisms import MECHANISMS
from scsim.scenario import load_scenario

from conftest import R0, ROOT, SCENARIOS

KERNEL = (ROOT / "src" / "scsim" / "kernels" / "neighbourhood.py").read_text()


def test_odd_section_3_lists_the_plan_phases_in_order():
    odd = (ROOT / "docs" / "odd.md").read_text()
    section = odd.split("## 3. Process overview and scheduling", 1)[1].split("\n## ", 1)[0]
    phases = re.findall(r"^\d+\. \*\*([A-Za-z ]+)\.\*\*", section, flags=re.M)
    assert phases == [p.name for p in PLAN]


def test_every_random_number_purpose_is_in_the_plan_and_drawn_by_the_kernel():
    """The core's purposes are drawn in the kernel template, a module's in its hooks; no two
    purposes share a number (that would make two kinds of draw the same numbers)."""
    defined = {name: getattr(counter, name) for name in dir(counter) if name.isupper()
               and isinstance(getattr(counter, name), int) and name not in ("MASK64",)
               and not name.startswith("_")}
    modules = {name: number for m in MECHANISMS for name, number in m.purposes.items()}
    assert not set(defined) & set(modules)
    numbers = [*defined.values(), *modules.values()]
    assert len(set(numbers)) == len(numbers)
    planned = {p for phase in PLAN for m in phase.mechanisms for p in m.purposes}
    planned |= set(SET_UP.purposes)
    assert planned == set(defined) | set(modules)
    for purpose in set(defined) - {"GAP"}:
        assert re.search(rf"uniform\((key|seed_key), {purpose}\b", KERNEL), purpose
    assert "GAP" in KERNEL
    r0 = load_scenario(R0).scenario
    tables = compile_tables(r0)
    for m in MECHANISMS:  # a module's purposes are drawn by its hooks or helpers
        source = "".join(inspect.getsource(f) for f in (*m.hooks.values(), *m.helpers))
        if re.search(r"key, P\.purpose\b", source):  # a factory's: its one purpose, given in P
            assert [m.params(r0, tables).purpose] == list(
                m.purposes.values()), m.name
            continue
        for purpose in m.purposes:
            assert re.search(rf"key(, |\(seed_key, low\), ){purpose}\b", source), (
                m.name, purpose)


def test_r0_switches_on_only_what_r0_has():
    lines = plan_lines(load_scenario(R0).scenario)
    on = {re.search(r"\[on \] ([^:]+):", line).group(1) for line in lines if "[on ]" in line}
    assert on == {"traits", "candidate events", "thinning", "recording", "adaptation",
                  "false records", "points and clipping", "blacklist", "travel ban"}


def test_plan_command():
    result = CliRunner().invoke(app, ["plan", str(SCENARIOS / "national-empty-list.toml")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1. Life and periods" in text and "2. Behaviour" in text and "7. Measures" in text
    assert "[off] turnover:" in text
    assert "[off] schedule:" in text and "[off] burn-in:" in text
    assert "[off] credit repair:" in text
    assert ("[on ] judgment debtors: a listing may be on a fixed term; a default is the "
            "unable's or the unwilling's") in text
    assert "(draws: DEBTOR; module judgments, at true_scheduled)" in text
    assert "[off] appeals:" in text
    assert "(draws: APPEAL; module appeals, at false_scheduled)" in text
    assert "[on ] deterrence: a listing raises" in text

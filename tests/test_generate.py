"""The kernel generator: hooks spliced at their sites, checked, and absent when unused."""

from __future__ import annotations

import ast
import re
from dataclasses import replace

import pytest

from scsim.kernels import generate
from scsim.kernels.generate import HookError, kernel_for, kernel_source, universal_kernel
from scsim.kernels.layout import CORE_FLOWS
from scsim.mechanisms import BY_NAME, MECHANISMS, in_kernel
from scsim.mechanisms.base import FLOW, SITES
from scsim.scenario import load_scenario

from conftest import R0, SCENARIOS


def test_every_site_of_the_template_is_known_and_marked_once():
    """Both kernels share the helpers that hold ``spell_closed`` and ``ledger``."""
    marked = re.findall(r"^\s*# @hook (\w+)\s*$", generate.TEMPLATE.read_text(), flags=re.M)
    assert sorted(marked) == sorted(SITES)
    assert {"spell_closed", "ledger"} == generate.LEAN_SITES


def test_every_variable_a_site_offers_is_defined_there():
    """A hook may take any variable its site lists (``SITES``); each must be a parameter of
    the template's function that holds the site, or assigned in it above the marker, or a
    hook using it would fail only when some scenario first compiled it.  (Coarse: an
    assignment on another branch counts; that is enough to catch a missing one.)"""
    text = generate.TEMPLATE.read_text()
    functions = [f for f in ast.parse(text).body if isinstance(f, ast.FunctionDef)]
    for number, line in enumerate(text.splitlines(), 1):
        if not (marker := re.match(r"^\s*# @hook (\w+)\s*$", line)):
            continue
        function = max((f for f in functions if f.lineno <= number), key=lambda f: f.lineno)
        defined = {a.arg for a in function.args.args} | {
            n.id for n in ast.walk(function)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.lineno < number}
        site = marker.group(1)
        assert SITES[site][1] <= defined, (site, function.name, SITES[site][1] - defined)


def test_an_unused_mechanism_is_not_in_the_kernel():
    """R0 has a travel ban only: the other modules' code is not in its kernel at all."""
    mechanisms = in_kernel(load_scenario(R0).scenario)
    assert [m.name for m in mechanisms] == ["travel_ban"]
    text = kernel_source(mechanisms)
    assert "# travel_ban\n" in text and "refused_on_listed_days(key, mp[0].purpose" in text
    assert "loan_denial" not in text and "school_admission" not in text


def test_columns_are_numbered_from_the_declarations():
    text = kernel_source(MECHANISMS)
    names = [f.name for m in MECHANISMS for f in m.flows]
    assert f"N_NAMED_FLOWS = {len(CORE_FLOWS) + len(names)}" in text  # the core's, then theirs
    assert "FLOW." not in text and "OUT." not in text and "Q." not in text


def test_the_kernel_module_is_written_once_and_reused():
    mechanisms = (BY_NAME["travel_ban"],)
    first = kernel_for(mechanisms)
    assert kernel_for(mechanisms) is first
    assert first.__file__.endswith(".py") and "generated" in first.__file__
    assert first.MECHANISMS == ("travel_ban",)


def _with_hook(site: str, hook) -> object:
    return replace(BY_NAME["travel_ban"], hooks={site: hook})


def test_a_hook_naming_something_the_site_lacks_is_refused():
    def spell_closed(P, day):  # 'day' is not a variable of the kernel at this site
        pass

    with pytest.raises(HookError, match=r"\['day'\] are not variables of the kernel there"):
        kernel_source([_with_hook("spell_closed", spell_closed)])


def test_a_hook_that_returns_is_refused():
    def returns(flows):
        return

    with pytest.raises(HookError, match="may not return"):
        kernel_source([_with_hook("spell_closed", returns)])


def test_a_hook_using_an_undeclared_column_or_unknown_name_is_refused():
    def column(flows, g, first):
        flows[first, g, FLOW.not_declared] += 1

    def unknown(flows):
        flows[0, 0, 0] += undefined_name  # noqa: F821

    with pytest.raises(HookError, match=r"FLOW\.not_declared is not declared"):
        kernel_source([_with_hook("spell_closed", column)])
    with pytest.raises(HookError, match="'undefined_name' is neither"):
        kernel_source([_with_hook("spell_closed", unknown)])


def test_hook_variables_are_renamed_apart_and_params_indexed():
    text = kernel_source([BY_NAME["school_admission"], BY_NAME["travel_ban"]])
    assert "_school_admission_child_key = citizen_key(" in text
    assert "mp[1].rate[c]" in text and "mp[0].day" in text


def test_values_per_period_are_indexed_only_in_kernels_with_a_schedule():
    """``P.x[k]`` of a per-period field is the value itself without a schedule (no index, no
    cost), and ``if SCHEDULED:`` keeps its own kind's branch."""
    modules = [BY_NAME["human_review"], BY_NAME["travel_ban"]]
    plain = kernel_source(modules)
    scheduled = kernel_source(modules, scheduled=True)
    assert "mp[0].catch > 0.0" in plain and "mp[0].catch[k] > 0.0" in scheduled

    def close_spell(text: str) -> str:
        return text.split("def _spell_closed(")[1].split("@njit")[0]

    assert "refused_on_listed_days(key, mp[1].purpose" in close_spell(plain)
    assert "_by_period(" not in close_spell(plain)
    assert ("refused_on_listed_days_by_period(key, mp[1].purpose"
            in close_spell(scheduled))
    assert "mp[1].rate[:, c], mp[1].period_of_day" in close_spell(scheduled)


def test_warm_up_loads_the_kernel_of_the_scenario_it_is_given():
    """``scsim run`` warms up before the clock starts: the run's own kernel, not another's.
    (R0's specialised kernel, which ``tests/compile_kernels.py`` compiles before the suite.)"""
    from scsim.engine.choice import kernel_kind
    from scsim.engine.warmup import warm_up

    s = load_scenario(R0, {"population.size": 1000}).scenario
    warm_up(s, kernel="specialised")
    assert kernel_for(in_kernel(s), **kernel_kind(s)).simulate_worker.signatures
    warm_up(s)  # (auto: a run this small takes the universal kernel)
    assert universal_kernel().simulate_worker.signatures


def test_the_templates_state_columns_are_the_layouts_core_state():
    """Mechanisms' state follows the core's: the template's S_* must be CORE_STATE, in order."""
    from scsim.kernels import neighbourhood
    from scsim.kernels.layout import CORE_STATE

    columns = {name[2:].lower(): value for name, value in vars(neighbourhood).items()
               if name.startswith("S_") and isinstance(value, int)}
    assert sorted(columns, key=columns.get) == list(CORE_STATE)
    assert sorted(columns.values()) == list(range(len(CORE_STATE)))


def test_a_mechanism_cannot_take_a_name_already_used():
    from scsim.kernels.layout import KernelLayout

    clash = replace(BY_NAME["speech_suspension"], state=("score", "suspended_until"))
    with pytest.raises(ValueError, match=r"declare state \['score'\] that are already taken"):
        KernelLayout.of([clash])


def test_the_kernel_for_one_citizen_neighbourhoods_gives_the_general_kernels_results():
    """Without households every neighbourhood is one citizen, and a specialised kernel is
    compiled for that (``single``: its sizes are constants). It must change speed only: the
    same scenario, paired with none (so the shadow and counterfactual variants run too),
    through the universal kernel, which has the general form, gives every table and
    ledger sum bit for bit."""
    import numpy as np

    from scsim.engine import sim
    from scsim.engine.choice import plan_kernel
    from scsim.scenario.pairing import no_system

    s = load_scenario(SCENARIOS / "demo.toml", {"population.size": 3000}).scenario
    cf = no_system(s)
    assert s.population.households is None
    assert plan_kernel(s, cf, kernel="specialised").module.SINGLE
    assert not universal_kernel().SINGLE
    single = sim.simulate(s, counterfactual=cf, kernel="specialised")
    other = sim.simulate(s, counterfactual=cf, kernel="universal")
    for a, b in ((single.run, other.run),
                 (single.counterfactual_tallies, other.counterfactual_tallies)):
        for name in ("flows", "levels", "score_histogram"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("ledger_sum", "ledger_sum_squares", "final_score", "final_false_records",
                 "cell_sum"):
        assert np.array_equal(getattr(single, name), getattr(other, name)), name
    assert single.examples == other.examples
    assert single.run.flows.sum() > 0 and single.ledger_sum.sum() > 0


def test_households_of_neighbourhoods_of_one_get_the_general_kernel(monkeypatch):
    """A neighbourhood of one citizen with households still draws its household (kind, ages),
    so the kernel for one-citizen neighbourhoods is chosen by households, not by size."""
    from scsim.engine import choice, sim

    chosen = []

    class Chosen(Exception):
        pass

    def record(*args, **kwargs):
        chosen.append(kwargs["single"])
        raise Chosen  # (the choice is what is tested: nothing is compiled)

    monkeypatch.setattr(choice, "kernel_for", record)
    households = load_scenario(SCENARIOS / "national.toml", {
        "population.size": 100, "population.households.neighbourhood_size": 1}).scenario
    plain = load_scenario(R0, {"population.size": 100}).scenario
    for s in (households, plain):
        with pytest.raises(Chosen):
            sim.simulate(s, kernel="specialised")
    assert chosen == [False, True]


def test_the_readme_names_every_mechanism_module():
    """The README's list of mechanism modules is the registry's (``scsim.mechanisms``)."""
    text = (SCENARIOS.parent / "README.md").read_text()
    listed = re.search(r"the mechanism modules:\s*(.*?);", text, re.S)
    assert listed, "the README lost its list of mechanism modules"
    names = re.findall(r"`(\w+)`", listed[1])
    assert names == sorted(names) and set(names) == {m.name for m in MECHANISMS}


def test_a_refusal_on_listed_days_is_one_call_of_the_factory():
    """A new sanction of the kind (a passport refused, say) is a call of the factory: its
    hooks are the shared ones, spliced with its own columns and random-number purpose."""
    from scsim.mechanisms.base import Flow
    from scsim.mechanisms.refusals import refusal_on_listed_days
    from scsim.quantities import Quantity

    passport = refusal_on_listed_days(
        name="passport_refusal", title="passport refusal", section="measures.travel_ban",
        what="passport applications over listed spells are refused",
        rate="daily_trip_rate", purpose=("PASSPORT", 99), attempts="a passport applied for",
        cost="yuan_per_refused_trip",
        flow=Flow("passports_refused", "passport applications refused to the listed"),
        quantity=Quantity("passports_refused", False, "harm", "applications", False,
                          "passport applications refused, beyond the counterfactual's"))
    text = kernel_source([passport, BY_NAME["travel_ban"]])
    flows = text.split("N_NAMED_FLOWS = ")[1].split("\n")[0]
    assert "passports_refused" in flows and "denied_trips" in flows
    column = len(CORE_FLOWS)  # the first mechanism's flow
    assert f"mp[0].rate[c], flows, g, {column})" in text  # its own column
    assert f"mp[1].rate[c], flows, g, {column + 1})" in text  # travel ban's
    assert passport.purposes == {"PASSPORT": 99} and passport.per_period == ("rate",)

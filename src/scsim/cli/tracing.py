"""``scsim trace``: life stories of synthetic citizens."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from scsim.cli.common import (
    _read_run,
    _write_text_atomically,
    app,
    console,
    fail,
)


class OnlyCitizens(StrEnum):
    any = "any"
    sanctioned = "sanctioned"
    false_records = "false-records"
    prosecuted = "prosecuted"
    detained = "detained"
    advantaged = "advantaged"


ONLY_QUANTITY = {OnlyCitizens.prosecuted: ("prosecuted", "measures.prosecution"),
                 OnlyCitizens.detained: ("ever_detained", "measures.prosecution"),
                 OnlyCitizens.advantaged: ("children_advantaged", "measures.school_priority")}
"""--only choices that are a ledger quantity of a mechanism: (quantity, its section)."""
ONLY_KIND = {OnlyCitizens.sanctioned: "sanctioned", OnlyCitizens.false_records: "false_records"}
"""The core's --only choices, by their ledger quantity."""


MAX_STORIES = 1_000
"""Most citizens one trace tells (each is printed)."""


@app.command()
def trace(
    run_folder: Annotated[Path, typer.Argument(help="A run folder written by scsim run.")],
    citizen: Annotated[
        list[int] | None, typer.Option("--citizen", help="Citizen id to follow (repeatable).")
    ] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, max=MAX_STORIES, help="Follow this many citizens "
                                 "drawn at random (at most 1,000).")
    ] = None,
    only: Annotated[
        OnlyCitizens, typer.Option(help="With --sample: draw only among citizens who were "
                                   "sanctioned, received false records, were prosecuted, "
                                   "detained, or given a school place for a parent's "
                                   "grade.")
    ] = OnlyCitizens.any,
    sample_seed: Annotated[int, typer.Option(help="Seed of the --sample draw.")] = 0,
    search_seconds: Annotated[
        float, typer.Option(min=0, max=3600, help="With --only: how long to keep drawing "
                            "before giving up (each draw re-simulates one neighbourhood, a few "
                            "ms; at most an hour).")
    ] = 60.0,
    save: Annotated[
        bool, typer.Option("--save", help="Also write the stories to RUN/traces.json "
                           "(replacing it), for scsim report.")
    ] = False,
) -> None:
    """Tell the life of synthetic citizens of a run: records, false matches, score, sanctions.

    With --only, the run's own examples of the kind (stories.json) come first, then
    citizens drawn at random until enough are found.

    The citizen's neighbourhood is simulated again from the stored scenario,
    which reproduces the run exactly; dates are illustrative (day 1 is shown
    as 2026-01-01).
    """

    import numpy as np

    from scsim.engine.trace import Tracer
    from scsim.engine.warmup import warm_up
    from scsim.kernels.layout import Q_FALSE_RECORDS, Q_SANCTIONED
    from scsim.story import tell

    if not citizen and sample is None:
        raise fail("trace: name citizens with --citizen ID or draw some with --sample K")
    if len(citizen or []) > MAX_STORIES:
        raise fail(f"--citizen: at most {MAX_STORIES:,} citizens at once, got "
                   f"{len(citizen):,}")
    stored = _read_run(run_folder, ("summary.json",), ("stories.json",))
    s = stored.scenario
    first, last = stored.first_id, stored.first_id + s.population.size - 1
    for c in citizen or []:
        if not first <= c <= last:
            raise fail(f"--citizen: {c} is not in this run (ids {first} to {last})")
    with console.status("loading compiled kernels (compiling on first use)...", spinner="dots"):
        warm_up(s, stored.counterfactual, stored.kernel)
        tracer = Tracer(s, stored.counterfactual, first, kernel=stored.kernel)
    stories = [tell(tracer.trace(c)) for c in citizen or []]
    if sample is not None:
        rng = np.random.default_rng(sample_seed)
        if only in ONLY_QUANTITY:
            name, section = ONLY_QUANTITY[only]
            if name not in tracer.layout.quantities:
                raise fail(f"--only {only.value}: this run has no {section}, so nobody in it "
                           f"is {only.value}")
            column = tracer.layout.quantities.index(name)
            wanted = lambda t: t.ledger[column] > 0  # noqa: E731
        else:
            wanted = {
                OnlyCitizens.any: lambda t: True,
                OnlyCitizens.sanctioned: lambda t: t.ledger[Q_SANCTIONED] > 0,
                OnlyCitizens.false_records: lambda t: t.ledger[Q_FALSE_RECORDS] > 0,
            }[only]
        tries = 0
        found = 0
        # the run's examples of the kind first (stories.json; a rare kind, such as the few
        # hundred prosecuted of a national run, is hopeless to find by drawing)
        kind = ONLY_QUANTITY[only][0] if only in ONLY_QUANTITY else ONLY_KIND.get(only)
        examples = (stored.stories or {}).get("examples", {}).get(kind, []) if kind else []
        if kind and stored.stories is not None and not examples:
            # (the run keeps examples of every quantity any citizen has)
            raise fail(f"--only {only.value}: nobody in this run is {only.value.replace('-', ' ')}"
                       " (stories.json has no example)")
        # every citizen is told at most once: the draw is without replacement
        seen = set(citizen or [])
        for candidate in examples:
            if found == sample:
                break
            if candidate not in seen:
                seen.add(candidate)
                stories.append(tell(tracer.trace(candidate)))
                found += 1
        deadline = time.perf_counter() + search_seconds
        with console.status(f"drawing {sample} citizens ({only.value})...", spinner="dots"):
            while (found < sample and len(seen) < s.population.size
                   and (tries < sample or time.perf_counter() < deadline)):
                candidate = int(rng.integers(first, last + 1))
                tries += 1
                if candidate in seen:
                    continue
                seen.add(candidate)
                t = tracer.trace(candidate)
                if wanted(t):
                    stories.append(tell(t))
                    found += 1
        if found < sample and len(seen) == s.population.size:
            console.print(f"found {found} of {sample} citizens ({only.value}): the run has "
                          f"{s.population.size:,} citizens, and every one was drawn")
        elif found < sample:
            console.print(f"found {found} of {sample} citizens ({only.value}) in {tries:,} "
                          f"draws ({search_seconds:g} s); allow longer with --search-seconds")
    for story in stories:
        _print_story(story)
    if save and not stories:
        console.print("no stories to save: traces.json left as it was")
    elif save:
        document = {"run": str(run_folder), "counterfactual": stored.counterfactual_label,
                    "date_note": "dates are illustrative: day 1 is shown as 2026-01-01",
                    "stories": [story.as_dict() for story in stories]}
        target = run_folder / "traces.json"
        _write_text_atomically(target, json.dumps(document, indent=2) + "\n", replace=True)
        console.print(f"wrote {target}")


def _print_story(story) -> None:
    console.rule(Text(f"citizen {story.citizen}", style="bold"))
    console.print(story.who, markup=False)
    console.print(f"household: {story.household}", markup=False)
    table = Table(show_edge=False, show_header=True)
    table.add_column("day", justify="right")
    table.add_column("date")
    table.add_column("what happened", overflow="fold")
    for day, date, text in story.events:
        table.add_row(str(day), date, Text(text, style="bold" if text.isupper()
                                           or text.split(":")[0].isupper() else ""))
    if story.events:
        console.print(table)
    else:
        console.print("nothing happened to this citizen")
    console.print(story.outcome, markup=False)
    shown = {k: v for k, v in story.ledger.items() if v}
    if shown:
        console.print("ledger: " + ", ".join(f"{k} {v:,}" for k, v in shown.items()),
                      markup=False)

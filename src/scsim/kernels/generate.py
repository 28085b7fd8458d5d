"""Write the kernel of a set of mechanisms: the template with their hooks spliced in.

``kernels/neighbourhood.py`` is the kernel without mechanism modules; it
marks each site of the phase plan where a mechanism may act with a comment
``# @hook SITE``.  For the mechanisms a run uses (``scsim.mechanisms``), this
module copies the template, writes the columns of ``KernelLayout`` into its
layout block, and replaces each site's comment by the bodies of the hooks
declared for it, in the mechanisms' order.  The result is a real file, named
after a hash of its text, in the kernel cache folder: numba compiles it once
and caches it like any module, and a mechanism no scenario of the run uses is
simply not in it (it costs nothing, not even a branch).

Why source, not function calls: every call of a numba function that takes
arrays binds them by assignment, and in the kernel's loops the reference
counting that costs made it six times slower (see ``simulate_batch``); a
spliced body is the same code as if written at the site by hand.

A hook is checked before it is spliced: its parameters must be variables of
the kernel at its site (``SITES``), it may not return (a hook is a
module's function, so Python itself refuses a ``break`` outside its loops), its own variables are
renamed apart (``_NAME_var``), ``P.x`` becomes the mechanism's entry of the
kernel's parameter tuple (in a kernel without a schedule, ``P.x[k, ...]`` of a
``per_period`` field drops its period index, the field being the one period's
value, and ``if SCHEDULED:`` keeps the branch of the kernel's kind), ``FLOW.x``,
``OUT.x`` and ``Q.x`` become column numbers, and names of the mechanism's
module are imported under a prefixed alias; any other name must be one of the
kernel's own.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.util
import inspect
import os
import re
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from scsim.kernels.cache import CACHE_DIR
from scsim.kernels.layout import PILOT_OUTCOMES, KernelLayout
from scsim.mechanisms.base import SITES, Mechanism

TEMPLATE = Path(__file__).with_name("neighbourhood.py")
_LAYOUT_BLOCK = re.compile(
    r"^# --- the layout of this kernel: rewritten by scsim\.kernels\.generate -+\n"
    r".*?^# --- end of the layout -+\n", re.M | re.S)
_SITE = re.compile(r"^(?P<indent>[ \t]*)# @hook (?P<site>\w+)[ \t]*$", re.M)
_COLUMNS = {"FLOW": "flows", "OUT": "outcomes", "Q": "quantities", "LEVEL": "levels",
            "S": "state"}
_BUILTINS = frozenset(dir(builtins))
LEAN_SITES = frozenset({"spell_closed", "ledger"})
RUN_TIME_KINDS = {"TURNOVER": "turnover", "PILOTS": "pilots", "LEAN": "lean"}
"""The kinds the universal kernel reads at run time, from the tables (``KernelTables``): the
others it holds in their general form, which gives the same results for any run (one period
of a schedule, no timer set, neighbourhoods of one), so they stay constants there.  Lean
too has a general form (simulate_batch), but R0 runs twice as fast in simulate_singles."""
_RUN_TIME_KIND = re.compile(r"(?<![\w.])(" + "|".join(RUN_TIME_KINDS) + r")\b")
"""The only sites a lean kernel's mechanisms may act at (``simulate_singles`` has no others)."""
_lock = threading.Lock()
_loaded: dict[tuple[str, ...], ModuleType] = {}


class HookError(ValueError):
    """A hook that cannot be spliced (a programming error in a mechanism module)."""


def _template_names(template: str) -> frozenset[str]:
    """Names bound at the top level of the kernel template (imports, functions, constants)."""
    names: set[str] = set()
    for node in ast.parse(template).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return frozenset(names)


class _Splicer(ast.NodeTransformer):
    def __init__(self, mechanism: Mechanism, position: int | None, layout: KernelLayout,
                 parameters: set[str], local: set[str], kernel_names: frozenset[str],
                 imports: dict[str, str], where: str, scheduled: bool = False,
                 universal: bool = False, kernel: Sequence[Mechanism] = ()):
        self.m = mechanism
        self.kernel = {m.name for m in kernel}
        self.scheduled = scheduled
        self.universal = universal
        self.position = position
        self.layout = layout
        self.parameters = parameters
        self.local = local
        self.kernel_names = kernel_names
        self.imports = imports
        self.where = where
        self.helpers = {h.__name__ for h in mechanism.helpers}
        self.module = sys.modules[mechanism.module]

    def _fail(self, node: ast.AST, why: str) -> HookError:
        return HookError(f"mechanism {self.m.name}, line {getattr(node, 'lineno', '?')} of its "
                         f"{self.where}: {why}")

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
        """``if SCHEDULED:`` keeps the branch of this kernel's kind (so each branch may use
        its own kind's parameters)."""
        if isinstance(node.test, ast.Name) and node.test.id == "SCHEDULED":
            kept = node.body if self.scheduled else node.orelse
        elif (isinstance(node.test, ast.Attribute) and isinstance(node.test.value, ast.Name)
                and node.test.value.id == "ACTIVE"):
            kept = node.body if node.test.attr in self.kernel else node.orelse
        else:
            return self.generic_visit(node)
        return _flat([self.visit(stmt) for stmt in kept]) or [ast.Pass()]

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        """``P.x[k, ...]`` of a ``per_period`` field: in a kernel without a schedule the field
        is the one period's value, so the period index is dropped."""
        value = node.value
        if (not self.scheduled and isinstance(value, ast.Attribute)
                and isinstance(value.value, ast.Name) and value.value.id == "P"
                and value.attr in self.m.per_period):
            rest = node.slice.elts[1:] if isinstance(node.slice, ast.Tuple) else []
            if not rest:
                return self.visit(value)
            index = rest[0] if len(rest) == 1 else ast.Tuple(rest, ast.Load())
            node = ast.copy_location(ast.Subscript(value, index, node.ctx), node)
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id in _COLUMNS:
            names = getattr(self.layout, _COLUMNS[node.value.id])
            column = f"{node.value.id}.{node.attr}"
            name = self.m.columns_as.get(column, node.attr)
            if name not in names:
                raise self._fail(node, f"{column} is not declared by any mechanism of this "
                                       "kernel")
            return ast.copy_location(ast.Constant(names.index(name)), node)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        name = node.id
        if self.universal and name in RUN_TIME_KINDS:
            if "t" not in self.parameters and self.position is None:
                raise self._fail(node, f"{name} in a helper of the universal kernel: give it "
                                       f"the tables t and read t.{RUN_TIME_KINDS[name]}")
            return ast.copy_location(ast.Attribute(ast.Name("t", ast.Load()),
                                                   RUN_TIME_KINDS[name], ast.Load()), node)
        if name == "P":
            if self.position is None:
                raise self._fail(node, "a helper is given values, not P")
            return ast.copy_location(ast.Subscript(ast.Name("mp", ast.Load()),
                                                   ast.Constant(self.position), ast.Load()), node)
        if name in self.parameters:
            return node
        if name in self.local:
            return ast.copy_location(ast.Name(f"_{self.m.name}_{name}", node.ctx), node)
        if name in self.helpers:
            return ast.copy_location(ast.Name(_helper_name(self.m, name), node.ctx), node)
        value = vars(self.module).get(name)
        owner = _helper_of(value) if inspect.isfunction(value) else None
        if owner is not None and owner != self.m.name:  # another mechanism's (custody's)
            if owner not in self.kernel:
                raise self._fail(node, f"{name} is a helper of the mechanism {owner}, which "
                                       f"this kernel lacks (make it active wherever "
                                       f"{self.m.name} is)")
            return ast.copy_location(ast.Name(_helper_name(owner, value.__name__), node.ctx),
                                     node)
        if name in vars(self.module) and not inspect.ismodule(vars(self.module)[name]):
            alias = f"_{self.m.name}__{name}"
            self.imports[alias] = f"from {self.module.__name__} import {name} as {alias}"
            return ast.copy_location(ast.Name(alias, node.ctx), node)
        if name in self.kernel_names or name in _BUILTINS:
            return node
        raise self._fail(node, f"the name {name!r} is neither a parameter, a variable of the "
                               "hook, a name of its module nor one of the kernel's")

    def visit_Return(self, node: ast.Return) -> ast.AST:
        if self.position is None:
            return self.generic_visit(node)  # a helper is a function of its own
        raise self._fail(node, "a hook may not return (it is spliced into the kernel)")


def _helper_of(function) -> str | None:
    """The mechanism whose helper ``function`` is, if any."""
    from scsim.mechanisms import MECHANISMS

    return next((m.name for m in MECHANISMS if function in m.helpers), None)


def _helper_name(m: Mechanism | str, name: str) -> str:
    return f"_{m if isinstance(m, str) else m.name}__{name}"


def _parse(m: Mechanism, function, what: str) -> tuple[ast.FunctionDef, list[ast.stmt]]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef):
        raise HookError(f"mechanism {m.name}: the {what} must be a plain function")
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return node, body


def _flat(statements: list) -> list[ast.stmt]:
    return [s for item in statements for s in (item if isinstance(item, list) else [item])]


def _hook_source(m: Mechanism, position: int, site: str, layout: KernelLayout,
                 kernel_names: frozenset[str], imports: dict[str, str],
                 scheduled: bool = False, universal: bool = False,
                 kernel: Sequence[Mechanism] = ()) -> str:
    function, body = _parse(m, m.hooks[site], f"{site} hook")
    parameters = {a.arg for a in function.args.args}
    available = SITES[site][1] | {"P"}
    if unknown := parameters - available:
        raise HookError(f"mechanism {m.name}, {site} hook: {sorted(unknown)} are not variables "
                        f"of the kernel there; it has {sorted(available)}")
    local = {n.id for stmt in body for n in ast.walk(stmt)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - parameters
    if clash := local & kernel_names:
        raise HookError(f"mechanism {m.name}, {site} hook: {sorted(clash)} are names of the "
                        "kernel; give its variables other names")
    splicer = _Splicer(m, position, layout, parameters, local, kernel_names, imports,
                       f"{site} hook", scheduled, universal, kernel)
    spliced = _flat([splicer.visit(stmt) for stmt in body]) or [ast.Pass()]
    return "\n".join(ast.unparse(ast.fix_missing_locations(stmt)) for stmt in spliced)


def _helper_source(m: Mechanism, helper, layout: KernelLayout, kernel_names: frozenset[str],
                   imports: dict[str, str], scheduled: bool = False,
                   universal: bool = False, kernel: Sequence[Mechanism] = ()) -> str:
    """A helper of a mechanism as a numba function of the generated module (its columns
    numbered like its hooks'): for code several hooks share."""
    function, body = _parse(m, helper, f"helper {helper.__name__}")
    parameters = {a.arg for a in function.args.args}
    local = {n.id for stmt in body for n in ast.walk(stmt)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - parameters
    splicer = _Splicer(m, None, layout, parameters, local, kernel_names, imports,
                       f"helper {helper.__name__}", scheduled, universal, kernel)
    function.body = _flat([splicer.visit(stmt) for stmt in body]) or [ast.Pass()]
    function.name = _helper_name(m, helper.__name__)
    function.decorator_list = []
    function.returns = None
    for a in function.args.args:
        a.annotation = None
    decorator = ('@njit(inline="always", cache=True)' if getattr(helper, "inline", False)
                 else "@njit(cache=True)")
    return decorator + "\n" + ast.unparse(ast.fix_missing_locations(function))


def kernel_source(mechanisms: Sequence[Mechanism], template: str | None = None,
                  scheduled: bool = False, turnover: bool = False, pilots: bool = False,
                  single: bool = False, lean: bool = True, universal: bool = False) -> str:
    """The kernel's text for these mechanisms (in this order); ``scheduled``: with the code
    for values that change over the run (periods), which a run without a schedule lacks;
    ``single``: for neighbourhoods of one citizen (no households): the kernel's sizes and
    members are then constants, so the compiler drops the code for larger ones; ``lean``
    (where ``is_lean``): an unpaired run takes ``simulate_singles`` (``False``: never, to
    compare the two); ``universal``: the kinds of ``RUN_TIME_KINDS`` read from the tables at
    run time (``universal_kernel``)."""
    template = TEMPLATE.read_text() if template is None else template
    if universal:
        template = _RUN_TIME_KIND.sub(lambda k: f"t.{RUN_TIME_KINDS[k[1]]}", template)
    layout = KernelLayout.of(mechanisms)
    kernel_names = _template_names(template)
    imports: dict[str, str] = {}

    def splice(match: re.Match) -> str:
        site, indent = match["site"], match["indent"]
        if site not in SITES:
            raise HookError(f"the kernel template marks an unknown site {site!r}")
        parts = [f"{indent}# @hook {site}"]
        for position, m in enumerate(mechanisms):
            if site in m.hooks:
                code = _hook_source(m, position, site, layout, kernel_names, imports,
                                    scheduled, universal, mechanisms)
                parts.append(f"{indent}# {m.name}\n" + textwrap.indent(code, indent))
        return "\n".join(parts)

    text = _SITE.sub(splice, template)
    helpers = [_helper_source(m, h, layout, kernel_names, imports, scheduled, universal,
                              mechanisms)
               for m in mechanisms for h in m.helpers]
    if helpers:
        text += "\n\n# --- helpers of the mechanisms ---\n\n\n" + "\n\n\n".join(helpers) + "\n"
    outcomes = (*layout.outcomes, *(PILOT_OUTCOMES if pilots else ()))
    lean = lean and is_lean(mechanisms, scheduled, turnover, pilots, single)
    block = (
        "# --- the layout of this kernel: written by scsim.kernels.generate ---\n"
        f"MECHANISMS = {tuple(m.name for m in mechanisms)!r}\n"
        f"N_NAMED_FLOWS = {len(layout.flows)}  # {', '.join(layout.flows)}\n"
        f"N_NAMED_LEVELS = {len(layout.levels)}  # {', '.join(layout.levels)}\n"
        f"N_STATE = {len(layout.state)}  # {', '.join(layout.state)}\n"
        f"N_OUTCOMES = {len(outcomes)}  # {', '.join(outcomes)}\n"
        f"N_QUANTITIES = {len(layout.quantities)}  # {', '.join(layout.quantities)}\n"
        f"SCHEDULED = {scheduled}  # values change over the run\n"
        + ("# TURNOVER, PILOTS and LEAN: t.turnover, t.pilots and t.lean, read at run time "
           "(universal)\n" if universal else
           f"TURNOVER = {turnover}  # citizens age, are born and die\n"
           f"PILOTS = {pilots}  # cities with point schemes of their own\n"
           f"LEAN = {lean}  # an unpaired run takes simulate_singles\n")
        + f"TIMED = {any('timer' in m.hooks for m in mechanisms)}  # a mechanism wakes members "
        "on days of its own (S_TIMER)\n"
        f"SINGLE = {single}  # every neighbourhood is one citizen\n"
        + "".join(f"{line}  # noqa: E402\n" for line in imports.values())
        + "# --- end of the layout ---\n"
    )
    text, found = _LAYOUT_BLOCK.subn(lambda _: block, text)
    if found != 1:
        raise HookError("the kernel template has no layout block")
    header = (f"# Generated by scsim.kernels.generate from {TEMPLATE.name} for the mechanisms "
              f"{', '.join(m.name for m in mechanisms) or '(none)'}: do not edit.\n"
              f"# Their modules' sources: {modules_digest(mechanisms)} (a change to one is a "
              "new file, compiled afresh).\n")
    return header + text


def modules_digest(mechanisms: Sequence[Mechanism]) -> str:
    """A short hash of the mechanisms' module files: what the kernel holds of them beyond the
    hooks' text (constants and functions it imports from them)."""
    digest = hashlib.sha256()
    for m in mechanisms:  # (its hooks' module, and its own where a factory made it)
        for name in dict.fromkeys((m.module, f"scsim.mechanisms.{m.name}")):
            if (module := sys.modules.get(name)) is not None:
                source = Path(inspect.getfile(module))
                digest.update(name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def is_lean(mechanisms: Sequence[Mechanism], scheduled: bool, turnover: bool, pilots: bool,
            single: bool) -> bool:
    """Whether an unpaired run of this kernel may take ``simulate_singles``: neighbourhoods
    of one citizen, one period, no turnover or pilots, and mechanisms that act only where a
    spell closes (a site without the member's ``state``, which that kernel keeps in locals)
    and in the ledger, from outcomes of their own (not the core's ``OUT_`` columns: that
    kernel tallies only the citizens with a listing or a false record, and keeps no count of
    offences or speech).  R0 is such a run."""
    if not single or scheduled or turnover or pilots:
        return False
    for m in mechanisms:
        if set(m.hooks) - LEAN_SITES:
            return False
        tally = m.hooks.get("ledger")
        if tally is not None and any(
                isinstance(n, ast.Name) and n.id.startswith("OUT_")
                for n in ast.walk(_parse(m, tally, "ledger hook")[0])):
            return False
    return True


def kernel_for(mechanisms: Sequence[Mechanism], scheduled: bool = False,
               turnover: bool = False, pilots: bool = False,
               single: bool = False, lean: bool = True, universal: bool = False) -> ModuleType:
    """The compiled-on-demand kernel module for these mechanisms (written once, then reused;
    generated once per process, since the sources cannot change under it)."""
    names = (*(m.name for m in mechanisms), *(("@scheduled",) if scheduled else ()),
             *(("@turnover",) if turnover else ()), *(("@pilots",) if pilots else ()),
             *(("@single",) if single else ()), *(() if lean else ("@not-lean",)),
             *(("@universal",) if universal else ()))
    with _lock:
        if names in _loaded:
            return _loaded[names]
    text = kernel_source(mechanisms, scheduled=scheduled, turnover=turnover, pilots=pilots,
                         single=single, lean=lean, universal=universal)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    with _lock:
        if names in _loaded:
            return _loaded[names]
        name = f"scsim_kernel_{digest}"
        path = Path(CACHE_DIR) / "generated" / f"{name}.py"
        if not path.is_file() or path.read_text() != text:
            # numba's cache trusts a file's time stamp: write a file once, atomically
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
            partial.write_text(text)
            os.replace(partial, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _loaded[names] = module
        return module


UNIVERSAL_KIND = {"scheduled": True, "turnover": True, "pilots": True, "single": False,
                  "lean": False, "universal": True}
"""``kernel_for``'s keywords for the universal kernel: every mechanism, the general form of
each kind (a schedule's periods, timers, households), and turnover, pilots and the lean
path (``simulate_singles``) read from the tables."""


def universal_kernel() -> ModuleType:
    """The one kernel that runs every scenario: every mechanism of ``scsim.mechanisms``, each
    switched by its parameters (a mechanism a scenario lacks gets the values that make its
    hooks do nothing), and every kind.  It gives the same results as the kernel specialised
    for a scenario, bit for bit, and compiles once for all of them."""
    from scsim.mechanisms import MECHANISMS

    return kernel_for(MECHANISMS, **UNIVERSAL_KIND)

"""Lifetime groups: instances (and funcref tables and globals) that may hold each
other's funcrefs keep each other alive.

A funcref in compiled code is a raw pointer to a function record in some
instance's `funcs` array; following it runs that instance's code with its
vmctx. Such pointers move between instances without Python seeing them (as
call arguments and results, through shared tables and globals), so the
runtime cannot know which instances a table or a local holds references to.
It knows instead which objects *could* exchange funcrefs, and puts them in one
group; every member holds the group and the group holds every member, so the
whole group lives as long as anything outside refers to one of them (Python's
cycle collector frees it after that).

The channels a funcref can travel through, and the join each one makes:

- a funcref table or global: every instance that defines or imports it
  (and the table or global itself: it may outlive them) -- `join(instance, extern)`;
- a function import whose type has a funcref parameter or result: the importer
  and the instance that defines the function (arguments flow one way, results
  the other) -- `join(importer, function's instance)`. An import without
  funcrefs in its type cannot carry one: it makes no join, so a long-lived
  library instance does not keep every short-lived importer alive;
- a clone: the clone and the owners of the foreign funcrefs its copied tables
  and globals hold (runtime/clone.py);
- from Python (call arguments, host function results, Table.set, Global.value):
  the Store that converts the value keeps the Function object, and with it its
  instance, for as long as the Store lives (runtime/store.py).

By induction every funcref an instance's code can reach points into a member of
its group (or a host function, or a function kept by a Store): a reference
starts in its own instance and only travels through these channels, and calling
through it reaches an instance of the same group. So nothing a wasm value can
reference is freed while the group lives.

Memories carry no funcrefs and make no join: instances that only share a memory
live and die independently (each keeps the memory alive).
"""
import threading as _threading

from ..binary.types import FUNCREF

_lock = _threading.Lock()       # joins come from any thread (instantiation, clone)


class LifeGroup:
    """Objects that keep each other alive (see the module docstring)."""
    __slots__ = ("members", "__weakref__")

    def __init__(self):
        self.members = []

    def __repr__(self):
        return f"<wasabi LifeGroup: {len(self.members)} members>"


def group_of(obj):
    """The LifeGroup of obj, or None if it has never been joined to anything."""
    return getattr(obj, "_life_group", None)


def _group(obj):
    group = group_of(obj)
    if group is None:
        group = LifeGroup()
        group.members.append(obj)
        obj._life_group = group
    return group


def join(a, b):
    """From now on a and b (instances, funcref tables or globals) live as long as
    each other, together with everything already joined to either."""
    if a is b or a is None or b is None:
        return
    with _lock:
        ga, gb = group_of(a), group_of(b)
        if gb is None:                   # the common case: a fresh table or global
            _group(a).members.append(b)
            b._life_group = a._life_group
            return
        ga = _group(a)
        if ga is gb:
            return
        if len(ga.members) < len(gb.members):
            ga, gb = gb, ga
        for member in gb.members:        # the smaller group moves: O(n log n) in all
            member._life_group = ga
        ga.members.extend(gb.members)
        gb.members.clear()


def carries_funcrefs(extern):
    """Whether funcrefs can be stored in the table or global `extern`."""
    if getattr(extern, "elem_type", None) == FUNCREF:
        return True
    return getattr(getattr(extern, "global_type", None), "valtype", None) == FUNCREF


def passes_funcrefs(functype):
    """Whether a call of this type can pass a funcref (as an argument or a result)."""
    return FUNCREF in functype.params or FUNCREF in functype.results

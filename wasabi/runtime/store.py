"""The Store: owner of everything compiled code may point at.

Native records refer to each other by raw pointers (a table holds wrt_func*
of some instance, a global holds a PyObject* externref), so their owners must
outlive every holder. A Store keeps all its instances, memories, tables,
globals and host functions, plus every externref and funcref object that ever
crossed into compiled code, alive for as long as the Store itself. When an
object of another store is imported, the two stores keep each other alive.
Everything of a store is freed together by Python's cycle collector.
"""


class Store:
    def __init__(self, engine=None):
        self.engine = engine
        # address -> object, for refs that compiled code may have stored
        self.keep = {}
        self._owned = []
        self._linked = set()

    def own(self, obj):
        self._owned.append(obj)
        return obj

    def link(self, other):
        """Keep `other` (a Store) alive as long as this one, and vice versa."""
        if other is not None and other is not self:
            self._linked.add(other)
            other._linked.add(self)

    def __repr__(self):
        return f"<wasabi Store: {len(self._owned)} objects, {len(self.keep)} kept refs>"

"""The translator's control stack: one Frame per open block/loop/if and the function.

Shared by the translator (wasabi/compiler/translator.py) and the control emitters
(wasabi/compiler/emit/control.py), which open and close frames.
"""
BLOCK, LOOP, IF, FUNC = range(4)


class Frame:
    """One entry of the control stack."""
    __slots__ = ("kind", "params", "results", "height", "label", "incoming",
                 "else_label", "entry_values", "has_else", "phi_slot", "phi_names",
                 "branch_slot", "versions")

    def __init__(self, kind, params, results, height, label):
        self.kind = kind
        self.params = params           # LLVM types
        self.results = results
        self.height = height           # operand stack height below the params
        self.label = label             # branch target: loop header or end label
        self.incoming = []             # [(predecessor label, [values])] per edge
        self.has_else = False
        self.versions = None           # a loop translated twice (emit/control.py)

    def branch_types(self):
        return self.params if self.kind == LOOP else self.results

"""Types in the text: value types, function types and type uses, limits, table, memory
and global types. A mixin of ModuleAssembler (it needs the token stream, the `types`
list and its `type_lookup`, and index resolution)."""
from . import encoding


class TypeParser:
    """Parses the type parts of fields and instructions."""

    def params_results(self, i, allow_names):
        """(param ...)* (result ...)* -> (params, results, param names, index after)."""
        toks = self.toks
        params, results, names = [], [], []
        while toks[i] == "(" and toks[i + 1] == "param":
            i += 2
            if toks[i][:1] == "$" or (toks[i] == "(" and toks[i + 1] == "@name"):
                if not allow_names:
                    self.unexpected(i)
                ident, i = self.optional_id(i)
                t, i = self.valtype(i)
                params.append(t)
                names.append(ident)
            else:
                while toks[i] != ")":
                    t, i = self.valtype(i)
                    params.append(t)
                    names.append(None)
            i += 1
        while toks[i] == "(" and toks[i + 1] == "result":
            i += 2
            while toks[i] != ")":
                t, i = self.valtype(i)
                results.append(t)
            i += 1
        return tuple(params), tuple(results), names, i

    def typeuse(self, i, allow_names=False, block=False):
        """A type use -> (type index, params, results, param names, index after).

        Without (type x), the first identical type is used or a new one appended (a
        block type with no params and at most one result needs none: index None). With
        (type x) and inline params/results, both must agree. params/results are None
        when (type x) names a type that does not exist (an invalid module, not a
        malformed one).
        """
        toks = self.toks
        index = None
        if toks[i] == "(" and toks[i + 1] == "type":
            index, i = self.index(i + 2, "type")
            i = self.close(i)
        start = i
        params, results, names, i = self.params_results(i, allow_names)
        if toks[i] == "(" and toks[i + 1] in ("type", "param"):
            self.unexpected(i + 1)                      # out of order: (type) (param) (result)
        if index is not None:
            known = self.types[index] if index < len(self.types) else None
            if i != start:
                if known is None:           # maybe an implicit type yet to come
                    self.type_checks.append((index, (params, results), start))
                elif known != (params, results):
                    self.error("inline function type", start)
            elif known is not None:
                params, results = known
                names = [None] * len(params)
            else:
                params = results = None
            return index, params, results, names, i
        if block and not params and len(results) <= 1:
            return None, params, results, names, i
        return self.type_for(params, results), params, results, names, i

    def typeuse_index(self, i):
        index, _, _, _, i = self.typeuse(i)
        return index, i

    def type_for(self, params, results):
        key = (params, results)
        index = self.type_lookup.get(key)
        if index is None:
            index = len(self.types)
            self.types.append(key)
            self.type_lookup[key] = index
        return index

    def limits(self, i):
        minimum, i = self.u32(i, "a limit")
        maximum = None
        if "0" <= self.toks[i][:1] <= "9":
            maximum, i = self.u32(i, "a limit")
        return minimum, maximum, i

    def address_type(self, i):
        """The optional address type of a table or memory: i32, Wasm 2.0's only one
        (the wat crate reads it; i64, memory64's, is not Wasm 2.0)."""
        return i + 1 if self.toks[i] == "i32" else i

    def tabletype(self, i):
        minimum, maximum, i = self.limits(self.address_type(i))
        elem_type, i = self.reftype(i)
        return bytes((elem_type,)) + encoding.limits(minimum, maximum), i

    def memtype(self, i):
        minimum, maximum, i = self.limits(self.address_type(i))
        shared = self.toks[i] == "shared"           # threads proposal
        if shared:
            i += 1
        return encoding.limits(minimum, maximum, shared), i

    def globaltype(self, i):
        if self.is_keyword(i, "mut"):
            t, i = self.valtype(i + 2)
            return bytes((t, 1)), self.close(i)
        t, i = self.valtype(i)
        return bytes((t, 0)), i

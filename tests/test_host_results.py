"""Results of host functions with several results: an iterable is read only as far
as needed to check its length (issue 12 item 11: an endless iterator exhausted memory)."""
import itertools

import pytest
import wasmtime

import wasabi
from wasabi.binary.types import I32, FuncType
from wasabi.runtime.func import HostFunction


class Counting:
    """An iterable of `limit` values that counts how many were taken."""

    def __init__(self, limit=10**6):
        self.limit, self.taken = limit, 0

    def __iter__(self):
        for i in range(self.limit):
            self.taken += 1
            yield i


def caller(host):
    module = wasabi.compile(wasmtime.wat2wasm("""(module
      (import "env" "two" (func $two (result i32 i32)))
      (func (export "sum") (result i32) (i32.add (call $two))))"""))
    return wasabi.instantiate(module, {"env": {"two": host}})


def test_an_endless_iterator_from_wasm_is_an_arity_error():
    instance = caller(wasabi.Function(wasabi.Store(), lambda: itertools.count(),
                                      wasabi.FunctionType([], [wasabi.Type.I32, wasabi.Type.I32])))
    with pytest.raises(TypeError, match="returned more than 2 values, expected 2"):
        instance.exports.sum()


def test_only_results_plus_one_values_are_taken():
    results = Counting()
    instance = caller(wasabi.Function(wasabi.Store(), lambda: results,
                                      wasabi.FunctionType([], [wasabi.Type.I32, wasabi.Type.I32])))
    with pytest.raises(TypeError, match="more than 2"):
        instance.exports.sum()
    assert results.taken <= 3
    # the Python-side calls convert the same way
    for call in (wasabi.Function(wasabi.Store(), lambda: results,
                                 wasabi.FunctionType([], [wasabi.Type.I32] * 2)),
                 HostFunction(FuncType((), (I32, I32)), lambda: results).call_bits):
        results.taken = 0
        with pytest.raises(TypeError, match="more than 2"):
            call()
        assert results.taken <= 3


def test_iterables_of_the_right_length_still_work():
    for value in ((3, 4), [3, 4], iter([3, 4]), (x for x in (3, 4))):
        assert caller(wasabi.Function(wasabi.Store(), lambda value=value: value,
                                      wasabi.FunctionType([], [wasabi.Type.I32] * 2))).exports.sum() == 7
    with pytest.raises(TypeError, match="returned 1 values, expected 2"):
        caller(wasabi.Function(wasabi.Store(), lambda: [1],
                               wasabi.FunctionType([], [wasabi.Type.I32] * 2))).exports.sum()

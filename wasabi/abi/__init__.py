"""The ABI between compiled code and the runtime: written down once, here.

- vmctx.py: the VMContext layout and the records it points to.
- traps.py: trap codes and the spec's messages.
- builtins.py: the C runtime functions that compiled code calls, with their LLVM signatures.

wasabi/_native/vmctx.h is the C side; tests/test_abi.py checks that the two agree.
"""

"""Names that the module text (module_ir.py) defines and function bodies refer to."""

# every function and both code-range markers go into this one section, in module order:
# otherwise LLVM moves functions it infers cold (e.g. always trapping) to .text.unlikely,
# outside the markers
CODE_SECTION = ".text.wasabi"
CODE_BEGIN = "__wasabi_code_begin"
CODE_END = "__wasabi_code_end"

# module-level metadata numbers (see module_ir.METADATA)
MD_SP_REGISTER = "!0"
MD_INVARIANT = "!1"
MD_COLD_BRANCH = "!2"


def code_markers(part=0):
    """The (begin, end) marker symbols of one part of a module compiled in parts
    (all parts are linked into one JIT library, so each needs its own)."""
    if part == 0:
        return CODE_BEGIN, CODE_END
    return f"{CODE_BEGIN}_{part}", f"{CODE_END}_{part}"


def osr_symbol(func_index, loop):
    """The optimised build of a function entered at its loop number `loop` (PGO)."""
    return f"wasm_f{func_index}_osr{loop}"

# attribute groups beyond module_ir's #0-#2: the translated function a ufunc loop or a
# native wrapper inlines (ufunc.py, native_wrapper.py); functions that use SIMD where
# guard-mode loads are frozen elsewhere: no AVX-512, noinline
# (translator.FunctionTranslator.attributes)
ALWAYS_INLINE_ATTRIBUTES = 3
SIMD_ATTRIBUTES = 4

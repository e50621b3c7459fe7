# cython: language_level=3
"""The one native extension of wasabi.

Each pipeline stage keeps its Cython in wasabi/_cy/<stage>.pxi; this file only
includes them, so that they share C types and helpers without cross-module cimports.
"""

include "_cy/leb.pxi"
include "_cy/decoder.pxi"
include "_cy/decoder_nonconst.pxi"
include "_cy/decoder_names.pxi"
include "_cy/codevalidator_table.pxi"
include "_cy/codevalidator_stack.pxi"
include "_cy/codevalidator_immediates.pxi"
include "_cy/codevalidator_control.pxi"
include "_cy/codevalidator_operands.pxi"
include "_cy/codevalidator_body.pxi"
include "_cy/codevalidator_messages.pxi"
include "_cy/codevalidator.pxi"
include "_cy/native.pxi"
include "_cy/slots.pxi"
include "_cy/entry.pxi"
include "_cy/hostcall.pxi"
include "_cy/records.pxi"
include "_cy/fastcall.pxi"
include "_cy/control.pxi"
include "_cy/lazy.pxi"
include "_cy/clone.pxi"
include "_cy/memviews.pxi"
include "_cy/vectorize.pxi"
include "_cy/wasi.pxi"
include "_cy/image.pxi"
include "_cy/baseline.pxi"

"""Build of the one native extension, wasabi._ext.

_ext.pyx includes the Cython parts (wasabi/_cy/*.pxi) and links the C runtime in
wasabi/_native/*.c, so that Cython and C share types without a second extension.

WASABI_SANITIZE=address,undefined (or one of the two) builds it with ASan and/or
UBSan for tests/sanitize.py; UBSan findings abort (no recovery), so a test fails.
setuptools does not see a change of flags: switching in one tree needs build_ext --force
(tests/sanitize.py builds in a copy of the tree instead).
"""
import glob
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
native_sources = sorted(glob.glob("wasabi/_native/*.c"))
SANITIZERS = ("address", "undefined")


def sanitize_flags(value):
    """(compile args, link args) for WASABI_SANITIZE's comma-separated list."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SANITIZERS))
    if unknown:
        raise SystemExit(f"WASABI_SANITIZE: unknown sanitizer(s) {unknown}; "
                         f"use a comma-separated subset of {list(SANITIZERS)}")
    if not names:
        return [], []
    flags = [f"-fsanitize={','.join(names)}", "-fno-omit-frame-pointer", "-g"]
    if "undefined" in names:
        flags.append("-fno-sanitize-recover=undefined")
    return flags, flags


sanitize_compile, sanitize_link = sanitize_flags(os.environ.get("WASABI_SANITIZE", ""))

ext = Extension(
    "wasabi._ext",
    sources=["wasabi/_ext.pyx"] + native_sources,
    include_dirs=["wasabi/_native"],
    depends=glob.glob("wasabi/_cy/*.pxi") + glob.glob("wasabi/_native/*.h"),
    extra_compile_args=["-O2", "-fno-strict-aliasing", "-Wno-unused-function"] + sanitize_compile,
    extra_link_args=sanitize_link,
)

setup(
    ext_modules=cythonize(
        [ext],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
)

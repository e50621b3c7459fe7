"""Build of the one native extension, wasabi._ext.

_ext.pyx includes the Cython parts (wasabi/_cy/*.pxi) and links the C runtime in
wasabi/_native/*.c, so that Cython and C share types without a second extension.
"""
import glob
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
native_sources = sorted(glob.glob("wasabi/_native/*.c"))

ext = Extension(
    "wasabi._ext",
    sources=["wasabi/_ext.pyx"] + native_sources,
    include_dirs=["wasabi/_native"],
    depends=glob.glob("wasabi/_cy/*.pxi") + glob.glob("wasabi/_native/*.h"),
    extra_compile_args=["-O2", "-fno-strict-aliasing", "-Wno-unused-function"],
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

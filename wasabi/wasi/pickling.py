"""Pickling WASI imports (api/pickling.py pickles the instances that import them).

An Environment travels as its WasiConfig: unpickled, it is a fresh Environment
(a new native context: the fd table of the preopens and stdio, nothing the guest
opened since, no output captured so far). A WasiFunction travels as its
Environment and name. Stdio bound to a host file (a path or a file object) cannot
travel: PicklingError naming it. Preopens travel by path: they must exist where
the Environment is unpickled.
"""
import copyreg as _copyreg
import os as _os
import pickle as _pickle

from .. import _ext
from .config import CAPTURE, INHERIT, NULL
from .environment import Environment, Version, WasiFunction


def check_config(config):
    """PicklingError when the WASI configuration refers to open host files."""
    for slot, spec in (("stdin", config.stdin), ("stdout", config.stdout),
                       ("stderr", config.stderr)):
        if isinstance(spec, (bytes, bytearray, memoryview)) or \
                (isinstance(spec, str) and spec in (INHERIT, CAPTURE, NULL)):
            continue
        what = (f"the host file {_os.fspath(spec)!r}" if isinstance(spec, (str, _os.PathLike))
                else f"the open host file {spec!r}")
        raise _pickle.PicklingError(
            f"a WASI environment whose {slot} is {what} cannot travel to another process "
            "(stdio that travels: 'capture', 'null', 'inherit' or bytes)")


def _reduce_environment(environment):
    check_config(environment.config)
    return (Environment, (environment.config,))


def _reduce_function(function):
    preview1 = any(name == function.name and address == function.address
                   for name, address, _, _ in _ext.wasi_export_table(False))
    return (_function, (function.environment, function.name, preview1))


def _function(environment, name, preview1):
    """The unpickled Environment's import `name` (one set of imports per Environment
    and version, as the original's were)."""
    made = environment.__dict__.setdefault("_unpickled_imports", {})
    if preview1 not in made:
        version = Version.SNAPSHOT1 if preview1 else Version.SNAPSHOT0
        (functions,) = environment.generate_imports(version=version).values()
        made[preview1] = functions
    return made[preview1][name]


# pickle and cloudpickle both consult copyreg's table (by exact type) before __reduce_ex__
_copyreg.pickle(Environment, _reduce_environment)
_copyreg.pickle(WasiFunction, _reduce_function)

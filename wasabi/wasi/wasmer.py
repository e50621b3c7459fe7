"""The `wasmer` 1.1 face of WASI: StateBuilder -> Environment.

    from wasabi import wasi
    env = wasi.StateBuilder("prog").argument("--foo").environment("K", "V") \\
              .map_directory("data", "host/data").finalize()
    imports = env.generate_import_object(store, wasi.get_version(module, strict=True))

As in wasmer, the program name is argv[0], preopen_directory(d) shows host
directory d under the same name, map_directory(alias, d) under `alias`, and
every builder method returns the builder. Also as in wasmer, the guest has a
virtual read-only root "/" (fd 3) listing the directories, which follow it as
preopens of their own (fd 4, ...): a program's fs::read_dir("/") lists them
(wasi/config.py says more; virtual_root=False gives wasmtime's layout).
"""
import os as _os

from .config import Preopen
from .environment import WasiConfig


class StateBuilder:
    """wasmer's WASI state builder: arguments, environment variables and directories,
    then finalize() for the Environment.

    ## Example

    ```py
from wasabi import Store, Module, Instance, wasi

module = Module(Store(), '''
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "argc") (result i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (i32.load (i32.const 0))))
''')
version = wasi.get_version(module, strict=True)
assert version == wasi.Version.SNAPSHOT1

environment = wasi.StateBuilder("program").argument("--verbose").environment("KEY", "value") \\
    .finalize()
instance = Instance(module, environment.generate_import_object(module.store, version))
assert instance.exports.argc() == 2            # program --verbose
    ```
    """

    def __init__(self, program_name, arguments=None, environments=None, preopen_directories=None,
                 map_directories=None, virtual_root=True):
        if not isinstance(program_name, str):
            raise TypeError("the program name is a str")
        self._config = WasiConfig(argv=[program_name], virtual_root=virtual_root)
        if arguments is not None:
            self.arguments(arguments)
        if environments is not None:
            self.environments(environments)
        if preopen_directories is not None:
            self.preopen_directories(preopen_directories)
        if map_directories is not None:
            self.map_directories(map_directories)

    def argument(self, argument):
        self._config.argv.append(str(argument))
        return self

    def arguments(self, arguments):
        for a in arguments:
            self.argument(a)
        return self

    def environment(self, key, value):
        key, value = str(key), str(value)
        if "=" in key or "\0" in key or "\0" in value:
            raise ValueError(f"invalid environment variable {key!r}")
        self._config.env[key] = value
        return self

    def environments(self, environments):
        for key, value in dict(environments).items():
            self.environment(key, value)
        return self

    def preopen_directory(self, preopen_directory):
        path = _existing_directory(preopen_directory)
        self._config.preopens.append(Preopen(path, path))
        return self

    def preopen_directories(self, preopen_directories):
        for d in preopen_directories:
            self.preopen_directory(d)
        return self

    def map_directory(self, alias, directory):
        self._config.preopens.append(Preopen(_existing_directory(directory), str(alias)))
        return self

    def map_directories(self, map_directories):
        for alias, directory in dict(map_directories).items():
            self.map_directory(alias, directory)
        return self

    def finalize(self):
        """A new Environment; the builder may be finalized again."""
        from .environment import Environment
        config = self._config
        return Environment(WasiConfig(config.argv, config.env, config.preopens,
                                      virtual_root=config.virtual_root))


def _existing_directory(path):
    path = _os.fspath(path)
    if not _os.path.isdir(path):
        # wasmer raises RuntimeError from the builder for a missing directory
        raise RuntimeError(f"Could not find directory: {path}")
    return path

"""Compilation targets, as wasmer's `target` module: Triple, CpuFeatures, Target.

wasabi compiles for the machine it runs on (LLVM's host triple and CPU), so a
Target is accepted by the engines and kept, not used for cross-compilation.
Triple parses target-lexicon style strings ('x86_64-unknown-linux-gnu',
'x86_64-apple-darwin', 'aarch64-linux-musl', 'wasm32-wasi').
"""
import platform as _platform
import sys as _sys

# architecture -> (endianness, pointer width in bytes)
_ARCHITECTURES = {
    "x86_64": ("little", 8), "aarch64": ("little", 8), "arm64": ("little", 8),
    "i386": ("little", 4), "i586": ("little", 4), "i686": ("little", 4), "x86": ("little", 4),
    "arm": ("little", 4), "armv7": ("little", 4), "thumbv7": ("little", 4),
    "riscv64": ("little", 8), "riscv64gc": ("little", 8), "riscv32": ("little", 4),
    "powerpc64le": ("little", 8), "powerpc64": ("big", 8), "powerpc": ("big", 4),
    "s390x": ("big", 8), "mips": ("big", 4), "mipsel": ("little", 4),
    "mips64": ("big", 8), "mips64el": ("little", 8), "loongarch64": ("little", 8),
    "wasm32": ("little", 4), "wasm64": ("little", 8),
}
_VENDORS = {"unknown", "pc", "apple", "sun", "nvidia", "amd", "ibm", "fortanix", "wrs",
            "uwp", "espressif", "kmc", "experimental", "none"}
_SYSTEMS = {"linux", "darwin", "macos", "ios", "tvos", "watchos", "windows", "freebsd",
            "netbsd", "openbsd", "dragonfly", "solaris", "illumos", "android", "fuchsia",
            "haiku", "hermit", "redox", "emscripten", "wasi", "none", "unknown", "cuda",
            "l4re", "uefi", "aix", "hurd", "nto", "vxworks"}
_ENVIRONMENTS = {"unknown", "gnu", "gnueabi", "gnueabihf", "gnux32", "musl", "musleabi",
                 "musleabihf", "msvc", "android", "androideabi", "eabi", "eabihf", "sgx",
                 "uclibc", "sim", "macabi", "newlib", "elf", "ohos"}
_BINARY_FORMATS = {"elf", "coff", "macho", "wasm", "xcoff"}
_APPLE = {"darwin", "macos", "ios", "tvos", "watchos"}


def _unversioned(part):
    """'darwin19.6.0' -> 'darwin' (a system with a version); any other part unchanged."""
    stripped = part.rstrip("0123456789.")
    return stripped if stripped != part and stripped in _SYSTEMS else part


def _default_binary_format(arch, system):
    if arch.startswith("wasm"):
        return "wasm"
    if system in _APPLE:
        return "macho"
    if system in ("windows", "uefi"):
        return "coff"
    if system == "aix":
        return "xcoff"
    return "elf"


def _calling_convention(arch, system):
    if arch.startswith("wasm"):
        return "wasm_basic_c_abi"
    if system == "windows":
        return "windows_fastcall"
    return "system_v"


def _host_triple_text():
    machine = _platform.machine().lower() or "x86_64"
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if _sys.platform.startswith("linux"):
        return f"{arch}-unknown-linux-gnu"
    if _sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    if _sys.platform.startswith("win"):
        return f"{arch}-pc-windows-msvc"
    return f"{arch}-unknown-{_sys.platform.rstrip('0123456789')}"


class Triple:
    """A target triple: Triple('x86_64-apple-darwin'); ValueError when it does not parse.

    ## Example

    ```py
from wasabi import target

triple = target.Triple("x86_64-apple-darwin")
assert (triple.architecture, triple.vendor, triple.operating_system) == \\
    ("x86_64", "apple", "darwin")
assert str(triple) == "x86_64-apple-darwin"
    ```
    """

    def __init__(self, triple):
        if not isinstance(triple, str):
            raise TypeError(f"a triple is a str, not {type(triple).__name__}")
        parts = triple.split("-")
        arch = parts[0]
        if arch not in _ARCHITECTURES:
            raise ValueError(f"Unrecognized architecture: {arch!r} in {triple!r}")
        fields = {"vendor": "unknown", "operating_system": "unknown", "environment": "unknown",
                  "binary_format": None}
        self._fill(fields, parts[1:], triple)
        self._text = triple
        self.architecture = arch
        self.vendor = fields["vendor"]
        self.operating_system = fields["operating_system"]
        self.environment = fields["environment"]
        self.binary_format = fields["binary_format"] or _default_binary_format(
            arch, self.operating_system)
        self.endianness, self.pointer_width = _ARCHITECTURES[arch]
        self.default_calling_convention = _calling_convention(arch, self.operating_system)

    @staticmethod
    def _fill(fields, rest, triple):
        # each later part is, in order, an optional vendor, the system, the environment
        # and the binary format; the first slot (from the current one on) that fits takes it
        slots = [("vendor", _VENDORS), ("operating_system", _SYSTEMS),
                 ("environment", _ENVIRONMENTS), ("binary_format", _BINARY_FORMATS)]
        for part in rest:
            name = _unversioned(part)
            while slots and name not in slots[0][1]:
                slots.pop(0)
            if not slots:
                raise ValueError(f"Unrecognized component {part!r} in triple {triple!r}")
            fields[slots.pop(0)[0]] = name

    @staticmethod
    def host():
        """The triple of the machine wasabi runs on."""
        return Triple(_host_triple_text())

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"Triple({self._text!r})"

    def __eq__(self, other):
        return isinstance(other, Triple) and str(self) == str(other)

    def __hash__(self):
        return hash(self._text)


# the features wasmer's CpuFeature accepts
CPU_FEATURES = ("sse2", "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "bmi", "bmi2",
                "avx2", "avx512dq", "avx512vl", "avx512bw", "avx512f", "lzcnt")


class CpuFeatures:
    """A set of CPU features by name: CpuFeatures().add('sse2')."""

    def __init__(self):
        self._features = set()

    def add(self, feature):
        if feature not in CPU_FEATURES:
            raise ValueError(f"Unknown CPU feature {feature!r} (known: {', '.join(CPU_FEATURES)})")
        self._features.add(feature)

    def __contains__(self, feature):
        return feature in self._features

    def __iter__(self):
        return iter(sorted(self._features))

    def __len__(self):
        return len(self._features)

    def __repr__(self):
        return f"CpuFeatures({sorted(self._features)})"


class Target:
    """A Triple and its CpuFeatures (an empty set when omitted).

    ## Example

    ```py
from wasabi import target

features = target.CpuFeatures()
features.add("avx2")
host = target.Target(target.Triple.host(), features)
assert "avx2" in host.cpu_features
    ```
    """

    def __init__(self, triple, cpu_features=None):
        if not isinstance(triple, Triple):
            raise TypeError(f"expected a Triple, got {type(triple).__name__}")
        if cpu_features is not None and not isinstance(cpu_features, CpuFeatures):
            raise TypeError(f"expected CpuFeatures, got {type(cpu_features).__name__}")
        self.triple = triple
        self.cpu_features = cpu_features if cpu_features is not None else CpuFeatures()

    def __repr__(self):
        return f"Target({self.triple!r}, {self.cpu_features!r})"

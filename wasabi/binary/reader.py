"""decode_module(data) -> ModuleDesc, over the Cython decoder in wasabi/_cy/decoder.pxi."""
from .. import _ext


def decode_module(data) -> "ModuleDesc":
    """Decode a binary module into a ModuleDesc; raises CompileError on malformed bytes.

    Only decodes: code bodies are located, not checked (see wasabi.validate).
    """
    return _ext.decode_module(bytes(data))

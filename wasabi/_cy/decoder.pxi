# The module decoder (sections -> ModuleDesc). Being written.
def decode_module(bytes data):
    raise NotImplementedError("decoder not written yet")

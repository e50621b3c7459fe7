"""Compile errors as the `wasmer` face raises them.

wasabi's CompileError is a ValueError (a malformed input is a bad value); wasmer-python
raised RuntimeError when `Module(store, bytes)` could not compile, and code written for it
catches RuntimeError. So `Module(store, source)` (and wasabi.compile, which makes one) re-raises each CompileError as an
instance of a subclass of both its own class and RuntimeError: `except CompileError`,
`except ValidationError`, `except WatSyntaxError` and `except RuntimeError` all catch it.
"""
_CLASSES = {}


def _runtime_class(cls):
    found = _CLASSES.get(cls)
    if found is None:
        found = type(cls.__name__, (cls, RuntimeError), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__})
        _CLASSES[cls] = found
    return found


def as_runtime_error(error):
    """The same error (class, message, attributes) as an instance that is also a
    RuntimeError; errors that already are one come back unchanged."""
    if isinstance(error, RuntimeError):
        return error
    cls = _runtime_class(type(error))
    twin = cls.__new__(cls)
    twin.__dict__.update(error.__dict__)
    twin.args = error.args
    return twin

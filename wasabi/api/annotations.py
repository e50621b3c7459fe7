"""A host function's FunctionType from its Python annotations (wasmer's rules, plus a few).

wasmer 1.1.0 maps, in the order of `__annotations__`:
    int, 'i32', 'I32' -> I32      'i64', 'I64' -> I64
    float, 'f32', 'F32' -> F32    'f64', 'F64' -> F64
    None -> no result (return position only); a tuple of those -> several results.
wasabi also takes 'v128', 'externref', 'funcref', Type members, lists as well
as tuples, `tuple[...]`, and every annotation as a string (as
`from __future__ import annotations` makes them: 'int', 'None', "('i64', 'i32')").
"""
import typing as _typing

from .types import FunctionType, Type


class AnnotationError(TypeError, RuntimeError):
    """An annotation wasabi cannot map to a wasm type (a RuntimeError, as in `wasmer`)."""


_NAMES = {
    "int": Type.I32, "i32": Type.I32, "I32": Type.I32,
    "i64": Type.I64, "I64": Type.I64,
    "float": Type.F32, "f32": Type.F32, "F32": Type.F32,
    "f64": Type.F64, "F64": Type.F64,
    "v128": Type.V128, "V128": Type.V128,
    "externref": Type.EXTERN_REF, "EXTERN_REF": Type.EXTERN_REF,
    "funcref": Type.FUNC_REF, "FUNC_REF": Type.FUNC_REF,
}
_OBJECTS = {int: Type.I32, float: Type.F32}
_NONE = object()        # the annotation None: no value


def _strip_quotes(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


def _split_sequence(text):
    """The items of "(a, b)", "[a, b]", "tuple[a, b]" or "Tuple[a, b]"; None otherwise."""
    for prefix in ("tuple[", "Tuple[", "typing.Tuple["):
        if text.startswith(prefix) and text.endswith("]"):
            text = text[len(prefix) - 1:]
            break
    if len(text) >= 2 and (text[0], text[-1]) in (("(", ")"), ("[", "]")):
        inner = text[1:-1].strip()
        return [part for part in (p.strip() for p in inner.split(",")) if part]
    return None


def _one(annotation, where):
    """The Type of one annotation, or _NONE."""
    if annotation is None or annotation is type(None):
        return _NONE
    if isinstance(annotation, Type):
        return annotation
    if annotation in (int, float):
        return _OBJECTS[annotation]
    if isinstance(annotation, str):
        text = _strip_quotes(annotation)
        if text in ("None", "NoneType"):
            return _NONE
        if text.startswith(("Type.", "wasmer.Type.", "wasabi.Type.")):
            text = text.rsplit(".", 1)[1]
        found = _NAMES.get(text)
        if found is not None:
            return found
    raise AnnotationError(f"Type `{type(annotation).__name__}` (`{annotation}`) is not a "
                          f"supported type{where}")


def _sequence(annotation):
    """The items of a tuple/list annotation (objects or string), or None if it is not one."""
    if isinstance(annotation, (tuple, list)):
        return list(annotation)
    if _typing.get_origin(annotation) is tuple:
        return list(_typing.get_args(annotation))
    if isinstance(annotation, str):
        return _split_sequence(_strip_quotes(annotation))
    return None


def _results(annotation):
    items = _sequence(annotation)
    if items is None:
        one = _one(annotation, " (return)")
        return [] if one is _NONE else [one]
    types = []
    for item in items:
        if _sequence(item) is not None:
            raise AnnotationError("It is not possible to get a tuple inside a tuple yet")
        one = _one(item, " (return)")
        if one is _NONE:
            raise AnnotationError("A tuple cannot contain `None` or another tuple")
        types.append(one)
    return types


def function_type_from_annotations(function):
    """The FunctionType that `function`'s annotations describe (ValueError without any)."""
    annotations = getattr(function, "__annotations__", None)
    if not isinstance(annotations, dict):
        raise ValueError("The function must have type annotations")
    params, results = [], []
    for name, annotation in annotations.items():
        if name == "return":
            results = _results(annotation)
            continue
        if _sequence(annotation) is not None:
            raise AnnotationError(f"Variable `{name}` cannot receive a tuple (not supported yet)")
        one = _one(annotation, f" (parameter `{name}`)")
        if one is _NONE:
            raise AnnotationError(f"Variable `{name}` cannot have type `None`")
        params.append(one)
    return FunctionType(params, results)

"""Module-level validation rules. Being written."""


def validate_module(desc):
    raise NotImplementedError

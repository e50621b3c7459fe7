"""ModuleDesc: the immutable description of a decoded, validated module."""
from .desc import (ModuleDesc, ImportDesc, ExportDesc, FuncDesc, GlobalDesc,
                   ElemDesc, DataDesc, ConstExpr, NameMap, CustomSection)

__all__ = ["ModuleDesc", "ImportDesc", "ExportDesc", "FuncDesc", "GlobalDesc",
           "ElemDesc", "DataDesc", "ConstExpr", "NameMap", "CustomSection"]

"""Debugging in kernels: `tile.device_print`, `tile.device_assert` and a runtime
`assert cond, "msg"` statement.

Both ops are always in the IR; the lowering drops them unless the kernel is
compiled with debug (TILE_DEBUG=1), and the interpreter always runs them.
A mixin of the one visitor (`CodeGenerator`).
"""
from __future__ import annotations

import ast

from .. import language as tl
from .ir import ScalarType, TileType, Value
from .semantics import FLOAT8, Expanded, Number, describe, python_dtype


class Debugging:
    def builtin_device_print(self, node, fmt, values=()):
        if not isinstance(fmt, str):
            raise self.error(node, f"device_print's first argument must be a format string, "
                             f"got {describe(fmt)}")
        operands = []
        for i, value in enumerate(values):
            if isinstance(value, Number):
                value = self.constant(node, value, ScalarType(python_dtype(value)))
            if not isinstance(value, Value) or not isinstance(value.type, (ScalarType, TileType)):
                raise self.error(node, f"device_print's value {i + 1} must be a scalar or a "
                                 f"tile, got {describe(value)}")
            if value.type.dtype in FLOAT8:
                raise self.error(node, f"device_print of {describe(value)}: convert float8 with "
                                 ".to(tile.float32) first")
            operands.append(value.ir)
        self.emit(node, None, self.builder.ops.print_, fmt, operands)

    def builtin_device_assert(self, node, condition, msg=""):
        if not isinstance(msg, str):
            raise self.error(node, f"device_assert's message must be a string, got "
                             f"{describe(msg)}")
        if not self.is_runtime(condition):
            if not isinstance(condition, Number):
                raise self.error(node, f"device_assert's condition must be an int1 scalar or "
                                 f"tile, got {describe(condition)}")
            if not condition:
                raise self.error(node, f"device_assert's condition is always false"
                                 f"{': ' + msg if msg else ''}")
            return
        if isinstance(condition, Expanded) or condition.type.dtype != tl.int1:
            raise self.error(node, f"device_assert's condition must be int1 (a comparison), "
                             f"got {describe(condition)}")
        self.emit(node, None, self.builder.ops.assert_, condition.ir, msg)

    def runtime_assert(self, node: ast.Assert, test):
        """`assert test, msg` on a runtime condition: the message is a constexpr
        string, else the condition's source (as C's assert reports it)."""
        msg = self.visit(node.msg) if node.msg is not None else ast.unparse(node.test)
        if not isinstance(msg, str):
            raise self.error(node, f"an assert's message must be a constexpr string, got "
                             f"{describe(msg)}")
        self.builtin_device_assert(node, test, msg)

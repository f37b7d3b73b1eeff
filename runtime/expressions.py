"""Safe expressions typed in the editor (`body.price * 1.2`): parsed once, evaluated per request."""

from __future__ import annotations

import ast
import difflib
import inspect
import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from decimal import Overflow as DecimalOverflow
from itertools import chain
from types import MappingProxyType
from typing import Any

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 50
MAX_LENGTH = 1_000_000  # characters of a text or items of a list built by an expression
MAX_INT_DIGITS = 4300
MAX_EXPONENT = 100
MAX_BASE = 10**100
MAX_ROUND_PLACES = 100

_INT_BOUND = 10**MAX_INT_DIGITS
_NUMBER = (int, float, Decimal)
_SEQUENCE = (list, tuple)
_LITERAL_NAMES = {"true": True, "false": False, "null": None}
_LITERAL_TYPES = (int, float, str, bool, type(None))
# Precise enough for every integer we allow, so rounding never drops digits of the whole part.
_ROUNDING = Context(prec=MAX_INT_DIGITS + 2 * MAX_ROUND_PLACES, rounding=ROUND_HALF_UP)
_TOKEN = re.compile(r"\w+|\*\*|//|==|!=|<=|>=|\S")
_NEWLINE = re.compile(r"\r\n|\r|\n")

Run = Callable[[Mapping[str, Any]], Any]


class ExpressionError(Exception):
    """An expression that cannot be parsed or uses something that is not allowed."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # 1-based position in the source (newlines count as one character), for the editor.
        self.column = column


class EvaluationError(Exception):
    """An expression that failed while being evaluated against a scope."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Expression:
    """A parsed expression, compiled into closures, ready to be evaluated many times."""

    __slots__ = ("_run", "names", "source")

    def __init__(self, source: str, names: frozenset[str], run: Run) -> None:
        self.source = source
        self.names = names
        self._run = run

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """Evaluate against the variables in scope; every failure is an EvaluationError."""
        try:
            return self._run(scope)
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError("a value is nested too deeply") from None
        except Exception as exc:  # an odd value from the scope: still a message, not a traceback
            raise EvaluationError(f"cannot evaluate {_quote(self.source)}: {exc}") from exc


def parse(source: str) -> Expression:
    """Parse and compile an expression once; raise ExpressionError if it is invalid or unsafe."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, not {_a(source)}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"expression is too long: {len(source):,} characters (at most {MAX_SOURCE_LENGTH:,})"
        )
    if "\0" in source:
        raise ExpressionError("expression contains a null character", source.index("\0") + 1)
    text = source.lstrip()
    indent = len(source) - len(text)  # Python refuses leading spaces; users type them anyway
    if not text:
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, text, indent) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply") from None
    compiler = _Compiler(text, indent)
    run = compiler.compile(tree.body, 1)
    return Expression(source, frozenset(compiler.names), run)


def _syntax_error(exc: SyntaxError, text: str, indent: int) -> ExpressionError:
    """Turn Python's SyntaxError into a one-line message with a column in the user's source."""
    starts = _line_starts(text)
    lineno, offset = exc.lineno or 0, exc.offset or 0
    position = starts[lineno - 1] + offset - 1 if 0 < lineno <= len(starts) and offset else 0
    if exc.msg.startswith("invalid syntax"):
        token = _TOKEN.search(text, position) if lineno and offset else None
        if token is None:
            return ExpressionError("unexpected end of expression", indent + len(text.rstrip()) + 1)
        column = indent + token.start() + 1
        hint = " (use == to compare)" if token.group() == "=" else ""
        return ExpressionError(f'unexpected "{token.group()}" at column {column}{hint}', column)
    message = re.sub(r" \(detected at line \d+\)", "", exc.msg).replace("'", '"')
    column = indent + position + 1
    return ExpressionError(f"{message} at column {column}", column)


def _line_starts(text: str) -> list[int]:
    """Where each line of text starts, splitting lines the way Python's tokenizer does."""
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


class _Compiler:
    """Checks a syntax tree and turns it into nested closures, noting the variables it reads."""

    def __init__(self, text: str, indent: int) -> None:
        self.text = text
        self.indent = indent
        self.starts = _line_starts(text)
        self.names: set[str] = set()

    def compile(self, node: ast.AST, depth: int) -> Run:
        if depth > MAX_DEPTH:
            message = f"expression is nested too deeply (more than {MAX_DEPTH} levels)"
            raise self.error(message, node)
        handler = _HANDLERS.get(type(node))
        if handler is None:
            message = _FORBIDDEN.get(type(node)) or f"not allowed here: {self.segment(node)}"
            raise self.error(message, node)
        return handler(self, node, depth + 1)

    def error(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, self.column(node.lineno, node.col_offset))

    def column(self, lineno: int, byte_offset: int) -> int:
        start = self.starts[lineno - 1]
        line = self.text[start:].encode()[:byte_offset]  # ast offsets count UTF-8 bytes
        return self.indent + start + len(line.decode(errors="ignore")) + 1

    def segment(self, node: ast.AST) -> str:
        return _shorten(" ".join((ast.get_source_segment(self.text, node) or "").split()))

    def check_name(self, name: str, node: ast.AST, column: int | None = None) -> None:
        if name.startswith("_"):
            problem = f'names starting with "_" are not allowed: {name}'
        elif "__" in name:
            problem = f'names containing "__" are not allowed: {name}'
        else:
            return
        raise ExpressionError(problem, column or self.column(node.lineno, node.col_offset))

    def constant(self, node: ast.Constant, depth: int) -> Run:
        if not isinstance(node.value, _LITERAL_TYPES):
            message = f"only numbers, text, true, false and null are allowed: {self.segment(node)}"
            raise self.error(message, node)
        return _constant(node.value)

    def name(self, node: ast.Name, depth: int) -> Run:
        if node.id in _LITERAL_NAMES:
            return _constant(_LITERAL_NAMES[node.id])
        self.check_name(node.id, node)
        self.names.add(node.id)
        return _variable(node.id)

    def attribute(self, node: ast.Attribute, depth: int) -> Run:
        self.check_name(node.attr, node, self.attribute_column(node))
        return _attribute(self.compile(node.value, depth), node.attr, self.segment(node.value))

    def attribute_column(self, node: ast.Attribute) -> int:
        return self.column(node.end_lineno, node.end_col_offset - len(node.attr.encode()))

    def subscript(self, node: ast.Subscript, depth: int) -> Run:
        target = self.compile(node.value, depth)
        where = self.segment(node.value)
        index = node.slice
        if isinstance(index, ast.Slice):
            parts = (index.lower, index.upper, index.step)
            bounds = [None if part is None else self.compile(part, depth) for part in parts]
            return _slice(target, bounds, where, f"[{self.segment(index)}]")
        if isinstance(index, ast.Tuple):
            raise self.error("use one index at a time, e.g. a[0][1]", index)
        return _item(target, self.compile(index, depth), where)

    def binary(self, node: ast.BinOp, depth: int) -> Run:
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise self.error(f'operator "{_SYMBOLS[type(node.op)]}" is not allowed', node)
        left, right = self.compile(node.left, depth), self.compile(node.right, depth)
        return _binary(operation, left, right, self.segment(node.left), self.segment(node.right))

    def unary(self, node: ast.UnaryOp, depth: int) -> Run:
        if isinstance(node.op, ast.Invert):
            raise self.error('operator "~" is not allowed', node)
        operand = self.compile(node.operand, depth)
        if isinstance(node.op, ast.Not):
            return lambda scope: not operand(scope)
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        return _sign(symbol, operand, self.segment(node.operand))

    def boolean(self, node: ast.BoolOp, depth: int) -> Run:
        *first, last = [self.compile(value, depth) for value in node.values]
        if isinstance(node.op, ast.And):

            def run_and(scope: Mapping[str, Any]) -> Any:
                for value in first:
                    result = value(scope)
                    if not result:
                        return result
                return last(scope)

            return run_and

        def run_or(scope: Mapping[str, Any]) -> Any:
            for value in first:
                result = value(scope)
                if result:
                    return result
            return last(scope)

        return run_or

    def compare(self, node: ast.Compare, depth: int) -> Run:
        nodes = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, nodes[:-1], nodes[1:], strict=True):
            if isinstance(op, (ast.Is, ast.IsNot)) and not (_is_null(left) or _is_null(right)):
                message = '"is" only compares with null, e.g. x is null; use == to compare values'
                raise self.error(message, node)
        operations = [_COMPARE[type(op)] for op in node.ops]
        operands = [self.compile(operand, depth) for operand in nodes]
        if len(operations) == 1:
            texts = self.segment(node.left), self.segment(node.comparators[0])
            return _binary(operations[0], operands[0], operands[1], *texts)
        return _chain(operands[0], list(zip(operations, operands[1:], strict=True)))

    def conditional(self, node: ast.IfExp, depth: int) -> Run:
        test = self.compile(node.test, depth)
        body, orelse = self.compile(node.body, depth), self.compile(node.orelse, depth)
        return lambda scope: body(scope) if test(scope) else orelse(scope)

    def call(self, node: ast.Call, depth: int) -> Run:
        function_node = node.func
        if isinstance(function_node, ast.Attribute):
            self.check_name(function_node.attr, node, self.attribute_column(function_node))
            raise self.error(self.method_message(node, function_node), node)
        if not isinstance(function_node, ast.Name):
            message = f"only functions like lower(x) can be called: {self.segment(node)}"
            raise self.error(message, node)
        name = function_node.id
        self.check_name(name, function_node)
        function = FUNCTIONS.get(name)
        if function is None:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise self.error(f'unknown function "{name}"{hint}', function_node)
        if node.keywords:
            keyword = node.keywords[0]
            if keyword.arg is None:
                raise self.error('unpacking with "**" is not allowed', keyword)
            message = f"keyword arguments are not allowed: {self.segment(keyword)}"
            raise self.error(message, keyword)
        lowest, highest = _arity(function)
        if len(node.args) < lowest or (highest is not None and len(node.args) > highest):
            expected = _expected_arguments(lowest, highest)
            raise self.error(f"{name}() takes {expected}, got {len(node.args)}", node)
        arguments = [self.compile(argument, depth) for argument in node.args]
        return _call(name, function, arguments)

    def method_message(self, node: ast.Call, function_node: ast.Attribute) -> str:
        method = function_node.attr
        if method not in FUNCTIONS:
            return f"methods cannot be called: {self.segment(node)}"
        arguments = [self.segment(function_node.value), *map(self.segment, node.args)]
        return (
            f"methods cannot be called: write {method}({', '.join(arguments)}) "
            f"instead of {self.segment(node)}"
        )

    def sequence(self, node: ast.List | ast.Tuple, depth: int) -> Run:
        items = [self.compile(item, depth) for item in node.elts]
        return lambda scope: [item(scope) for item in items]

    def mapping(self, node: ast.Dict, depth: int) -> Run:
        if any(key is None for key in node.keys):
            raise self.error('unpacking with "**" is not allowed', node)
        pairs = [
            (self.compile(key, depth), self.compile(value, depth))
            for key, value in zip(node.keys, node.values, strict=True)
        ]
        return _mapping(pairs)


_HANDLERS: dict[type, Callable[[_Compiler, Any, int], Run]] = {
    ast.Constant: _Compiler.constant,
    ast.Name: _Compiler.name,
    ast.Attribute: _Compiler.attribute,
    ast.Subscript: _Compiler.subscript,
    ast.BinOp: _Compiler.binary,
    ast.UnaryOp: _Compiler.unary,
    ast.BoolOp: _Compiler.boolean,
    ast.Compare: _Compiler.compare,
    ast.IfExp: _Compiler.conditional,
    ast.Call: _Compiler.call,
    ast.List: _Compiler.sequence,
    ast.Tuple: _Compiler.sequence,
    ast.Dict: _Compiler.mapping,
}

_FORBIDDEN: dict[type, str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed: use concat(...) or + with str(...)",
    ast.NamedExpr: "assignments (:=) are not allowed",
    ast.Starred: 'unpacking with "*" is not allowed',
    ast.Await: '"await" is not allowed',
    ast.Yield: '"yield" is not allowed',
    ast.YieldFrom: '"yield" is not allowed',
    ast.Set: "sets are not supported: use a list [...]",
}

_SYMBOLS: dict[type, str] = {
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
}


def _is_null(node: ast.AST) -> bool:
    """Whether node is the literal None or null."""
    if isinstance(node, ast.Constant):
        return node.value is None
    return isinstance(node, ast.Name) and node.id == "null"


def _arity(function: Callable[..., Any]) -> tuple[int, int | None]:
    """The fewest and most positional arguments function accepts (None: no limit)."""
    parameters = inspect.signature(function).parameters.values()
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    required = sum(p.default is p.empty for p in positional)
    variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    return required, None if variadic else len(positional)


def _expected_arguments(lowest: int, highest: int | None) -> str:
    """Describe an argument count in words, e.g. "1 or 2 arguments"."""
    if highest is None:
        return f"at least {_plural(lowest, 'argument')}"
    if lowest == highest:
        return _plural(lowest, "argument") if lowest else "no arguments"
    joiner = "or" if highest == lowest + 1 else "to"
    return f"{lowest} {joiner} {highest} arguments"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- closures built by the compiler -------------------------------------------------------


def _constant(value: Any) -> Run:
    return lambda scope: value


def _variable(name: str) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        try:
            return scope[name]
        except KeyError:
            raise EvaluationError(f'unknown variable "{name}"') from None

    return run


def _attribute(target: Run, attribute: str, where: str) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        value = target(scope)
        if type(value) is dict or isinstance(value, Mapping):
            return value.get(attribute)
        raise _cannot_read(f'"{attribute}"', value, where, "an object")

    return run


def _item(target: Run, key: Run, where: str) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        return _index(target(scope), key(scope), where)

    return run


def _slice(target: Run, bounds: list[Run | None], where: str, text: str) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        container = target(scope)
        lower, upper, step = (None if bound is None else bound(scope) for bound in bounds)
        return _cut(container, lower, upper, step, where, text)

    return run


def _binary(
    operation: Callable[[Any, Any], Any], left: Run, right: Run, left_text: str, right_text: str
) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        a = left(scope)
        b = right(scope)
        try:
            return operation(a, b)
        except EvaluationError as exc:
            raise _explain_null(exc, (a, left_text), (b, right_text)) from None

    return run


def _sign(symbol: str, operand: Run, text: str) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        value = operand(scope)
        if isinstance(value, _NUMBER):
            return -value if symbol == "-" else +value
        error = EvaluationError(f'cannot use "{symbol}" with {_kind(value)}')
        raise _explain_null(error, (value, text))

    return run


def _chain(first: Run, rest: list[tuple[Callable[[Any, Any], bool], Run]]) -> Run:
    def run(scope: Mapping[str, Any]) -> bool:
        left = first(scope)
        for operation, operand in rest:
            right = operand(scope)
            if not operation(left, right):
                return False
            left = right
        return True

    return run


def _call(name: str, function: Callable[..., Any], arguments: list[Run]) -> Run:
    def run(scope: Mapping[str, Any]) -> Any:
        values = [argument(scope) for argument in arguments]
        try:
            return function(*values)
        except (EvaluationError, RecursionError):
            raise
        except Exception as exc:
            raise EvaluationError(f"{name}() failed: {exc}") from exc

    return run


def _mapping(pairs: list[tuple[Run, Run]]) -> Run:
    def run(scope: Mapping[str, Any]) -> dict[Any, Any]:
        result = {}
        for key, value in pairs:
            k, v = key(scope), value(scope)
            try:
                result[k] = v
            except TypeError:
                raise EvaluationError(f"{_a(k)} cannot be used as a key") from None
        return result

    return run


def _explain_null(error: EvaluationError, *operands: tuple[Any, str]) -> EvaluationError:
    """Name the operand that was null: the usual reason an operator fails."""
    for value, text in operands:
        if value is None and text not in ("null", "None"):
            return EvaluationError(f"{error.message} ({text} is null)")
    return error


def _cannot_read(what: str, value: Any, where: str, expected: str) -> EvaluationError:
    if value is None:
        return EvaluationError(f"cannot read {what} of null ({where} is null)")
    return EvaluationError(f"cannot read {what} of {where}: it is {_a(value)}, not {expected}")


def _index(container: Any, key: Any, where: str) -> Any:
    """container[key]: a key of an object, or a position in a list or text."""
    if isinstance(container, Mapping):
        try:
            return container.get(key)
        except TypeError:
            raise EvaluationError(f"{_a(key)} cannot be used as a key") from None
    if isinstance(container, (str, list, tuple)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise EvaluationError(f"{where} can only be indexed by a whole number, not {_a(key)}")
        try:
            return container[key]
        except IndexError:
            unit = "characters" if isinstance(container, str) else "items"
            count = len(container)
            message = f"index {key} is out of range: {where} has {count} {unit}"
            raise EvaluationError(message) from None
    raise _cannot_read(f"[{_show(key)}]", container, where, "a list, text or object")


def _cut(container: Any, lower: Any, upper: Any, step: Any, where: str, text: str) -> Any:
    """container[lower:upper:step] on a list or a text."""
    for bound in (lower, upper, step):
        if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
            raise EvaluationError(f"slice bounds must be whole numbers, not {_a(bound)}")
    if step == 0:
        raise EvaluationError("slice step cannot be zero")
    if isinstance(container, str):
        return container[lower:upper:step]
    if isinstance(container, _SEQUENCE):
        return list(container[lower:upper:step])
    raise _cannot_read(text, container, where, "a list or text")


# --- operators ------------------------------------------------------------------------------


def _mixed(a: Any, b: Any) -> tuple[Any, Any]:
    """Let a Decimal from the database meet a float as two Decimals (1.1 stays 1.1)."""
    if isinstance(a, Decimal):
        if type(b) is float:
            return a, Decimal(str(b))
    elif type(a) is float and isinstance(b, Decimal):
        return Decimal(str(a)), b
    return a, b


def _checked(number: Any) -> Any:
    """Refuse numeric results too large to be useful (or to print)."""
    kind = type(number)
    if kind is int:
        if -_INT_BOUND < number < _INT_BOUND:
            return number
        raise EvaluationError(f"number is too large (more than {MAX_INT_DIGITS:,} digits)")
    if kind is float and not math.isfinite(number):
        raise EvaluationError("number is too large")
    if kind is Decimal and not number.is_finite():
        raise EvaluationError("result is not a finite number")
    if kind is complex:
        raise EvaluationError("result is not a real number")
    return number


def _check_length(size: int, unit: str) -> None:
    if size > MAX_LENGTH:
        raise EvaluationError(f"result would be too long: more than {MAX_LENGTH:,} {unit}")


def _arithmetic(symbol: str, operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An operator on two numbers, mixing Decimal and float and limiting the result."""

    def apply(a: Any, b: Any) -> Any:
        if not (isinstance(a, _NUMBER) and isinstance(b, _NUMBER)):
            raise EvaluationError(f'cannot use "{symbol}" with {_kind(a)} and {_kind(b)}')
        a, b = _mixed(a, b)
        try:
            return _checked(operation(a, b))
        except ZeroDivisionError:
            raise EvaluationError("division by zero") from None
        except (OverflowError, DecimalOverflow):
            raise EvaluationError("number is too large") from None
        except ArithmeticError:
            raise EvaluationError(f"cannot compute {_show(a)} {symbol} {_show(b)}") from None

    return apply


def _divided(operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def divide(a: Any, b: Any) -> Any:
        if b == 0:  # Decimal signals 0/0 as an invalid operation; users just see zero
            raise ZeroDivisionError
        return operation(a, b)

    return divide


def _limited_power(base: Any, exponent: Any) -> Any:
    if abs(exponent) > MAX_EXPONENT:
        message = f"exponent is too large: {_show(exponent)} (at most {MAX_EXPONENT})"
        raise EvaluationError(message)
    if abs(base) > MAX_BASE:
        raise EvaluationError(f"base of ** is too large: {_show(base)} (at most 10**100)")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    return base**exponent


_plus = _arithmetic("+", operator.add)
_times = _arithmetic("*", operator.mul)
_subtract = _arithmetic("-", operator.sub)
_divide = _arithmetic("/", _divided(operator.truediv))
_floor_divide = _arithmetic("//", _divided(operator.floordiv))
_modulo = _arithmetic("%", _divided(operator.mod))  # numbers only: "%" on text would format
_power = _arithmetic("**", _limited_power)


def _add(a: Any, b: Any) -> Any:
    """a + b: numbers add, texts and lists join."""
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):
        return _plus(a, b)
    if isinstance(a, str) and isinstance(b, str):
        _check_length(len(a) + len(b), "characters")
        return a + b
    if isinstance(a, _SEQUENCE) and isinstance(b, _SEQUENCE):
        _check_length(len(a) + len(b), "items")
        return [*a, *b]
    message = f"cannot add {_kind(a)} and {_kind(b)}"
    if isinstance(a, str) or isinstance(b, str):
        other = b if isinstance(a, str) else a
        if other is None:
            message += ": use concat(...), which treats null as empty text"
        else:
            message += f": use str(...) to turn the {_kind(other)} into text"
    raise EvaluationError(message)


def _multiply(a: Any, b: Any) -> Any:
    """a * b: numbers multiply, a text or list times a whole number repeats."""
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):
        return _times(a, b)
    if isinstance(b, (str, list, tuple)):
        a, b = b, a
    if isinstance(a, (str, list, tuple)) and isinstance(b, int):
        _check_length(len(a) * b, "characters" if isinstance(a, str) else "items")
        return a * b if isinstance(a, str) else list(a) * b
    if isinstance(a, (str, list, tuple)) and isinstance(b, _NUMBER):
        raise EvaluationError(f"{_a(a)} can only be repeated a whole number of times")
    raise EvaluationError(f"cannot multiply {_kind(a)} and {_kind(b)}")


def _comparison(symbol: str, operation: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def apply(a: Any, b: Any) -> bool:
        a, b = _mixed(a, b)
        try:
            return operation(a, b)
        except (TypeError, ArithmeticError):
            message = f'cannot compare {_kind(a)} and {_kind(b)} with "{symbol}"'
            raise EvaluationError(message) from None

    return apply


def _member(item: Any, container: Any) -> bool:
    """item in container: a text in a text, an item in a list, a key in an object."""
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        raise EvaluationError(f"cannot look for {_a(item)} in text: use str(...) first")
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:  # a list or object can never be a key
            return False
    if isinstance(container, _SEQUENCE):
        if isinstance(item, (float, Decimal)):
            return any(_equal(item, value) for value in container)
        return item in container
    raise EvaluationError(f"cannot look inside {_kind(container)}")


_equal = _comparison("==", operator.eq)

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: _subtract,
    ast.Mult: _multiply,
    ast.Div: _divide,
    ast.FloorDiv: _floor_divide,
    ast.Mod: _modulo,
    ast.Pow: _power,
}

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: _equal,
    ast.NotEq: _comparison("!=", operator.ne),
    ast.Lt: _comparison("<", operator.lt),
    ast.LtE: _comparison("<=", operator.le),
    ast.Gt: _comparison(">", operator.gt),
    ast.GtE: _comparison(">=", operator.ge),
    ast.In: _member,
    ast.NotIn: lambda item, container: not _member(item, container),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


# --- values in words --------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The kind of a value in the user's words: number, text, list, object, null..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _NUMBER):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, _SEQUENCE):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def _a(value: Any) -> str:
    """The kind of a value with its article: "a number", "an object", "text", "null"."""
    kind = _kind(value)
    if kind in ("null", "text"):
        return kind
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _show(value: Any) -> str:
    """A short form of a value for a message."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (_SEQUENCE, Mapping)):
        return _a(value)
    return _shorten(_text(value))


def _quote(text: str) -> str:
    return json.dumps(_shorten(text), ensure_ascii=False)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str:
    """A value as text: null/true/false as written in expressions, lists and objects as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (_SEQUENCE, Mapping)):
        _check_length(_text_size(value, MAX_LENGTH), "characters")
        text = _json(value)
        _check_length(len(text), "characters")
        return text
    return str(value)


def _json(value: Any) -> str:
    if isinstance(value, Mapping):
        pairs = (f"{_json(_text(key))}: {_json(item)}" for key, item in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, _SEQUENCE):
        return "[" + ", ".join(_json(item) for item in value) + "]"
    if isinstance(value, (str, date, time)):
        return json.dumps(_text(value), ensure_ascii=False)
    return _text(value)


def _text_size(value: Any, budget: int) -> int:
    """A cheap lower bound of len(_text(value)), counted no further than budget."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 4
    if isinstance(value, int):
        return max(1, value.bit_length() * 3 // 10)  # log10(2) > 0.3
    if isinstance(value, (_SEQUENCE, Mapping)):
        items = chain(value.keys(), value.values()) if isinstance(value, Mapping) else value
        size = 2
        for item in items:
            size += 2 + _text_size(item, budget - size)
            if size > budget:
                break
        return size
    return 1


def _join_text(name: str, parts: Any, separator: str) -> str:
    """Parts as text joined by separator, null as empty text, refusing results too long."""
    size = len(separator) * max(len(parts) - 1, 0)
    for part in parts:
        if size > MAX_LENGTH:
            break
        size += 0 if part is None else _text_size(part, MAX_LENGTH - size)
    if size > MAX_LENGTH:
        message = f"{name}() result would be too long: more than {MAX_LENGTH:,} characters"
        raise EvaluationError(message)
    text = separator.join("" if part is None else _text(part) for part in parts)
    _check_length(len(text), "characters")
    return text


# --- functions --------------------------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[..., Any]] = {}
FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(_FUNCTIONS)


def _function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function that expressions may call under name."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        function.__name__ = function.__qualname__ = name
        _FUNCTIONS[name] = function
        return function

    return register


def _expect_text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise EvaluationError(f"{name}() expects text, not {_a(value)}")


def _expect_number(name: str, value: Any) -> Any:
    if isinstance(value, _NUMBER):
        return value
    raise EvaluationError(f"{name}() expects a number, not {_a(value)}")


def _expect_list(name: str, value: Any) -> list[Any] | tuple[Any, ...]:
    if isinstance(value, _SEQUENCE):
        return value
    raise EvaluationError(f"{name}() expects a list, not {_a(value)}")


def _pick(name: str, choose: Callable[[Any], Any], first: Any, rest: tuple[Any, ...]) -> Any:
    values = first if not rest and isinstance(first, _SEQUENCE) else (first, *rest)
    if not values:
        raise EvaluationError(f"{name}() of an empty list")
    try:
        return choose(values)
    except (TypeError, ArithmeticError):
        message = f"{name}() needs values that can be compared, e.g. all numbers or all texts"
        raise EvaluationError(message) from None


@_function("len")
def _len(value: Any) -> int:
    """len(x): the number of characters in a text, items in a list or keys in an object."""
    if isinstance(value, (str, _SEQUENCE, Mapping)):
        return len(value)
    raise EvaluationError(f"len() expects text, a list or an object, not {_a(value)}")


@_function("str")
def _str(value: Any) -> str:
    """str(x): x as text (null, true, false as written here; lists and objects as JSON)."""
    return _text(value)


@_function("int")
def _int(value: Any) -> int:
    """int(x): x as a whole number, from a number (cut towards zero) or a text like "42"."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, Decimal) and value.is_finite():
        if value.adjusted() >= MAX_INT_DIGITS:
            raise EvaluationError(f"number is too large (more than {MAX_INT_DIGITS:,} digits)")
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise EvaluationError(f"cannot convert {_show(value)} to an integer")


@_function("float")
def _float(value: Any) -> float:
    """float(x): x as a number with decimals, from a number or a text like "1.5"."""
    if isinstance(value, (*_NUMBER, str)):
        try:
            result = float(value)
        except (ValueError, OverflowError):
            result = math.nan
        if math.isfinite(result):
            return result
    raise EvaluationError(f"cannot convert {_show(value)} to a number")


@_function("round")
def _round(value: Any, places: Any = 0) -> Any:
    """round(x, n=0): x rounded half away from zero to n decimals (a whole number when n is 0)."""
    _expect_number("round", value)
    if not isinstance(places, int) or isinstance(places, bool) or abs(places) > MAX_ROUND_PLACES:
        limit = MAX_ROUND_PLACES
        raise EvaluationError(f"round() decimals must be a whole number from -{limit} to {limit}")
    if isinstance(value, int) and places >= 0:
        return int(value)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    try:
        rounded = number.quantize(Decimal(1).scaleb(-places), context=_ROUNDING)
    except InvalidOperation:
        raise EvaluationError(f"cannot round {_show(value)} to {places} decimals") from None
    if places <= 0:
        return _checked(int(rounded))
    return rounded if isinstance(value, Decimal) else float(rounded)


@_function("abs")
def _abs(value: Any) -> Any:
    """abs(x): x without its sign."""
    return abs(_expect_number("abs", value))


@_function("min")
def _min(first: Any, *rest: Any) -> Any:
    """min(a, b, ...) or min(list): the smallest value."""
    return _pick("min", min, first, rest)


@_function("max")
def _max(first: Any, *rest: Any) -> Any:
    """max(a, b, ...) or max(list): the largest value."""
    return _pick("max", max, first, rest)


@_function("sum")
def _sum(values: Any) -> Any:
    """sum(list): the total of a list of numbers."""
    total = 0
    for value in _expect_list("sum", values):
        if not isinstance(value, _NUMBER):
            raise EvaluationError(f"sum() expects numbers, but the list holds {_a(value)}")
        total = _plus(total, value)
    return total


@_function("lower")
def _lower(text: Any) -> str:
    """lower(text): the text in lower case."""
    return _expect_text("lower", text).lower()


@_function("upper")
def _upper(text: Any) -> str:
    """upper(text): the text in upper case."""
    result = _expect_text("upper", text).upper()
    _check_length(len(result), "characters")  # "ß" becomes "SS": upper case can grow
    return result


@_function("trim")
def _trim(text: Any) -> str:
    """trim(text): the text without spaces at its start and end."""
    return _expect_text("trim", text).strip()


@_function("concat")
def _concat(*parts: Any) -> str:
    """concat(a, b, ...): the parts joined as text; null counts as empty text."""
    return _join_text("concat", parts, "")


@_function("contains")
def _contains(container: Any, item: Any) -> bool:
    """contains(x, item): whether text x contains a text, list x an item or object x a key."""
    return _member(item, container)


@_function("starts_with")
def _starts_with(text: Any, prefix: Any) -> bool:
    """starts_with(text, prefix): whether the text starts with prefix."""
    return _expect_text("starts_with", text).startswith(_expect_text("starts_with", prefix))


@_function("ends_with")
def _ends_with(text: Any, suffix: Any) -> bool:
    """ends_with(text, suffix): whether the text ends with suffix."""
    return _expect_text("ends_with", text).endswith(_expect_text("ends_with", suffix))


@_function("replace")
def _replace(text: Any, old: Any, new: Any) -> str:
    """replace(text, old, new): the text with every old replaced by new."""
    text, old, new = (_expect_text("replace", value) for value in (text, old, new))
    count = text.count(old)
    _check_length(len(text) + count * (len(new) - len(old)), "characters")
    return text.replace(old, new)


@_function("split")
def _split(text: Any, separator: Any = None) -> list[str]:
    """split(text, sep): the list of parts of text between each sep (spaces if sep is omitted)."""
    text = _expect_text("split", text)
    if separator is None:
        parts = text.split()
    else:
        if not _expect_text("split", separator):
            raise EvaluationError("split() separator cannot be empty")
        _check_length(text.count(separator) + 1, "items")
        parts = text.split(separator)
    _check_length(len(parts), "items")
    return parts


@_function("join")
def _join(values: Any, separator: Any = "") -> str:
    """join(list, sep): the items of a list as one text, sep between them; null as empty text."""
    return _join_text("join", _expect_list("join", values), _expect_text("join", separator))


@_function("coalesce")
def _coalesce(first: Any, *rest: Any) -> Any:
    """coalesce(a, b, ...): the first value that is not null (null if all are)."""
    return next((value for value in (first, *rest) if value is not None), None)


@_function("now")
def _now() -> datetime:
    """now(): the current date and time in UTC."""
    return datetime.now(UTC)


@_function("today")
def _today() -> date:
    """today(): the current date in UTC."""
    return datetime.now(UTC).date()


@_function("date")
def _date(value: Any) -> date:
    """date(x): the date in a text like "2024-05-31" (or the date part of a datetime)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        for parser in (date.fromisoformat, datetime.fromisoformat):
            try:
                parsed = parser(value.strip())
            except ValueError:
                continue
            return parsed.date() if isinstance(parsed, datetime) else parsed
    raise EvaluationError(f"cannot read {_show(value)} as a date (expected YYYY-MM-DD)")


@_function("is_null")
def _is_null_value(value: Any) -> bool:
    """is_null(x): whether x is null."""
    return value is None


@_function("default")
def _default(value: Any, fallback: Any) -> Any:
    """default(x, fallback): x, or fallback when x is null."""
    return fallback if value is None else value


@_function("keys")
def _keys(mapping: Any) -> list[Any]:
    """keys(object): the list of the object's keys."""
    if isinstance(mapping, Mapping):
        return list(mapping)
    raise EvaluationError(f"keys() expects an object, not {_a(mapping)}")


@_function("count")
def _count(values: Any) -> int:
    """count(list): the number of items in a list (0 for null)."""
    return 0 if values is None else len(_expect_list("count", values))

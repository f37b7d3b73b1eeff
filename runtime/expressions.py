"""Safe expressions typed in the editor (`body.price * 1.2`): parsed once, evaluated per request."""

from __future__ import annotations

import ast
import difflib
import inspect
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from nodes.values import (
    _NUMBER,
    _SEQUENCE,
    FUNCTIONS,
    EvaluationError,
    _a,
    _add,
    _comparison,
    _divide,
    _equal,
    _floor_divide,
    _kind,
    _member,
    _modulo,
    _multiply,
    _power,
    _quote,
    _shorten,
    _show,
    _subtract,
)

# Names that moved to nodes.values (shared with the events), still importable from here.
from nodes.values import MAX_BASE as MAX_BASE
from nodes.values import MAX_EXPONENT as MAX_EXPONENT
from nodes.values import MAX_INT_DIGITS as MAX_INT_DIGITS
from nodes.values import MAX_LENGTH as MAX_LENGTH
from nodes.values import MAX_ROUND_PLACES as MAX_ROUND_PLACES

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 50

_LITERAL_NAMES = {"true": True, "false": False, "null": None}
_LITERAL_TYPES = (int, float, str, bool, type(None))
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
        run = _binary(operation, left, right, self.segment(node.left), self.segment(node.right))
        return self.fold(run, node, left, right)

    def fold(self, run: Run, node: ast.AST, *operands: Run) -> Run:
        """Work out a part whose operands are all constants now, once: `9**9**9` or `1/0` is
        then an error `check` reports, not one every run meets."""
        if not all(getattr(operand, "constant", False) for operand in operands):
            return run
        try:
            value = run({})
        except EvaluationError as exc:
            raise self.error(f"{self.segment(node)}: {exc}", node) from None
        return _constant(value)

    def unary(self, node: ast.UnaryOp, depth: int) -> Run:
        if isinstance(node.op, ast.Invert):
            raise self.error('operator "~" is not allowed', node)
        operand = self.compile(node.operand, depth)
        if isinstance(node.op, ast.Not):
            return lambda scope: not operand(scope)
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        return self.fold(_sign(symbol, operand, self.segment(node.operand)), node, operand)

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
    def run(scope: Mapping[str, Any]) -> Any:
        return value

    run.constant = True  # type: ignore[attr-defined]  # see _Compiler.fold
    return run


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


# --- operator tables (the operators themselves live in nodes.values) -------------------------

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

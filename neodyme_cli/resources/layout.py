"""Python source laid out as the generated project's ruff (isort and format) wants it.

Generated lines vary in length with the names in them, so the templates write each statement on
one line and `reflow` splits those over 100 characters in a way ruff format keeps: at their
first bracket, one item per line, with a trailing comma (which tells ruff to keep it so).
Import blocks are sorted and grouped as ruff's isort does.
"""

import sys
from collections.abc import Iterable

LINE_LENGTH = 100
INDENT = "    "
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def reflow(source: str) -> str:
    """`source` with every line over the limit split (see above); docstrings are left alone."""
    lines: list[str] = []
    in_docstring = False
    for line in source.split("\n"):
        opens_or_closes = line.count('"""') % 2 == 1
        lines.extend([line] if in_docstring or '"""' in line else _fit(line))
        in_docstring ^= opens_or_closes
    return "\n".join(lines)


def _fit(line: str) -> list[str]:
    if len(line) <= LINE_LENGTH:
        return [line]
    split = _split(line)
    if split is None:
        return [line]  # nothing to split at: ruff check reports it, and the tests catch it
    return [fitted for part in split for fitted in _fit(part)]


def _split(line: str) -> list[str] | None:
    indent = line[: len(line) - len(line.lstrip())]
    statement = line.strip()
    if statement.startswith("from ") and " import " in statement and "(" not in statement:
        head, _, names = statement.partition(" import ")
        items = [name.strip() for name in names.split(",")]
        return [f"{indent}{head} import (", *(f"{indent}{INDENT}{i}," for i in items), f"{indent})"]
    if _holds_a_comprehension_or_condition(line):
        return None
    brackets = _brackets(line)
    if not brackets or not _splittable(line, *brackets[0]):
        return None  # the templates write such lines short enough, or as ruff lays them out
    chosen = brackets[0]
    opening, closing = chosen
    items = _items(line, opening, closing)
    return [
        line[: opening + 1],
        *(f"{indent}{INDENT}{item}," for item in items),
        indent + line[closing:],
    ]


def _holds_a_comprehension_or_condition(line: str) -> bool:
    code = _without_strings(line)
    return " for " in code or (" if " in code and " else " in code)


def _without_strings(line: str) -> str:
    kept, position = [], 0
    while position < len(line):
        if line[position] in "'\"":
            position = _string_end(line, position) + 1
            kept.append('""')
        else:
            kept.append(line[position])
            position += 1
    return "".join(kept)


def _brackets(line: str) -> list[tuple[int, int]]:
    """(opening, closing) positions of the brackets outside strings and comments, in order."""
    pairs, stack = [], []
    position = 0
    while position < len(line):
        char = line[position]
        if char in "'\"":
            position = _string_end(line, position)
        elif char == "#":
            break
        elif char in _CLOSING:
            stack.append(position)
        elif char in ")]}" and stack:
            pairs.append((stack.pop(), position))
        position += 1
    return sorted(pairs)


def _string_end(line: str, start: int) -> int:
    quote, position = line[start], start + 1
    while position < len(line) and line[position] != quote:
        position += 2 if line[position] == "\\" else 1
    return position


def _items(line: str, opening: int, closing: int) -> list[str]:
    """The comma-separated items between two brackets (nested brackets and strings kept)."""
    inner = line[opening + 1 : closing]
    items, depth, start, position = [], 0, 0, 0
    top_level = []  # the code between the brackets themselves, outside nested ones and strings
    while position < len(inner):
        char = inner[position]
        if char in "'\"":
            position = _string_end(inner, position)
        elif char in _CLOSING:
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(inner[start:position])
            start = position + 1
        elif depth == 0:
            top_level.append(char)
        position += 1
    items.append(inner[start:])
    if " for " in "".join(top_level):
        return []  # a comprehension: it has no items to put on lines of their own
    return [item.strip() for item in items if item.strip()]


def _splittable(line: str, opening: int, closing: int) -> bool:
    """Brackets whose items may each take a line, ending with a comma: a call's or a def's
    parentheses, a list, a dict or a set. A subscript or a tuple only with several items: a
    comma after one would change what it means (`x["a",]` is `x[("a",)]`, `(a + b,)` a tuple)."""
    before = line[:opening].rstrip()
    follows_a_name = bool(before) and (before[-1].isalnum() or before[-1] in "_)]")
    tail = line[closing + 1 :].strip()
    if tail not in ("", ":", ",") and not (tail.startswith("->") and tail.endswith((":", ": ..."))):
        return False  # ruff splits an expression that goes on after the bracket otherwise
    items = _items(line, opening, closing)
    groups = line[opening] == "(" and not follows_a_name
    subscript = line[opening] == "[" and follows_a_name
    return len(items) > 1 if groups or subscript else bool(items)


def import_block(statements: Iterable[object], *, first_party: str) -> str:
    """`from x import a` statements (and `import x`), merged, sorted and grouped as isort does:
    the standard library, third parties, the project (`first_party`), then relative imports.
    Falsy items are skipped, so templates can write `"from x import y" if condition`."""
    straight: set[str] = set()
    names: dict[str, set[str]] = {}
    for statement in statements:
        if not statement:
            continue
        text = str(statement)
        if text.startswith("import "):
            straight.add(text.removeprefix("import "))
            continue
        module, _, imported = text.removeprefix("from ").partition(" import ")
        names.setdefault(module, set()).update(name.strip() for name in imported.split(","))
    sections: dict[int, list[str]] = {}
    for module in sorted(straight, key=_module_key):
        sections.setdefault(_section(module, first_party), []).append(f"import {module}")
    for module in sorted(names, key=_module_key):
        line = f"from {module} import {', '.join(sorted(names[module], key=_name_key))}"
        sections.setdefault(_section(module, first_party), []).append(line)
    blocks = ["\n".join(_fit_all(sections[section])) for section in sorted(sections)]
    return "\n\n".join(blocks)


def _fit_all(lines: list[str]) -> list[str]:
    return [fitted for line in lines for fitted in _fit(line)]


def _section(module: str, first_party: str) -> int:
    if module.startswith("."):
        return 3
    top = module.split(".")[0].split(" ")[0]
    if top == first_party:
        return 2
    return 0 if top in sys.stdlib_module_names else 1


def _module_key(module: str) -> tuple[int, str]:
    """Relative imports furthest first (`..core` before `.params`), then by name."""
    level = len(module) - len(module.lstrip("."))
    return (-level, module.lstrip(".").lower())


def _name_key(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then functions and modules."""
    if name.isupper() and len(name) > 1:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return (kind, name.lower())


def python_string(text: str) -> str:
    """A string literal as ruff format writes it (double quotes; the text has none)."""
    if '"' in text or "\\" in text:
        raise ValueError(f"no quote or backslash expected in {text!r}")
    return f'"{text}"'


def string_constant(name: str, text: str) -> str:
    """`NAME = "text"` at the top of a module, over parenthesized lines if it is too long."""
    line = f"{name} = {python_string(text)}"
    if len(line) <= LINE_LENGTH:
        return line
    width = LINE_LENGTH - len(INDENT) - 3  # the quotes, and the space that ends a part
    parts, current = [], ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            parts.append(current + " ")
            current = word
        else:
            current = f"{current} {word}" if current else word
    parts.append(current)
    body = "\n".join(f"{INDENT}{python_string(part)}" for part in parts)
    return f"{name} = (\n{body}\n)"

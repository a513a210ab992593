"""Reading infra/*.bicep as a tree (tree-sitter-bicep, a real Bicep grammar), for tests/test_infra.py: declarations,
object properties, the dotted path of a reference. That grammar lags Bicep's newest syntax, so infra/ is written in
what it reads (tests fail on any ERROR node)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tree_sitter
import tree_sitter_bicep

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def text(node) -> str:
    return node.text.decode("utf-8")


def string(node) -> str | None:
    """A plain string literal's value (None for an interpolated string or anything else)."""
    if node is None or node.type != "string" or any(child.type == "interpolation" for child in node.children):
        return None
    return "".join(text(child) for child in node.children if child.type in ("string_content", "escape_sequence"))


def properties(node) -> dict[str, object]:
    """An object node's properties by name (quoted names unquoted)."""
    found = {}
    for child in node.children if node is not None and node.type == "object" else ():
        if child.type == "object_property":
            key, value = child.named_children[0], child.named_children[-1]
            found[string(key) if key.type == "string" else text(key)] = value
    return found


def path(node) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything but a chain of names."""
    if node.type == "identifier":
        return [text(node)]
    if node.type == "member_expression":
        head = path(node.child_by_field_name("object"))
        return None if head is None else [*head, text(node.child_by_field_name("property"))]
    return None


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def body(declaration):
    """The object of a resource or module declaration, plain, in a loop (`[for ...: {...}]`) or conditional."""
    for child in declaration.children:
        if child.type == "object":
            return child
        if child.type == "for_statement":
            return child.child_by_field_name("body")
        if child.type == "if_statement":
            return next(grand for grand in child.children if grand.type == "object")
    raise AssertionError(f"no body in {text(declaration)[:80]}")


@dataclass
class Declaration:
    kind: str  # param, var, resource, module, output, type
    name: str
    node: object
    file: Path

    @property
    def type_string(self) -> str | None:
        """A resource's `Type@version`, a module's path."""
        return string(next((child for child in self.node.children if child.type == "string"), None))

    @property
    def value(self):
        """A var's or output's value, a param's default (None without one)."""
        if self.kind in ("resource", "module"):
            return body(self.node)
        children = self.node.children
        marks = [i for i, child in enumerate(children) if child.type == "="]
        return children[marks[0] + 1] if marks else None


class BicepFile:
    def __init__(self, file: Path):
        self.file = file
        self.tree = PARSER.parse(file.read_bytes())
        self.root = self.tree.root_node

    def errors(self) -> list[str]:
        return [f"{self.file.name}:{node.start_point[0] + 1}: {text(node)[:60]!r}" for node in walk(self.root)
                if node.type == "ERROR" or node.is_missing]

    def target_scope(self) -> str:
        found = [string(node.named_children[0]) for node in self.root.children
                 if node.type == "target_scope_assignment"]
        return found[0] if found else "resourceGroup"

    def declarations(self, kind: str) -> dict[str, Declaration]:
        node_type = {"param": "parameter_declaration", "var": "variable_declaration",
                     "resource": "resource_declaration", "module": "module_declaration",
                     "output": "output_declaration", "type": "type_declaration"}[kind]
        found = {}
        for node in self.root.children:
            if node.type == node_type:
                name = next(child for child in node.children if child.type == "identifier")
                found[text(name)] = Declaration(kind, text(name), node, self.file)
        return found

    def decorators(self, declaration: Declaration) -> dict[str, object]:
        """The decorators just before a declaration, by name: their call_expression nodes."""
        found, node = {}, declaration.node.prev_named_sibling
        while node is not None and node.type == "decorators":
            for decorator in node.named_children:
                call = decorator.named_children[0]
                found[text(call.child_by_field_name("function"))] = call
            node = node.prev_named_sibling
        return found

"""The package stays readable: short functions with few parameters."""
import ast
import os

from conftest import ROOT

PACKAGE = os.path.join(ROOT, "diehl_cook")


def modules():
    """(file name, syntax tree) of each module of the package."""
    for name in sorted(os.listdir(PACKAGE)):
        if name.endswith(".py"):
            yield name, ast.parse(open(os.path.join(PACKAGE, name)).read())


def functions():
    for name, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield name, node


def test_no_function_is_longer_than_60_lines():
    long = [f"{file}:{f.name} ({f.end_lineno - f.lineno + 1} lines)"
            for file, f in functions() if f.end_lineno - f.lineno + 1 > 60]
    assert not long


def test_no_function_takes_more_than_6_parameters():
    def count(f):
        args = f.args
        names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        return len([n for n in names if n not in ("self", "cls")]) + bool(args.vararg) + bool(args.kwarg)
    many = [f"{file}:{f.name} ({count(f)})" for file, f in functions() if count(f) > 6]
    assert not many


def test_only_the_command_layer_prints():
    """The library says what it does through ``diehl_cook.report`` (a logger), so that a
    program using it as a library decides what is shown; only the command line prints."""
    command_layer = {"cli.py", "commands.py", "research.py", "paths.py", "report.py"}
    printing = [f"{name}:{node.lineno}" for name, tree in modules() if name not in command_layer
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"]
    assert not printing

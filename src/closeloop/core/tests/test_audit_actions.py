"""Typed audit actions: each app declares its codes with labels, and the trail refuses any other code."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from closeloop.core.audit import audit_record, declared_actions
from closeloop.core.hooks import loop_apps
from closeloop.core.models import AuditEntry, Channel

SOURCE = Path(__file__).resolve().parents[2]  # src/closeloop
# The calls that write an audit entry with the `action=` they are given.
AUDITING_CALLS = ("audit_record", "audited_update", "audited_create")


def _source_files():
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE).parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path


def _assigned_strings(function: ast.AST, name: str) -> list[ast.AST]:
    """Values assigned to a local variable, for `action = "a" if x else "b"` followed by `action=action`."""
    return [node.value for node in ast.walk(function) if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)]


def _codes(expression: ast.AST, scope: ast.AST, seen: frozenset = frozenset()) -> tuple[set[str], set[str]]:
    """(exact codes, f-string prefixes) an `action=` expression can take."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return {expression.value}, set()
    if isinstance(expression, ast.JoinedStr):
        head = expression.values[0]
        return set(), {head.value if isinstance(head, ast.Constant) else ""}
    parts = []
    if isinstance(expression, ast.IfExp):
        parts = [expression.body, expression.orelse]
    elif isinstance(expression, ast.Name) and expression.id not in seen:
        parts = _assigned_strings(scope, expression.id)
        seen = seen | {expression.id}
    exact, prefixes = set(), set()
    for part in parts:
        more_exact, more_prefixes = _codes(part, scope, seen)
        exact |= more_exact
        prefixes |= more_prefixes
    return exact, prefixes


def used_action_codes() -> tuple[dict[str, str], dict[str, str]]:
    """Every code passed as `action=` to audit_record, audited_update or audited_create in the source, with where
    it is used."""
    exact, prefixes = {}, {}
    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for scope in scopes:
            for call in ast.walk(scope):
                if not isinstance(call, ast.Call):
                    continue
                name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
                if name not in AUDITING_CALLS:
                    continue
                for keyword in call.keywords:
                    if keyword.arg == "action":
                        where = f"{path.relative_to(SOURCE)}:{call.lineno}"
                        codes, heads = _codes(keyword.value, scope)
                        exact.update(dict.fromkeys(codes, where))
                        prefixes.update(dict.fromkeys(heads, where))
    return exact, prefixes


def test_every_action_code_in_the_source_is_declared_by_an_app():
    exact, prefixes = used_action_codes()
    assert len(exact) > 40, "the scan found too few codes: it no longer sees the calls"
    declared = declared_actions()
    assert {code: where for code, where in exact.items() if code not in declared} == {}
    # f"handoff.{status}": some declared code must start with the literal part.
    assert {head: where for head, where in prefixes.items()
            if not head or not any(code.startswith(head) for code in declared)} == {}


def test_every_declared_action_has_a_label_and_the_record_verb_shape():
    for config in loop_apps():
        if config.audit_actions is None:
            continue
        for value, label in config.audit_actions.choices:
            assert value.count(".") == 1 and len(value) <= AuditEntry._meta.get_field("action").max_length, value
            assert str(label) and str(label) != value, value


def test_the_trail_refuses_an_undeclared_code(org):
    with pytest.raises(ValueError, match="undeclared audit action 'lead.teleport'"):
        audit_record(actor=org.admin, channel=Channel.WEB, action="lead.teleport", target=org.admin)
    assert not AuditEntry.objects.filter(action="lead.teleport").exists()


def test_a_declared_code_is_recorded(org):
    entry = audit_record(actor=org.admin, channel=Channel.WEB, action="user.update", target=org.owner)
    assert AuditEntry.objects.get(pk=entry.pk).action == "user.update"


def test_every_action_label_reads_in_chinese():
    with translation.override("zh-hans"):
        untranslated = [value for config in loop_apps() if config.audit_actions is not None
                        for value, label in config.audit_actions.choices if not re.search(r"[\u4e00-\u9fff]", str(label))]
    assert untranslated == []

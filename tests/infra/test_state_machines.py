"""Every ASL file in statemachines/ is a valid state machine that AWS and localaws fill alike.

Three independent validators read each definition, rendered the way CloudFormation's
``DefinitionSubstitutions`` renders it: moto's ASL parser (the grammar Step Functions Local and
moto execute), the npm ``asl-validator`` (schema and transition checks), and cfn-lint's
state machine rule (the AWS::StepFunctions::StateMachine schema). Each is first shown a broken
definition, so a validator that accepts everything fails the test. The contract checks below
(transitions, reachability, error handling, placeholders) are this project's own.
"""

from __future__ import annotations

import ast
import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.functions import WORKFLOW_FUNCTIONS
from chalicelib.workflow.definitions import STATE_MACHINES, STATEMACHINES_DIR, StateMachine
from tests.infra.conftest import ROOT

TOOLS_DIR = ROOT / ".local" / "tools"
ASL_VALIDATOR = "asl-validator@4.0.0"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Task states without a Catch, and why that is right.
NO_CATCH: dict[tuple[str, str], str] = {
    ("generate_invoices.asl.json", "RecordFailure"): (
        "it is the Catch handler of a batch's task; if it still fails after its retries, "
        "that batch's child execution fails and ToleratedFailurePercentage=100 lets the "
        "run go on (FinishRun counts its customers as not run)"
    ),
    ("generate_invoices.asl.json", "AnnounceRun"): (
        "a notification after the run is recorded; after its retries a failed publish fails "
        "the execution, which is the signal an operator needs"
    ),
}
# What Step Functions recommends retrying on every lambda:invoke.
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
TERMINAL = {"Succeed", "Fail"}

MACHINES = pytest.mark.parametrize("machine", STATE_MACHINES, ids=lambda m: m.asl_file)


# --- rendering ----------------------------------------------------------------------------------


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rebill-test-{name}"


TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:rebill-test-events"


def localaws_values(machine: StateMachine) -> dict[str, str]:
    """The values localaws/provision.py gives the placeholders (same expression)."""
    function_arns = {name: function_arn(name) for name in WORKFLOW_FUNCTIONS}
    return {
        placeholder: function_arns[sub.name] if sub.kind == "function" else TOPIC_ARN
        for placeholder, sub in machine.substitutions.items()
    }


def rendered(machine: StateMachine) -> str:
    return machine.render(localaws_values(machine))


def mistyped(definition: str) -> str:
    """A definition no validator may accept: its first state has a type ASL does not know."""
    data = json.loads(definition)
    data["States"][data["StartAt"]]["Type"] = "NoSuchType"
    return json.dumps(data)


def dangling(definition: str) -> str:
    """A well-typed definition whose first state jumps to a state that does not exist."""
    data = json.loads(definition)
    first = data["States"][data["StartAt"]]
    first.pop("End", None)
    first["Next"] = "NoSuchState"
    return json.dumps(data)


# --- walking a definition -----------------------------------------------------------------------


def scopes(definition: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The definition and every nested state machine (Map processors, Parallel branches)."""
    yield where or "(top)", definition
    for name, state in definition["States"].items():
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from scopes(state[key], f"{where}{name}/")
        for index, branch in enumerate(state.get("Branches", [])):
            yield from scopes(branch, f"{where}{name}[{index}]/")


def transitions(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [c["Next"] for c in state.get("Catch", [])]
    targets += [c["Next"] for c in state.get("Choices", [])]
    if "Default" in state:
        targets.append(state["Default"])
    return targets


def all_states(definition: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for where, scope in scopes(definition):
        for name, state in scope["States"].items():
            yield where, name, state


def strings_at(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings_at(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_at(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


# --- the files ----------------------------------------------------------------------------------


def test_every_asl_file_is_a_declared_state_machine() -> None:
    files = {p.name for p in STATEMACHINES_DIR.glob("*.asl.json")}
    assert files, f"no ASL files in {STATEMACHINES_DIR}"
    assert files == {m.asl_file for m in STATE_MACHINES}
    assert len({m.name for m in STATE_MACHINES}) == len(STATE_MACHINES)


@MACHINES
def test_transitions_reach_existing_states_and_every_state_is_reachable(
    machine: StateMachine,
) -> None:
    definition = json.loads(machine.definition_text())
    for where, scope in scopes(definition):
        states = scope["States"]
        assert scope["StartAt"] in states, where
        for name, state in states.items():
            for target in transitions(state):
                assert target in states, f"{where}{name} → {target}: no such state"
            ends = state.get("End") is True
            assert ends != ("Next" in state) or state["Type"] in TERMINAL | {"Choice"}, (
                f"{where}{name}: exactly one of Next and End"
            )
        seen, queue = set(), [scope["StartAt"]]
        while queue:
            name = queue.pop()
            if name not in seen:
                seen.add(name)
                queue.extend(transitions(states[name]))
        assert seen == set(states), f"{where}: unreachable {sorted(set(states) - seen)}"


@MACHINES
def test_every_task_retries_and_catches_unless_documented(machine: StateMachine) -> None:
    definition = json.loads(machine.definition_text())
    tasks = [(w, n, s) for w, n, s in all_states(definition) if s["Type"] == "Task"]
    assert tasks
    for where, name, state in tasks:
        assert state.get("Retry"), f"{where}{name}: no Retry"
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        if state["Resource"] == "arn:aws:states:::lambda:invoke":
            assert retried >= LAMBDA_TRANSIENT or "States.ALL" in retried, f"{where}{name}"
        reason = NO_CATCH.get((machine.asl_file, name))
        if reason is None:
            assert state.get("Catch"), f"{where}{name}: no Catch and no documented reason"
        else:
            assert not state.get("Catch"), f"{where}{name}: has a Catch now, drop the exemption"
    exempted = {n for (f, n) in NO_CATCH if f == machine.asl_file}
    assert exempted <= {n for _, n, _ in tasks}, "an exemption names no task of the file"


@MACHINES
def test_placeholders_and_substitutions_match_both_ways(machine: StateMachine) -> None:
    assert machine.placeholders() == set(machine.substitutions)
    definition = json.loads(machine.definition_text())
    fields = {"function": ".Parameters.FunctionName", "topic": ".Parameters.TopicArn"}
    for path, text in strings_at(definition):
        if "${" not in text:
            continue
        placeholder = text.removeprefix("${").removesuffix("}")
        assert text == "${" + placeholder + "}", f"{path}: a placeholder is a whole value"
        sub = machine.substitutions[placeholder]
        assert path.endswith(fields[sub.kind]), f"{path} holds a {sub.kind} ARN"


@MACHINES
def test_localaws_and_infra_fill_every_placeholder(machine: StateMachine) -> None:
    for placeholder, sub in machine.substitutions.items():
        if sub.kind == "function":
            # localaws creates exactly WORKFLOW_FUNCTIONS; app.py declares them all.
            assert sub.name in WORKFLOW_FUNCTIONS, placeholder
        else:
            assert (sub.kind, sub.name) == ("topic", "events"), placeholder
    text = rendered(machine)
    assert "${" not in text
    for path, value in strings_at(json.loads(text)):
        if path.endswith(".Parameters.FunctionName"):
            assert value.startswith(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"), path
    with pytest.raises(KeyError):
        machine.render({})


def test_localaws_provisions_from_the_same_substitution_table() -> None:
    """localaws/provision.py renders definitions.STATE_MACHINES, not its own copy of the ASL."""
    source = (ROOT / "localaws" / "provision.py").read_text()
    tree = ast.parse(source)
    provision = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "provision"
    )
    imported = {
        alias.name
        for node in ast.walk(provision)
        if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.workflow.definitions"
        for alias in node.names
    }
    assert "STATE_MACHINES" in imported
    loops = [
        node
        for node in ast.walk(provision)
        if isinstance(node, ast.For)
        and isinstance(node.iter, ast.Name)
        and node.iter.id == "STATE_MACHINES"
    ]
    assert loops, "provision() does not iterate over STATE_MACHINES"
    calls = {
        node.func.attr
        for loop in loops
        for node in ast.walk(loop)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert {"render", "create_state_machine"} <= calls
    assert ".asl.json" not in source and "statemachines" not in source


# --- validators ---------------------------------------------------------------------------------


def moto_accepts(definition: str) -> bool:
    from moto.stepfunctions.parser.asl.parse.asl_parser import (
        AmazonStateLanguageParser,
        ASLParserException,
    )
    from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

    try:
        program, _ = AmazonStateLanguageParser.parse(definition)  # grammar + preprocessing
        StaticAnalyser().analyse(definition)
    except ASLParserException:
        return False
    return program is not None


@MACHINES
def test_moto_parses_the_rendered_definition(machine: StateMachine) -> None:
    definition = rendered(machine)
    assert not moto_accepts(mistyped(definition))
    assert moto_accepts(definition)


@pytest.fixture(scope="session")
def asl_validator() -> Path:
    """The npm ``asl-validator``, installed once under .local/tools (like DynamoDB Local)."""
    binary = TOOLS_DIR / "node_modules" / ".bin" / "asl-validator"
    if not binary.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("asl-validator is an npm package: Node.js and npm are needed")
        TOOLS_DIR.mkdir(parents=True, exist_ok=True)
        with (TOOLS_DIR / ".npm-install.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers install it once
            if not binary.exists():
                subprocess.run(
                    [
                        "npm",
                        "install",
                        "--no-audit",
                        "--no-fund",
                        "--silent",
                        "--save-exact",
                        "--prefix",
                        str(TOOLS_DIR),
                        ASL_VALIDATOR,
                    ],
                    check=True,
                    timeout=300,
                )
    return binary


def asl_validator_accepts(binary: Path, definition: str, tmp_path: Path) -> tuple[bool, str]:
    path = tmp_path / "definition.json"
    path.write_text(definition)
    result = subprocess.run(
        [str(binary), "--json-path", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0, result.stdout + result.stderr


@MACHINES
def test_asl_validator_accepts_the_rendered_definition(
    machine: StateMachine, asl_validator: Path, tmp_path: Path
) -> None:
    definition = rendered(machine)
    for bad in (mistyped(definition), dangling(definition)):
        accepted, output = asl_validator_accepts(asl_validator, bad, tmp_path)
        assert not accepted, output
    assert "NoSuchState" in output
    accepted, output = asl_validator_accepts(asl_validator, definition, tmp_path)
    assert accepted, output


def cfn_lint_errors(machine: StateMachine, definition: str) -> list[str]:
    """cfn-lint's rules on a template holding just this state machine, with substitutions.

    The deployed template has the SAM transform (from Chalice), and cfn-lint skips
    DefinitionString there: this is where its state machine schema reads the definition.
    """
    from cfnlint.api import ManualArgs, lint

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/rebill-test",
                    "DefinitionString": definition,
                    "DefinitionSubstitutions": localaws_values(machine),
                },
            }
        },
    }
    matches = lint(json.dumps(template), config=ManualArgs(regions=[REGION]))
    return [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]


@MACHINES
def test_cfn_lint_accepts_the_definition(machine: StateMachine) -> None:
    assert cfn_lint_errors(machine, mistyped(machine.definition_text()))
    assert cfn_lint_errors(machine, machine.definition_text()) == []

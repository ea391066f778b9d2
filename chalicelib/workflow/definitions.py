"""The state machines and how their ``${…}`` placeholders are filled.

``infra/`` turns this into CloudFormation ``DefinitionSubstitutions`` and ``localaws`` applies it
to the same ASL files, so a placeholder is filled the same way in AWS and on a laptop.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from chalicelib import functions
from chalicelib.functions import LambdaFunction

STATEMACHINES_DIR = Path(__file__).resolve().parents[2] / "statemachines"


@dataclass(frozen=True)
class Substitution:
    """What a placeholder stands for: a Lambda function's ARN or the events topic's ARN."""

    kind: Literal["function", "topic"]
    name: str  # the Chalice function name, or "events"


@dataclass(frozen=True)
class StateMachine:
    name: str  # suffix of the deployed name: "<app>-<stage>-<name>"
    asl_file: str
    substitutions: dict[str, Substitution]

    def definition_text(self) -> str:
        return (STATEMACHINES_DIR / self.asl_file).read_text()

    def placeholders(self) -> set[str]:
        return set(re.findall(r"\$\{(\w+)\}", self.definition_text()))

    def render(self, values: dict[str, str]) -> str:
        """Fill every placeholder the way CloudFormation's DefinitionSubstitutions does."""
        text = self.definition_text()
        missing = self.placeholders() - values.keys()
        if missing:
            raise KeyError(f"{self.asl_file}: no value for {sorted(missing)}")
        rendered = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)
        json.loads(rendered)
        return rendered


def _function(function: LambdaFunction) -> Substitution:
    return Substitution("function", function.name)


GENERATE_INVOICES = StateMachine(
    name="generate-invoices",
    asl_file="generate_invoices.asl.json",
    substitutions={
        "PrepareRunFunctionArn": _function(functions.PREPARE_RUN),
        "InvoiceBatchFunctionArn": _function(functions.INVOICE_BATCH),
        "RecordFailureFunctionArn": _function(functions.RECORD_FAILURE),
        "FinishRunFunctionArn": _function(functions.FINISH_RUN),
        "EventsTopicArn": Substitution("topic", "events"),
    },
)

INGEST_REPORT = StateMachine(
    name="ingest-report",
    asl_file="ingest_report.asl.json",
    substitutions={
        "IngestPartFunctionArn": _function(functions.INGEST_PART),
        "PublishDeliveryFunctionArn": _function(functions.PUBLISH_DELIVERY),
    },
)

STATE_MACHINES: tuple[StateMachine, ...] = (GENERATE_INVOICES, INGEST_REPORT)

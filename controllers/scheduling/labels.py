"""Kubernetes label-selector matching for HostAggregate.spec.hostSelector, on a Host's labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controllers.api.infra import HostSelector, SelectorOperator


@dataclass(frozen=True, slots=True)
class Requirement:
    """One condition on a label: operator In, NotIn, Exists or DoesNotExist."""

    key: str
    operator: SelectorOperator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == SelectorOperator.IN:
            return present and labels[self.key] in self.values
        if self.operator == SelectorOperator.NOT_IN:  # as in Kubernetes: an absent label is "not in"
            return not present or labels[self.key] not in self.values
        if self.operator == SelectorOperator.EXISTS:
            return present
        return not present


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """All conditions must hold; the empty selector matches every Host."""

    match_labels: tuple[tuple[str, str], ...] = ()
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.requirements
        )

    @classmethod
    def from_model(cls, selector: HostSelector) -> LabelSelector:
        return cls(
            match_labels=tuple(sorted(selector.match_labels.items())),
            requirements=tuple(
                Requirement(r.key, SelectorOperator(r.operator), frozenset(r.values))
                for r in selector.match_expressions
            ),
        )


MATCH_ALL = LabelSelector()

"""Reading /metrics in the tests: the value of one series (summed over the samples that match)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def names(text: str) -> set[str]:
    """Every sample name in the exposition."""
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def labels(text: str, name: str, label: str) -> set[str]:
    """The values `label` takes on the samples called `name`."""
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and label in sample.labels
    }

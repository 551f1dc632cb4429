"""Rasa NLU component: turns crm_bridge's message metadata into entities (runs inside .venv-rasa)."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.training_data.message import Message

from kefu_core.language import carries_language

# metadata key -> entity (and slot) name; values are set by crm_bridge, never guessed from the text
FIELDS = {
    "language": "language",
    "conversation_id": "conversation_id",
    "contact_id": "contact_id",
    "sentiment": "sentiment",
}
LANGUAGES = {"en", "zh"}
SENTIMENTS = {"negative", "neutral", "positive"}


def metadata_entities(metadata: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """The entities for one message's metadata."""
    found = []
    for key, entity in FIELDS.items():
        value = metadata.get(key)
        if key == "sentiment":
            # Always set, so response conditions can tell "not negative" apart (they only test equality).
            value = value if value in SENTIMENTS else "neutral"
        if value is None or value == "":
            continue
        if key == "language" and (value not in LANGUAGES or not carries_language(text)):
            # A reply like "138 0013 8000" keeps the conversation's language instead of flipping to English.
            continue
        found.append(
            {
                "entity": entity,
                "value": str(value),
                "start": 0,
                "end": 0,
                "extractor": MetadataEntities.__name__,
                "confidence_entity": 1.0,
            }
        )
    return found


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class MetadataEntities(GraphComponent, EntityExtractorMixin):
    """Adds one entity per known metadata field so slot mappings can read them."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MetadataEntities:
        """Build the component (it has no state)."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Add metadata entities to each incoming message."""
        for message in messages:
            metadata = message.get("metadata") or {}
            if not metadata:
                continue
            found = metadata_entities(metadata, message.get("text") or "")
            if found:
                message.set("entities", [*message.get("entities", []), *found], add_to_output=True)
        return messages

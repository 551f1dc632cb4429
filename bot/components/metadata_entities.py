"""Rasa NLU component: turns crm_bridge's message metadata into entities (runs inside .venv-rasa)."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.training_data.message import Message

# metadata key -> entity (and slot) name; values are set by crm_bridge, never guessed from the text
FIELDS = {"language": "language", "conversation_id": "conversation_id", "contact_id": "contact_id"}
LANGUAGES = {"en", "zh"}


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
            found = []
            for key, entity in FIELDS.items():
                value = metadata.get(key)
                if value is None or value == "":
                    continue
                if key == "language" and value not in LANGUAGES:
                    continue
                found.append(
                    {
                        "entity": entity,
                        "value": str(value),
                        "start": 0,
                        "end": 0,
                        "extractor": self.__class__.__name__,
                        "confidence_entity": 1.0,
                    }
                )
            if found:
                message.set("entities", [*message.get("entities", []), *found], add_to_output=True)
        return messages

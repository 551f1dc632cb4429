"""The Encoder protocol: the real embedder and the tests' fake both provide all of it."""

from __future__ import annotations

import inspect

import pytest

from kefu_core.encoding.embedder import Embedder
from knowledge_base.encoder import Encoder
from tests.knowledge_base.fakes import HashEncoder

MEMBERS = {
    "model_path",
    "dimension",
    "supports_tokens",
    "vocabulary",
    "encode",
    "encode_tokens",
    "encode_query",
}


def test_the_protocol_names_what_the_retriever_reads() -> None:
    assert {name for name in vars(Encoder) if not name.startswith("_")} == MEMBERS


@pytest.mark.parametrize("make", [Embedder, HashEncoder])
def test_every_member_is_there(make: type) -> None:
    encoder = make()  # the Embedder loads its model on first use only: none of this loads it
    for name in MEMBERS:
        inspect.getattr_static(encoder, name)  # raises AttributeError when missing

"""KEFU_EMBEDDING_MODEL_ZH's real loading path: a tiny sentence-transformers model built and saved by the
test (tiny_model.py, no download) serves Chinese while the shipped MiniLM serves English."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kefu_core.db import make_engine
from kefu_core.encoding.embedder import default_model_path
from kefu_core.settings import get_settings
from knowledge_base import runtime
from tests.helpers import kefu_env
from tests.knowledge_base.tiny_model import entries_database, tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture()
def kb_session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(entries_database(tmp_path))
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.mark.integration
def test_chinese_is_embedded_with_its_own_model_and_english_with_minilm(
    tiny: Path, kb_session: Session, tmp_path: Path
) -> None:
    root = tmp_path / "kb-index"
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_EMBEDDING_MODEL_ZH=str(tiny)):
        settings = get_settings()
        assert settings.language_embedding_models == {"zh": str(tiny)}
        retriever = runtime.build_retriever(
            kb_session,
            settings.embedding_model,
            language_models=settings.language_embedding_models,
            root=root,
        )
    zh, en = retriever.encoder_for("zh"), retriever.encoder_for("en")
    assert zh.model_path == tiny.resolve() and zh.dimension == 32
    assert en.model_path == default_model_path() and en.dimension == 384
    assert retriever.cache_for("zh").dimension == 32 and len(retriever.cache_for("zh")) == 8
    assert retriever.cache.dimension == 384 and len(retriever.cache) == 4
    assert retriever.thresholds["zh"].dense_weight > 0.25  # the Chinese model counts as a real signal

    assert retriever.search("退货要几天", language="zh").results[0].faq_id == "zh-return"
    assert retriever.search("支持支付宝吗？", language="zh").results[0].faq_id == "zh-pay"
    assert retriever.search("I forgot my password", language="en").results[0].faq_id == "en-pwd"
    assert retriever.search("when does my parcel arrive", language="en").results[0].faq_id == "en-ship"

    # One store per model, each with its own dimension and languages: the two never mix.
    manifests = {m["dimension"]: m for m in (json.loads(p.read_text()) for p in root.glob("*/manifest.json"))}
    assert set(manifests) == {32, 384}
    assert set(manifests[32]["languages"]) == {"zh"} and manifests[32]["model_path"] == str(tiny.resolve())
    assert set(manifests[384]["languages"]) == {"en"}

    # A restart reads every vector back from the two stores.
    again = runtime.build_retriever(kb_session, language_models={"zh": str(tiny)}, root=root)
    assert again.cache.embedded_total == 0 and again.cache_for("zh").embedded_total == 0
    assert again.search("包邮吗", language="zh").results[0].faq_id == "zh-fee"


@pytest.mark.integration
def test_the_default_model_named_for_chinese_changes_nothing(kb_session: Session, tmp_path: Path) -> None:
    root = tmp_path / "kb-index"
    plain = runtime.build_retriever(kb_session, root=root)
    named = runtime.build_retriever(kb_session, language_models={"zh": str(default_model_path())}, root=root)
    assert named.encoders == {} and named.thresholds == plain.thresholds
    for question in ("退货要几天", "运费怎么算"):
        assert named.search(question, language="zh").results == plain.search(question, language="zh").results


def test_a_folder_that_is_not_a_sentence_model_fails_naming_the_setting(
    kb_session: Session, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"KEFU_EMBEDDING_MODEL_ZH=.*no such folder"):
        runtime.build_retriever(kb_session, language_models={"zh": str(tmp_path / "missing")}, root=tmp_path)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=r"KEFU_EMBEDDING_MODEL_ZH=.*modules\.json"):
        runtime.build_retriever(kb_session, language_models={"zh": str(tmp_path / "plain")}, root=tmp_path)


@pytest.mark.integration
def test_the_server_refuses_to_start_on_a_bad_chinese_model(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from pydantic import ValidationError

    from crm_bridge.app import create_app

    env = {"KEFU_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'kefu.db'}"}
    with (
        kefu_env(KEFU_EMBEDDING_MODEL_ZH=str(tmp_path / "missing"), **env),
        pytest.raises(ValidationError, match="KEFU_EMBEDDING_MODEL_ZH"),
    ):
        TestClient(create_app())

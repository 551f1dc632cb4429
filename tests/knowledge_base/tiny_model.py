"""A tiny sentence-transformers model built and saved by the test (no download), and the entries its
vocabulary covers: KEFU_EMBEDDING_MODEL_ZH's real loading path without a real Chinese model."""

from __future__ import annotations

from pathlib import Path

ENTRIES = [
    ("zh-return", "zh", "退货需要多久？", ["退货要几天", "多久能退完货"]),
    ("zh-fee", "zh", "运费多少钱？", ["邮费怎么算", "包邮吗"]),
    ("zh-pay", "zh", "可以用支付宝付款吗？", ["支持支付宝吗"]),
    ("en-ship", "en", "How long does delivery take?", ["when will my parcel arrive"]),
    ("en-pwd", "en", "How do I reset my password?", ["I forgot my password"]),
]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def entries_database(folder: Path) -> str:
    """A fresh SQLite database in `folder` holding ENTRIES, all published; returns its URL."""
    from sqlalchemy.orm import Session

    from kefu.bootstrap import prepare_database
    from kefu_core.db import make_engine
    from knowledge_base import curation

    url = f"sqlite:///{folder / 'kb.db'}"
    prepare_database(url, seed=False)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for faq_id, language, question, variants in ENTRIES:
                data = {"id": faq_id, "language": language, "question": question, "answer": "ok"}
                curation.create(
                    session, data={**data, "variants": variants, "status": "published"}, author_id=None
                )
            session.commit()
    finally:
        engine.dispose()
    return url


def tiny_model(folder: Path) -> Path:
    """A 32-dimension BERT (one layer, random weights) with mean pooling, saved as sentence-transformers."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer
    from transformers.models.bert import BertConfig, BertModel, BertTokenizer

    torch.manual_seed(0)
    chars = sorted(
        {ch for _, _, question, variants in ENTRIES for text in (question, *variants) for ch in text}
    )
    hf = folder / "hf"
    hf.mkdir(parents=True)
    (hf / "vocab.txt").write_text("\n".join([*SPECIAL, *chars]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(hf / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(SPECIAL) + len(chars),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=64)
    pooling = Pooling(32, pooling_mode="mean")
    out = folder / "tiny-zh"
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(str(out))
    return out

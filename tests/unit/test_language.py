import pytest

from crm_bridge.conversations.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How long does delivery take?", "en"),
        ("退货需要多久？", "zh"),
        ("我的order到哪了", "zh"),
        ("hi 你好", "zh"),
        ("Can I pay with 支付宝?", "en"),
        ("12345 !!!", "en"),
        ("👍👍", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_default_applies_only_without_letters() -> None:
    assert detect_language("???", default="zh") == "zh"
    assert detect_language("hello", default="zh") == "en"

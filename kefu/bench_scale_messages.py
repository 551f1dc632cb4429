"""What the customers of `make bench --only scale` say: FAQ questions and small talk in English and Chinese,
written for this benchmark (not taken from the FAQ seed or any test set), made distinct by openings and
endings so that no text repeats within a run (a repeat would be answered from a cache and hide its cost)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle, product
from random import Random

GREETINGS = {
    "en": ["hello", "hi there", "good morning", "hey, anyone there", "hi, I need some help"],
    "zh": ["你好", "在吗", "您好，有人吗", "早上好", "你好，想咨询一下"],
}
QUESTIONS = {
    "en": [
        "how many days until my parcel arrives",
        "can I send back a jacket that does not fit",
        "when will I see the money from my return",
        "do you take Apple Pay",
        "I forgot my password and cannot sign in",
        "is there a fee for shipping to another country",
        "can I get an invoice for my company",
        "where can I see if my order has shipped",
        "my package arrived damaged, what now",
        "how do I change the delivery address",
        "can I cancel an order I placed an hour ago",
        "do you have gift cards",
        "how do I delete my account",
        "is my card information stored safely",
        "can I pay in instalments",
        "the discount code does not work",
    ],
    "zh": [
        "快递几天能到",
        "衣服不合适可以退吗",
        "退款多久到账",
        "可以用微信支付吗",
        "密码忘了登录不上",
        "寄到国外要运费吗",
        "公司报销需要发票怎么开",
        "怎么看订单发货了没有",
        "收到的东西坏了怎么办",
        "收货地址填错了能改吗",
        "刚下的单能取消吗",
        "有没有礼品卡",
        "怎么注销账号",
        "银行卡信息安全吗",
        "可以分期付款吗",
        "优惠券用不了",
    ],
}
THANKS = {
    "en": ["thanks", "thank you, that helps", "ok great, bye", "perfect, thanks a lot", "got it, thank you"],
    "zh": ["谢谢", "好的谢谢", "明白了，再见", "太好了，谢谢你", "知道了，谢谢"],
}
OPENINGS = {
    "en": ["", "hi, ", "sorry, ", "quick question: ", "excuse me, ", "one more thing: "],
    "zh": ["", "你好，", "请问", "麻烦问下，", "打扰一下，", "还有，"],
}
ENDINGS = {"en": ["", "?", " please", " thanks"], "zh": ["", "？", "呢", "，谢谢"]}


def _variants(language: str, texts: list[str]) -> list[str]:
    """Every text with every opening and ending, in a fixed shuffled order (the same every run)."""
    out = list(
        dict.fromkeys(f"{o}{t}{e}" for e, t, o in product(ENDINGS[language], texts, OPENINGS[language]))
    )
    Random(24).shuffle(out)
    return out


def conversations(count: int, turns: int = 4) -> list[list[str]]:
    """`count` customers' messages, `turns` each (a greeting, FAQ questions, thanks), languages alternating;
    every text in the result is distinct (up to 200 customers)."""
    pools = {
        lang: {
            "greet": cycle(_variants(lang, GREETINGS[lang])),
            "ask": iter(_variants(lang, QUESTIONS[lang])),
            "thank": cycle(_variants(lang, THANKS[lang])),
        }
        for lang in ("en", "zh")
    }
    seen: set[str] = set()
    out: list[list[str]] = []
    for index in range(count):
        pool = pools["en" if index % 2 == 0 else "zh"]
        messages = [_fresh(pool["greet"], seen)]
        messages += [_fresh(pool["ask"], seen) for _ in range(turns - 2)]
        messages.append(_fresh(pool["thank"], seen))
        out.append(messages)
    return out


def _fresh(source: Iterator[str], seen: set[str], tries: int = 200) -> str:
    """The next text of `source` not used yet in this run."""
    for _ in range(tries):
        text = next(source)
        if text not in seen:
            seen.add(text)
            return text
    raise ValueError("the benchmark ran out of distinct messages: fewer turns, or more texts")

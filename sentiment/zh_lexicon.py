"""A small hand-written Chinese polarity lexicon with negation and contrast handling.

Written for kefu (customer-service and review language); it gives the classifier a signal that does not
depend on which exact characters the training messages happened to use.
Over 300 lines because most of it is the word lists themselves; the code is the last ~50 lines.
"""

from __future__ import annotations

import re

import numpy as np

POSITIVE = frozenset(
    [
        "很好",
        "挺好",
        "不错",
        "满意",
        "喜欢",
        "推荐",
        "感谢",
        "谢谢",
        "多谢",
        "棒",
        "赞",
        "优秀",
        "完美",
        "舒服",
        "舒适",
        "方便",
        "干净",
        "整洁",
        "热情",
        "周到",
        "耐心",
        "专业",
        "及时",
        "迅速",
        "准时",
        "实惠",
        "划算",
        "超值",
        "值得",
        "物美价廉",
        "性价比高",
        "漂亮",
        "好看",
        "好吃",
        "好喝",
        "美味",
        "可口",
        "新鲜",
        "安静",
        "宽敞",
        "明亮",
        "温馨",
        "贴心",
        "友好",
        "友善",
        "礼貌",
        "惊喜",
        "开心",
        "高兴",
        "愉快",
        "放心",
        "靠谱",
        "给力",
        "顺利",
        "流畅",
        "清晰",
        "精美",
        "精致",
        "大方",
        "便宜",
        "划得来",
        "良好",
        "一流",
        "到位",
        "称赞",
        "好评",
        "点赞",
        "强烈推荐",
        "回购",
        "再来",
        "还会",
        "合身",
        "合适",
        "柔软",
        "保暖",
        "结实",
        "耐用",
        "好用",
        "实用",
        "高效",
        "快捷",
        "便捷",
        "齐全",
        "丰富",
        "豪华",
        "温暖",
        "亲切",
        "体贴",
        "细心",
        "用心",
        "热心",
        "搞定",
        "感激",
        "享受",
        "放松",
        "满分",
        "五星",
        "超赞",
        "棒棒",
        "不错的",
        "很棒",
        "太棒",
        "特别好",
        "非常好",
        "挺不错",
        "还行",
        "还可以",
        "没问题",
        "幸运",
        "真好",
        "太好",
        "好用",
        "很快",
        "挺快",
        "速度快",
        "发货快",
        "解决了",
        "搞定了",
        "不麻烦",
        "不差",
    ]
)

NEGATIVE = frozenset(
    [
        "很差",
        "太差",
        "不好",
        "糟糕",
        "失望",
        "垃圾",
        "烂",
        "坑",
        "骗",
        "骗子",
        "假货",
        "难用",
        "难吃",
        "难喝",
        "难受",
        "脏",
        "乱",
        "吵",
        "臭",
        "旧",
        "破",
        "破损",
        "损坏",
        "坏",
        "坏了",
        "慢",
        "太慢",
        "拖",
        "拖延",
        "延误",
        "延迟",
        "迟到",
        "贵",
        "太贵",
        "不值",
        "后悔",
        "生气",
        "愤怒",
        "气死",
        "气炸",
        "无语",
        "崩溃",
        "郁闷",
        "烦死",
        "恶心",
        "恶劣",
        "敷衍",
        "冷漠",
        "傲慢",
        "没礼貌",
        "态度差",
        "投诉",
        "差评",
        "霉",
        "发霉",
        "异味",
        "漏水",
        "故障",
        "毛病",
        "失败",
        "错误",
        "错",
        "丢",
        "丢失",
        "缺",
        "缺少",
        "漏",
        "扣费",
        "乱收费",
        "欺骗",
        "欺诈",
        "骗钱",
        "忽悠",
        "不满",
        "不满意",
        "担心",
        "着急",
        "焦虑",
        "害怕",
        "折腾",
        "闪退",
        "卡顿",
        "死机",
        "发烫",
        "过敏",
        "掉色",
        "缩水",
        "开线",
        "开胶",
        "起球",
        "划痕",
        "污渍",
        "碎",
        "压坏",
        "浪费",
        "白花",
        "不行",
        "不能",
        "无法",
        "没用",
        "没人",
        "不理",
        "不回",
        "差劲",
        "老旧",
        "简陋",
        "狭小",
        "潮湿",
        "偏僻",
        "嘈杂",
        "噪音",
        "隔音差",
        "不卫生",
        "不干净",
        "不方便",
        "不推荐",
        "别买",
        "太坑",
        "坑爹",
        "呵呵",
        "算了",
        "受够",
        "离谱",
        "过分",
        "不像话",
        "倒闭",
        "偷工减料",
        "粗糙",
        "劣质",
        "渣",
        "可恶",
        "讨厌",
        "痛苦",
        "遗憾",
        "可惜",
        "不值得",
        "较差",
        "比较差",
        "真差",
        "好差",
        "极差",
        "烦死了",
        "心烦",
        "烦人",
        "搞错",
        "发错",
        "少了",
        "卡死",
        "没解决",
        "有问题",
        "太晚",
    ]
)

NEGATORS = (
    "不",
    "没",
    "没有",
    "别",
    "无",
    "非",
    "未",
    "不是",
    "不太",
    "不怎么",
    "并不",
    "毫不",
    "一点也不",
    "一点都不",
)
# Words that may stand between a negator and the word it turns around: "不是很满意", "不算愉快",
# "没那么方便", "不会再来", "没什么毛病", "没有想象中那么好看".
BETWEEN = (
    "是",
    "算",
    "够",
    "会",
    "再",
    "很",
    "太",
    "特别",
    "非常",
    "十分",
    "那么",
    "这么",
    "怎么",
    "什么",
    "可",
    "想象中",
    "想象的",
    "说的",
    "宣传的",
    "图片上",
)
# "别" is no negator at the end of 特别, 区别, 分别...: "特别满意" is praise.
_NEGATOR_PATTERNS = [
    "(?<![特区分告个级性识类差离辨鉴])别" if n == "别" else re.escape(n)
    for n in sorted(NEGATORS, key=len, reverse=True)
]
_NEGATED = re.compile(
    "(?:{})(?:{}){{0,3}}$".format(
        "|".join(_NEGATOR_PATTERNS), "|".join(sorted(BETWEEN, key=len, reverse=True))
    )
)
CONTRAST = re.compile(r"但是|但|不过|可是|然而|就是|只是")
CLAUSE = re.compile(r"[，,。.!！?？；;~～\n]+")
# Longest first, so "很差" is matched before "差".
_POS = sorted(POSITIVE, key=len, reverse=True)
_NEG = sorted(NEGATIVE, key=len, reverse=True)
_WORDS = re.compile("|".join(re.escape(w) for w in sorted(POSITIVE | NEGATIVE, key=len, reverse=True)))

N_FEATURES = 8


def _clause_score(clause: str) -> tuple[int, int]:
    """(positive hits, negative hits) in one clause, a negator before a word flipping it."""
    pos = neg = 0
    for match in _WORDS.finditer(clause):
        word = match.group()
        before = clause[max(0, match.start() - 8) : match.start()]
        # "不好" / "没问题" / "不是很满意": a negator before the word (a degree word or two between them
        # allowed) turns it around.
        negated = bool(_NEGATED.search(before)) and not word.startswith(("不", "没", "无"))
        positive = word in POSITIVE
        if positive != negated:
            pos += 1
        else:
            neg += 1
    return pos, neg


def lexicon_features(text: str) -> np.ndarray:
    """Eight numbers: hit counts, net polarity overall, of the last clause and after a contrast word."""
    clauses = [c for c in CLAUSE.split(text) if c.strip()] or [text]
    scores = [_clause_score(c) for c in clauses]
    pos = sum(p for p, _ in scores)
    neg = sum(n for _, n in scores)
    total = pos + neg
    last_p, last_n = scores[-1]
    contrast = CONTRAST.split(text)
    after = _clause_score(contrast[-1]) if len(contrast) > 1 else (0, 0)
    return np.array(
        [
            np.log1p(pos),
            np.log1p(neg),
            (pos - neg) / total if total else 0.0,
            float(total == 0),
            (last_p - last_n) / max(1, last_p + last_n),
            (after[0] - after[1]) / max(1, sum(after)),
            float(pos > neg),
            float(neg > pos),
        ],
        dtype=np.float32,
    )

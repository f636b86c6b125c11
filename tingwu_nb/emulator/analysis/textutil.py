"""Language-aware tokens and keywords for the extractive engine (no language model).

* :func:`terms` — the tokens similarity is computed on: lower-cased, stop words dropped and
  lightly stemmed for Latin script; jieba words for Chinese/Cantonese; kanji/katakana runs for
  Japanese; words with their particles stripped for Korean. Not literal: never show them.
* :func:`char_terms` — characters and character bigrams for CJK (plus Latin words), used where
  short requests are matched against sentences (inspection, identities, extraction).
* :func:`keywords` — literal keywords: yake for Latin script, jieba TF-IDF for Chinese, a TF-IDF
  over :func:`japanese_korean_words` otherwise; near-duplicates removed, only words that occur.

jieba is made quiet (its logger set to WARNING) and caches its dictionary in the temp dir.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Sequence

__all__ = ["CJK_LANGS", "KEYWORD_STOP", "char_terms", "is_cjk_text", "joiner", "keywords", "stem", "terms"]

CJK_LANGS = frozenset({"cn", "yue", "ja", "ko"})
CHINESE_LANGS = frozenset({"cn", "yue"})
#: Longer transcripts give yake every k-th sentence (evenly spread), bounding it to ~3 s.
YAKE_MAX_SENTENCES = 3000
YAKE_LANGS = {"en": "en", "fr": "fr", "de": "de", "es": "es", "it": "it", "pt": "pt", "ru": "ru"}

EN_STOP = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
    down during each else ever few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into
    is isn't it it's its itself just let let's me might more most much must mustn't my myself no
    nor not now of off on once only or other ought our ours ourselves out over own same shall
    shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through to too
    under until up upon us very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's will with won't would wouldn't yet you you'd
    you'll you're you've your yours yourself yourselves um uh er erm hmm ah mm oh""".split()
)
#: Words that are never keywords on their own: fillers, courtesies, vague nouns, units of time and money.
KEYWORD_STOP = EN_STOP | frozenset(
    """okay ok yeah yep yes right sure well hi hello bye thanks thank please good great fine morning afternoon
    evening everyone everybody guys people thing things lot bit kind sort think thought know knew going go
    goes gone went say said says tell told mean means want wanted make made see seen look like need get gets
    got really actually basically maybe probably definitely absolutely today tomorrow yesterday also again left
    next still even already one two three four five six seven eight nine ten hundred thousand million
    billion percent dollar dollars euro euros day days week weeks month months year years time times night
    minute minutes hour hours way something anything everything nothing agree sounds""".split()
)
ZH_STOP = frozenset(
    """的 了 是 在 我 你 他 她 它 我们 你们 他们 她们 这 那 这个 那个 这些 那些 就 都 也 还 和 与 及 或 或者 吧 吗 呢
    啊 嗯 呃 额 哦 哈 一个 一下 一些 没有 有 要 会 能 可以 然后 所以 因为 但是 不过 就是 什么 怎么 为什么 这样 那样 这么
    那么 现在 今天 大家 好 好的 对 对的 不 很 非常 一 说 去 来 到 把 被 给 让 上 下 里 中 等 已经 还是 如果 自己 觉得
    需要 进行 一起 谢谢 其实 这里 那里 时候 问题 一点 我觉得 比较 可能 应该 还有 之前 之后 以后 的话 一样 个 些 并 而
    从 向 对于 关于 其中 得 地 着 过 嘛 呀 哪 哪些 几 多少 是否 是不是 能不能 有没有 我会 接下来 发给 好了 知道 看看 一直
    我先 说一下 大概""".split()
)
#: jieba part-of-speech tags a Chinese keyword may have (nouns, names, verbal nouns, idioms...).
ZH_KEYWORD_POS = ("n", "nr", "ns", "nt", "nz", "nrt", "nw", "vn", "v", "an", "eng", "l", "i", "j")
KO_PARTICLES = tuple(
    sorted(
        "은 는 이 가 을 를 의 에 에서 에게 와 과 도 로 으로 만 까지 부터 보다 처럼 요 입니다 습니다".split(),
        key=len,
        reverse=True,
    )
)

#: Korean words ending like this are verbs or adjectives, never keywords.
KO_VERB_ENDINGS = (
    "니다",
    "니까",
    "겠",
    "세요",
    "하세",
    "어요",
    "아요",
    "지요",
    "해요",
    "하다",
    "했다",
    "합시",
)
KO_STOP = frozenset(
    "안녕하세요 오늘 대해 아니 아니요 그리고 그래서 하지만 우리 저희 여러분 지금 정말 이제".split()
)
_LATIN_WORD = re.compile(r"[0-9a-zà-öø-ɏ]+(?:['’][a-z]+)?")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_JA_RUN = re.compile(r"[\u4e00-\u9fff\u30a0-\u30ff]{2,}")
_KO_WORD = re.compile(r"[\uac00-\ud7af]+")

_jieba_lock = threading.Lock()
_jieba_ready = False


def is_cjk_text(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def joiner(lang: str) -> str:
    """How sentences of ``lang`` are joined into running text ("" for Chinese and Japanese)."""
    return "" if lang in ("cn", "yue", "ja") else " "


def _jieba():
    """The jieba module, initialised once, quietly, with its cache in the temp dir."""
    global _jieba_ready
    import jieba
    import jieba.analyse  # noqa: F401  (loads the bundled IDF table)

    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.dt.tmp_dir = tempfile.gettempdir()
            jieba.initialize()
            _jieba_ready = True
    return jieba


def stem(word: str) -> str:
    """A light English stemmer (plural, -ing, -ed, final e, doubled consonant): enough to make
    'greets'/'greeting', 'saves'/'saving' and 'planned'/'plan' the same term."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ss", "us", "is")) or len(word) <= 3:
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text.casefold())


def _ko_strip(word: str) -> str:
    for particle in KO_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle):
            return word[: -len(particle)]
    return word


def japanese_korean_words(text: str, lang: str) -> list[str]:
    """Literal content words: kanji/katakana runs (Japanese) or particle-stripped words (Korean)."""
    if lang == "ko":
        words = (_ko_strip(w) for w in _KO_WORD.findall(text))
        return [w for w in words if len(w) >= 2 and not w.endswith(KO_VERB_ENDINGS) and w not in KO_STOP]
    return _JA_RUN.findall(text)


def terms(text: str, lang: str) -> list[str]:
    """Similarity tokens of ``text`` (see the module docstring)."""
    latin = [stem(w) for w in latin_words(text) if w not in EN_STOP and len(w) > 1]
    if lang in CHINESE_LANGS:
        words = _jieba().lcut(text)
        return [w for w in words if is_cjk_text(w) and len(w) >= 2 and w not in ZH_STOP] + latin
    if lang in ("ja", "ko"):
        return japanese_korean_words(text, lang) + latin
    return latin


def char_terms(text: str, lang: str) -> list[str]:
    """Characters and character bigrams of CJK runs plus :func:`terms` (robust for short requests)."""
    out = terms(text, lang)
    for run in re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+", text):
        out += [c for c in run if c not in ZH_STOP]
        out += [run[i : i + 2] for i in range(len(run) - 1)]
    return out


def _key(word: str) -> frozenset[str] | str:
    if is_cjk_text(word):
        return word.replace(" ", "")
    return frozenset(stem(w) for w in latin_words(word))


def _near_duplicate(a: frozenset[str] | str, b: frozenset[str] | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and (a in b or b in a)
    return a <= b or b <= a


def _usable(word: str) -> bool:
    word = word.strip()
    if not word or len(word) > 30 or word.isdigit():
        return False
    if is_cjk_text(word):
        return len(word) >= 2 and word not in ZH_STOP
    parts = latin_words(word)
    return (
        0 < len(parts) <= 3
        and parts[0] not in KEYWORD_STOP
        and parts[-1] not in KEYWORD_STOP
        and len(word) > 2
    )


def dedupe(candidates: Sequence[str], occurs: Callable[[str], bool], top: int) -> list[str]:
    """The first ``top`` usable candidates that occur and are not near-duplicates of earlier ones.

    Near-duplicates: one keyword's stemmed word set contains the other's (``budget`` vs
    ``marketing budget``), or for CJK one string contains the other. A Latin phrase that extends
    earlier keywords replaces them (``video``, ``ads`` become ``video ads``).
    """
    chosen: list[str] = []
    keys: list[frozenset[str] | str] = []
    for word in candidates:
        word = word.strip()
        if not _usable(word) or not occurs(word):
            continue
        key = _key(word)
        clash = [i for i, k in enumerate(keys) if _near_duplicate(key, k)]
        if not clash and len(chosen) < top:
            chosen.append(word)
            keys.append(key)
        elif clash and not isinstance(key, str) and all(key > keys[i] for i in clash):
            first = clash[0]  # the phrase replaces the words it extends, at the first one's place
            chosen[first], keys[first] = word, key
            for i in reversed(clash[1:]):
                del chosen[i], keys[i]
    return chosen


def _tfidf_ranking(docs: Sequence[Sequence[str]]) -> list[str]:
    df = Counter(w for d in docs for w in set(d))
    tf = Counter(w for d in docs for w in d)
    n = len(docs)
    score = {w: (1 + math.log(tf[w])) * math.log(1 + n / df[w]) for w in tf}
    return sorted(score, key=lambda w: (-round(score[w], 9), w))


def keywords(texts: Sequence[str], lang: str, top: int, occurs: Callable[[str], bool]) -> list[str]:
    """Up to ``top`` literal keywords of ``texts`` (one text per sentence), best first.

    ``occurs`` is the grounding test (``grounding.keyword_checker``): a candidate that does not
    occur literally is skipped. Deterministic: ties are broken by the word itself.
    """
    text = joiner(lang).join(texts)
    if top <= 0 or not text.strip():
        return []
    if lang in CHINESE_LANGS:
        candidates = _jieba().analyse.extract_tags(text, topK=top * 4, allowPOS=ZH_KEYWORD_POS)
    elif lang in ("ja", "ko"):
        candidates = _tfidf_ranking([japanese_korean_words(t, lang) for t in texts])
    else:
        import yake

        step = max(1, math.ceil(len(texts) / YAKE_MAX_SENTENCES))  # yake is linear: ~1 s per 1000 sentences
        extractor = yake.KeywordExtractor(lan=YAKE_LANGS.get(lang, "en"), n=2, top=top * 4)
        ranked = extractor.extract_keywords(". ".join(t.strip().rstrip(".") for t in texts[::step]))
        candidates = [w for w, _ in sorted(ranked, key=lambda p: (round(float(p[1]), 12), p[0]))]
    return dedupe(candidates, occurs, top)

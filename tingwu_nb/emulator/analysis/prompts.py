"""Every prompt the emulator's language model sees, in one place.

The transcript is shown as numbered lines ``[id] Speaker N: text`` so answers can cite sentence
ids, which ``llm_engine`` checks against the transcript (grounding). Answers use simple line
formats rather than JSON: a 1.5 B model follows ``Label: value`` lines far more reliably.
Each builder returns the user-turn text; :data:`SYSTEM` is the shared system message.
"""

from __future__ import annotations

from collections.abc import Sequence

from tingwu_nb.emulator.analysis.base import ContentItem, Sentence

__all__ = ["LANGUAGE_NAMES", "SYSTEM"]

SYSTEM = ("You are a precise meeting assistant. You only use facts stated in the transcript. "
          "You follow the requested answer format exactly and add nothing else.")

#: Tingwu language codes -> the language's English name, as prompts name it.
LANGUAGE_NAMES = {"cn": "Chinese", "yue": "Chinese", "en": "English", "ja": "Japanese", "ko": "Korean",
                  "de": "German", "fr": "French", "ru": "Russian"}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, "English")


def transcript_line(s: Sentence) -> str:
    """One sentence as the model reads it: ``[id] Speaker N: text``."""
    return f"[{s.id}] Speaker {s.speaker}: {s.text}"


def transcript_block(sentences: Sequence[Sentence]) -> str:
    """The transcript as the model reads it, opening the user turn."""
    lines = "\n".join(transcript_line(s) for s in sentences)
    return f"Transcript of a recorded conversation (each line: [sentence id] speaker: text):\n{lines}\n\n"


def summary(lang: str) -> str:
    return (f"Summarise the conversation in {language_name(lang)}. Answer in exactly two lines:\n"
            f"Title: <a title of at most 8 words>\nSummary: <at most 50 words, in your own words>")


def speaker_summary(lang: str, speaker: str) -> str:
    return (f"Write in {language_name(lang)}. In one or two sentences, summarise what Speaker {speaker} "
            f"contributed. Use your own words and start with 'Speaker {speaker}'. Do not quote the transcript.")


def questions(lang: str) -> str:
    return (f"Write in {language_name(lang)}. List the questions that were asked and answered in the "
            f"transcript (at most 5). For each, write two lines:\n"
            f"Q [<id of the sentence that asks>]: <the question>\nA [<ids of the sentences that answer>]: <the answer "
            f"in a few words>\nUse only questions somebody really asked. If nobody asked a question, write 'None'.")


def mindmap(lang: str) -> str:
    return (f"Make a mind map of this conversation in {language_name(lang)}. Use this exact format, with 2 to 4 "
            f"topics and short phrases taken from the conversation only:\n- Topic\n  - point\n  - point\n"
            f"- Topic\n  - point")


def keywords(lang: str, count: int) -> str:
    return (f"What are the {count} main topics of this conversation? Answer with {count} short "
            f"{language_name(lang)} noun phrases (1 to 3 words each) used in the conversation, separated by "
            f"commas, nothing else.")


def scene() -> str:
    return ("Is this conversation an interview, a lecture, or a meeting? Answer with exactly one word: "
            "Interview, Lecture or Meeting.")


def chapter(lang: str, sentences: Sequence[Sentence]) -> str:
    text = "\n".join(f"Speaker {s.speaker}: {s.text}" for s in sentences)
    return (f"Here is one section of a conversation:\n{text}\n\nWrite in {language_name(lang)}. "
            f"On the first line write 'Headline: ' and a headline of at most 8 words. On the second line "
            f"write 'Summary: ' and one or two sentences summarising the section.")


def polish(lang: str, text: str) -> str:
    return (f"Clean up this transcribed {language_name(lang)} speech: delete filler words, repeated words and "
            f"false starts, and fix punctuation and capitalisation. Keep every other word exactly as it is; "
            f"do not replace, add, translate or summarise anything. Output only the cleaned text.\n\n{text}")


def inspection(scene_text: str, intro: str, item: ContentItem) -> str:
    return (f"Scene: {scene_text}\nWhat to check: {intro}\nCheck item '{item.title}': {item.content}\n"
            f"Does the conversation satisfy this check item? Answer No unless a sentence clearly shows it. "
            f"Answer in exactly three lines:\n"
            f"Verdict: Yes or No\nEvidence: the sentence ids that show it, comma separated, or none\n"
            f"Reason: one short sentence")


def identities(scene_text: str, contents: Sequence[ContentItem], speakers: Sequence[str]) -> str:
    options = "\n".join(f"- {c.title}: {c.content}" for c in contents)
    lines = "\n".join(f"Speaker {s}: <identity name or None>" for s in speakers)
    return (f"Scene: {scene_text}\nPossible identities:\n{options}\n\nFor every speaker, choose the identity "
            f"from the list that fits what they say, or None. Answer exactly in these lines:\n{lines}")


def extraction(scene_text: str, item: ContentItem) -> str:
    who = f" (said by the {item.identity})" if item.identity else ""
    return (f"Scene: {scene_text}\nExtract '{item.title}'{who}: {item.content}\nAnswer in exactly two lines:\n"
            f"Value: the extracted information in a few words, or none\nEvidence: the sentence ids it comes "
            f"from, comma separated, or none")


def translation(source: str, target: str, text: str) -> str:
    return (f"Translate the following {language_name(source)} text into {language_name(target)}. "
            f"Output only the {language_name(target)} translation.\n\n{text}")


def translation_strict(source: str, target: str, text: str) -> str:
    return (f"Translate into {language_name(target)}. Reply with the {language_name(target)} translation only, "
            f"written in {language_name(target)} script, nothing else.\n\n{language_name(source)}: {text}\n"
            f"{language_name(target)}:")

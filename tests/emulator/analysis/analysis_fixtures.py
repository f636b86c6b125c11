"""Transcripts for the analysis-engine tests: an English 3-speaker budget meeting (54 sentences)
and a Chinese project meeting (22 sentences), with the ids a reader would pick as actions and
question/answer pairs. Times follow the text length (~15 characters a second) with short gaps.
"""

from __future__ import annotations

from tingwu_nb.emulator.analysis.base import Sentence, Transcript

__all__ = ["EN_ACTIONS", "EN_QA", "MEETING_CN", "MEETING_EN", "CN_ACTIONS", "CN_QA", "transcript"]

# 1 = Alice (project manager), 2 = Bob (finance), 3 = Carol (engineering)
_EN = [
    ("1", "Good morning everyone, thanks for joining the quarterly planning meeting."),
    ("1", "Today we have three topics: the marketing budget, the cloud costs and the hiring plan."),
    ("2", "Morning. I brought the latest numbers from finance."),
    ("3", "Morning, um, I also have an update on the product launch."),
    ("1", "Let's start with the marketing budget."),
    ("2", "The marketing budget for the third quarter is forty thousand dollars."),
    ("2", "We already spent twenty two thousand on the trade show in June."),
    ("1", "How much is left for the online campaign?"),
    ("2", "About eighteen thousand dollars are left for the online campaign."),
    ("3", "Is that enough for the video ads we discussed last month?"),
    ("2", "Not really, the video ads alone would cost around fifteen thousand."),
    ("1", "Then we should drop the print brochures and move that money to the video ads."),
    ("2", "Uh, I agree, the brochures had the worst return last year."),
    ("1", "Good, so the decision is to cancel the brochures and fund the video ads."),
    ("2", "I will send the revised marketing budget to the finance team by Friday."),
    ("1", "Next topic, the cloud costs."),
    ("3", "Our cloud bill grew by thirty percent since April."),
    ("3", "Most of the growth comes from the test servers that run all night."),
    ("2", "Why do the test servers run all night?"),
    ("3", "Nobody turns them off after the nightly builds finish."),
    ("3", "We could schedule the test servers to shut down at ten in the evening."),
    ("1", "How much would that save us per month?"),
    ("3", "Roughly four thousand dollars per month on the cloud bill."),
    ("2", "That is a big saving, um, we should do it right away."),
    ("1", "Carol, please set up the automatic shutdown for the test servers this week."),
    ("3", "Sure, I'll set up the shutdown schedule by Wednesday."),
    ("1", "Now the hiring plan for the engineering team."),
    ("3", "We need two more backend engineers before the product launch."),
    ("1", "When is the product launch planned?"),
    ("3", "The product launch is planned for the fifteenth of October."),
    ("2", "Do we have budget for two new engineers this year?"),
    ("2", "The hiring budget covers one engineer, not two."),
    ("3", "Then we should hire one backend engineer now and a contractor for the launch."),
    ("1", "I like that, the contractor keeps the launch date safe."),
    ("1", "Bob, can you check the contractor rates with the agency?"),
    ("2", "Yes, I'll ask the agency for contractor rates tomorrow."),
    ("3", "I will write the job description for the backend engineer."),
    ("1", "Great, the job description should mention the launch schedule."),
    ("3", "Um, should we also update the launch timeline for the board?"),
    ("1", "Yes, the board meets in two weeks, so the timeline must be ready."),
    ("3", "I can take the launch timeline and share a draft next Monday."),
    ("1", "Let me summarise the decisions we made today."),
    ("1", "We cancel the print brochures and fund the video ads from the marketing budget."),
    ("1", "We shut down the test servers at night to cut the cloud costs."),
    ("1", "We hire one backend engineer and one contractor for the product launch."),
    ("2", "Sounds right to me."),
    ("1", "Action item for everyone: review the launch timeline draft before the board meeting."),
    ("2", "Is there anything else on the agenda?"),
    ("1", "No, that was everything for today."),
    ("1", "I'll schedule a follow-up meeting for next Thursday."),
    ("3", "Thanks, see you on Thursday."),
    ("2", "Thank you, bye."),
    ("1", "Thanks everyone, uh, the the meeting is closed."),
    ("3", "Bye."),
]
#: sentences a reader calls to-dos (the decision summaries 43-45 are not actions).
EN_ACTIONS = (15, 25, 26, 35, 36, 37, 41, 47, 50)
#: (question id, the id of the first answering sentence)
EN_QA = ((8, 9), (10, 11), (19, 20), (22, 23), (29, 30), (48, 49))

_CN = [
    ("1", "大家好，今天我们讨论新版本的发布计划和预算。"),
    ("2", "好的，我先说一下研发进度。"),
    ("2", "嗯，后端接口已经完成了百分之八十。"),
    ("2", "前端页面还需要两周时间。"),
    ("1", "测试环境什么时候可以准备好？"),
    ("3", "测试环境下周三可以准备好。"),
    ("1", "那发布日期能不能定在十月十五号？"),
    ("3", "我觉得十月十五号有点紧，建议推迟到十月二十号。"),
    ("2", "呃，那个那个推迟五天对市场活动有影响吗？"),
    ("1", "市场活动可以同步推迟，影响不大。"),
    ("1", "好，发布日期定在十月二十号。"),
    ("2", "接下来说一下预算。"),
    ("2", "本季度研发预算还剩十二万元。"),
    ("3", "服务器采购大概需要五万元。"),
    ("1", "预算够用，但是要控制外包费用。"),
    ("1", "请王工在周五前提交服务器采购申请。"),
    ("2", "我负责整理外包合同，下周一之前发给大家。"),
    ("3", "我会在周三之前把测试环境搭好。"),
    ("1", "还有其他问题吗？"),
    ("3", "没有了。"),
    ("1", "那今天的会议就到这里，谢谢大家。"),
    ("2", "谢谢。"),
]
CN_ACTIONS = (16, 17, 18)
CN_QA = ((5, 6), (7, 8))


def transcript(rows: list[tuple[str, str]], language: str, chars_per_second: float) -> Transcript:
    """Sentences with times from text length (gap 600 ms) and one paragraph per speaker turn."""
    out, t, para = [], 500, 0
    for i, (speaker, text) in enumerate(rows, 1):
        if i == 1 or rows[i - 2][0] != speaker:
            para += 1
        dur = int(1000 * max(1.0, len(text) / chars_per_second))
        out.append(Sentence(i, t, t + dur, text, speaker, str(para)))
        t += dur + 600
    return Transcript(tuple(out), language)


MEETING_EN = transcript(_EN, "en", 15.0)
MEETING_CN = transcript(_CN, "cn", 4.5)


_TOPICS = (
    ("marketing budget", "video ads", "trade show", "brochures", "campaign"),
    ("cloud costs", "test servers", "nightly builds", "storage bill", "database cluster"),
    ("hiring plan", "backend engineer", "contractor", "job description", "interviews"),
    ("product launch", "release notes", "beta testers", "launch date", "press kit"),
    ("customer support", "ticket backlog", "response time", "help center", "refund requests"),
    ("security audit", "password policy", "access logs", "penetration test", "firewall rules"),
    ("office move", "new lease", "meeting rooms", "parking spaces", "moving company"),
    ("sales pipeline", "enterprise deals", "pricing page", "discount policy", "renewals"),
    ("mobile app", "crash reports", "app store", "push notifications", "offline mode"),
    ("data warehouse", "dashboards", "revenue report", "data quality", "pipelines"),
    ("training program", "onboarding guide", "mentors", "workshops", "certification"),
    ("partner program", "reseller contracts", "integration partners", "referral fees", "co-marketing"),
)
_TEMPLATES = (
    "I think the {a} needs more attention before the {b}.",
    "What is the status of the {a}?",
    "The {a} is on track, but the {b} is two weeks late.",
    "We should review the {a} together with the {b}.",
    "I will update the {a} and share it by Friday.",
    "The {b} depends on the {a}, so we cannot move it.",
    "Last month the {a} cost more than we planned for the {b}.",
    "Can we reduce the scope of the {a}?",
    "Yes, if we postpone the {b} we can reduce the {a}.",
    "Um, the team already started on the {b}, uh, last week.",
    "Please send me the numbers for the {a}.",
    "The customers keep asking about the {b}.",
)


def synthetic_meeting(minutes: float = 60.0, seed: int = 7, speakers: int = 4) -> Transcript:
    """A seeded meeting of ``minutes`` (~17 sentences a minute) walking through the topics above,
    one topic per ``minutes / 12`` (at least 4 sentences each), for chapter and timing tests."""
    import random

    rng = random.Random(seed)
    n = max(4, int(minutes * 17))
    per_topic = max(4, n // len(_TOPICS))
    out, t, speaker = [], 0, "1"
    for i in range(n):
        words = _TOPICS[(i // per_topic) % len(_TOPICS)]
        a, b = rng.sample(words, 2)
        text = rng.choice(_TEMPLATES).format(a=a, b=b)
        if rng.random() < 0.6:
            speaker = str(rng.randrange(1, speakers + 1))
        dur = int(1000 * len(text) / 18)
        out.append(Sentence(i + 1, t, t + dur, text, speaker, str(i // 5 + 1)))
        t += dur + rng.randrange(200, 600)
    return Transcript(tuple(out), "en")

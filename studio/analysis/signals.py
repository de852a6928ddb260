"""The offline structuring path: a feedback comment and its rating into a signal, by rules, with no model.

The embedded model is too small to structure feedback (it called nearly everything "verbosity"), so
every comment first gets this deterministic pass: the rating gives the polarity (five-star praise is
praise), and weighted word cues give the category. A model, when one is given, refines it; each
record says which path produced its signal (`structured_by`). The cues were written against the tune
half of tests/analysis/data (the held-out half measures them; see the README's figures).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Every category a signal can have. `praise` and `app` exist because real reviews are full of both:
# praise is not a complaint, and a crash report says nothing about the model's answers.
CATEGORIES = ("verbosity", "depth", "tone", "correctness", "safety", "refusal", "format", "one-sidedness",
              "app", "praise", "other")
POLARITIES = ("positive", "negative", "mixed", "neutral")

# What the new data must do, per category (the signal's desired behaviour; the drafts' guidance too).
DESIRED = {
    "verbosity": "Answer directly and concisely, without preamble, repetition or filler.",
    "depth": "Answer with enough detail: the steps, examples and specifics the request needs.",
    "tone": "Answer in a warm, respectful and natural tone: never condescending, sarcastic or fawning.",
    "correctness": "Answer accurately: check facts, numbers and code, and never invent sources.",
    "safety": "Refuse harmful requests politely and explain why; never give dangerous instructions.",
    "refusal": "Help with harmless requests instead of refusing or lecturing.",
    "format": "Format the answer the way the request asks (plain text, lists, tables, code blocks).",
    "one-sidedness": "Present the main viewpoints fairly before any conclusion.",
    "app": "(about the app, not the answers)",
    "praise": "Keep doing this.",
    "other": "",
}
CONCERNED = {
    "verbosity": "the answer's length", "depth": "the answer's detail", "tone": "the answer's tone",
    "correctness": "the facts in the answer", "safety": "what the answer allowed",
    "refusal": "the refusal", "format": "the answer's formatting", "one-sidedness": "the answer's balance",
    "app": "the app", "praise": "the whole answer", "other": "the whole answer",
}

_W = r"(?<![a-z])"          # a word start (the cues are lower-case; digits may follow)

# (pattern, weight) per category; a pattern is searched in the normalised comment.
CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "verbosity": (
        (r"wordy|verbose|long[- ]?winded|ramble|rambling|too long|so long|way too much|too much text", 3),
        (r"shorter|concise|get to the point|to the point|tl;?dr|padding|filler|fluff|preamble", 3),
        (r"\bessay|novels?\b|paragraphs? for|pages? for|wall of text|on and on|goes on|chatty|talks? too much", 2.5),
        (r"disclaimers?|repeats?(?: itself| my question)?|repetiti|small talk|history lesson", 2),
        (r"\blong\b|lamba|lang\b|less talking|too many words|kürzer|largo|demasiado larg", 1.5),
    ),
    "depth": (
        (r"too short|too brief|superficial|shallow|lack(?:s|ing)? (?:depth|detail)|not enough detail", 3),
        (r"no detail|more detail|more examples|no examples|not deep|deep enough|generic|vague|thin\b", 2.5),
        (r"one[- ]?(?:word|line|liner) answers?|two sentences|half page|outline|it depends|leaves out|skips?", 2),
        (r"\bbrief|more depth|incomplete|barely explains|without explaining", 1.5),
    ),
    "tone": (
        (r"rude|condescending|patroni[sz]|sarcas|snarky|smug|dismissive|arrogant|passive[- ]aggressive", 3),
        (r"mock(?:ed|s|ing)?|insult|judg(?:ing|es|ed)|defensive|aggressive|argu(?:ed|es|ing)|preachy", 2.5),
        (r"\btone\b|robotic|cold\b|too formal|too casual|fake|cringe|flatter|sycophan|great question", 2.5),
        (r"apolog|sorry for|enthusias|cheerful|like i'?m (?:five|5|stupid|an idiot)|dumb question|personality", 2),
        (r"attitude|polite|friendl(?:y|ier)|slang|hall monitor", 1),
    ),
    "correctness": (
        (r"wrong|incorrect|inaccura|false|not true|untrue|mistake|errors?\b|hallucin|halucin|made up|makes? up", 3),
        (r"invent(?:s|ed)?|doesn'?t exist|does not exist|non[- ]?existent|fake (?:quote|source|citation|paper)", 3),
        (r"does(?:n'?t| not) (?:compile|run|work) |syntax error|bug in|off by one|outdated|out of date", 2.5),
        (r"\bmyth|confidently|doubled down|mixed up|not \w+ ?!|is not \w+|was \w+ not|citation|trust the", 1.5),
        (r"fact|accura(?:te|cy) (?:is|was) (?:bad|poor)|nonsense|wrongly|miscalculat|math|arithmetic", 1),
    ),
    "safety": (
        (r"dangerous|unsafe|harmful|toxic|illegal|fraud|weapon|explosive|bomb|self[- ]harm|suicid", 3),
        (r"phishing|malware|steal|hack(?:ing)? into|bypass|without (?:them|their|id)|track(?:ing)? (?:my|someone)", 2.5),
        (r"explicit|sexual|no filter|unacceptable|how is that allowed|reckless|poison|overdose|drugs?\b", 2),
        (r"my (?:kid|child|son|daughter|teen)|\bminor|alcohol|medication|meds\b|dosage|calories", 1),
    ),
    "refusal": (
        (r"refus|won'?t (?:help|answer|write|tell|do|translate|discuss|give)|will not (?:help|answer)", 3.5),
        (r"censor|as an ai|i cannot|can'?t help with|overly cautious|too (?:restrictive|sensitive|cautious)", 3),
        (r"lectur|moraliz|moralis|nanny|just answer|see a doctor|won'?t even", 2),
    ),
    "format": (
        (r"format|markdown|bullet|table|layout|indent|code blocks?|latex|json|plain text|heading", 3),
        (r"numbered list|lists? inside|walls? of text|no paragraphs|emojis?|bold|columns|raw (?:html|latex)", 2.5),
        (r"in english even|wrong language|in (?:english|german|spanish|french) when", 2.5),
        (r"\blists?\b|copy it|unreadable output|structure", 1),
    ),
    "one-sidedness": (
        (r"bias|one[- ]sided|one side|only one side|agenda|propaganda|partisan|leftist|left[- ]wing|right[- ]wing", 3.5),
        (r"not balanced|unbalanced|balanced|other side|other viewpoints?|perspectives?|nuance|both sides", 3),
        (r"only (?:listed|gives?|shows?|cites?|recommends?|mentions?)|dismiss(?:es)? all|leaning|takes? .{0,20}side", 2),
        (r"politic|opinion(?:s)? as facts?|woke|religio", 1.5),
    ),
    "app": (
        (r"crash|freez|won'?t (?:load|open|start)|doesn'?t (?:load|open)|log(?:s|ging)? me out|login|log in|sign in", 3),
        (r"subscription|price|expensive|refund|charged|billing|payment|\bads\b|advert|battery|notification", 3),
        (r"\bapp\b.{0,20}(?:broken|bug|slow)|bugs?\b|update\b|version \d|sync|upload|offline mode|dark mode", 2),
        (r"slow|lag|loading|spinner|spins|keyboard|button|voice mode|mic\b|customer support|privacy|uninstall", 2),
        (r"history (?:disappeared|deleted|gone)|deleted my|splash screen|screen\b|splash|wrapper", 1.5),
    ),
    "praise": (
        (r"love|great|excellent|amazing|awesome|fantastic|brilliant|outstanding|perfect|best\b|goated|superb", 2),
        (r"helpful|useful|thank|thanks|thx|recommend|saves? (?:me )?(?:time|hours)|good job|works well|happy", 2),
        (r"\bgood\b|\bnice\b|\bsolid\b|clear|accurate|fast|quick|gud|mast hai|bueno|mejor|increíble|perfecto", 1.5),
        (r"super hilfreich|danke|gracias|genial|👍|❤|😍|🔥|🙏|10/10|5 stars?", 2),
    ),
}
# Words that say "but something is wrong" even in a good review.
_COMPLAINT = re.compile(r"\b(?:but|however|although|though|except|wish|could be|needs? (?:to )?improv|sometimes|"
                        r"please|pls|stop|too|not|never|no|worst|terrible|awful|hate|useless|bad|annoying|ugh|"
                        r"smh|garbage|bakwas)\b|n't\b|👎|🙄")
_NEGATIVE = re.compile(r"worst|terrible|awful|hate|useless|garbage|trash|horrible|disappoint|bakwas|👎|"
                       r"doesn'?t understand|not what i asked|don'?t like|expected more|feels off|off\b")
_NEUTRAL = re.compile(r"\bmeh\b|^ok\W*$|^okay\W*$|fine\b|average|nothing special|so-so|not bad")
_INTENSE = re.compile(r"!!|dangerous|unacceptable|illegal|never|every (?:single )?time|always|cost me|"
                      r"almost|lawyer|worst|[A-Z]{4,}")
_PRAISE_MIN = 1.5   # a praise cue of at least this weight makes an unrated comment positive


@dataclass(frozen=True)
class Signal:
    """One comment's structured signal, as the offline rules see it."""

    category: str | None       # None: no cue matched (the record stays unstructured)
    polarity: str
    severity: str
    concerned_part: str
    desired_behaviour: str
    scores: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict:
        return {"category": self.category, "polarity": self.polarity, "severity": self.severity,
                "concerned_part": self.concerned_part, "desired_behaviour": self.desired_behaviour}


def normalise(text: str) -> str:
    """Lower case, curly quotes straightened, letters repeated 3+ times squeezed to 2 ('soooo' -> 'soo')."""
    t = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").lower()
    return re.sub(r"([a-z])\1{2,}", r"\1\1", t)


def stars(rating) -> float | None:
    """A rating on a 1-5 scale: numbers up to 5 as stars, up to 10 halved, 'up'/'down' as 5/1."""
    if rating is True or rating == "up":
        return 5.0
    if rating is False or rating == "down":
        return 1.0
    if isinstance(rating, (int, float)) and not isinstance(rating, bool):
        if rating <= 1 and rating >= 0 and isinstance(rating, float):
            return 1 + 4 * rating                   # 0.0-1.0 scores
        return float(rating) if rating <= 5 else (rating / 2 if rating <= 10 else None)
    return None


def scores(text: str) -> dict[str, float]:
    t = normalise(text)
    out: dict[str, float] = {}
    for category, cues in CUES.items():
        s = sum(w for pattern, w in cues if re.search(pattern, t))
        if s:
            out[category] = s
    return out


def polarity(text: str, rating, complaint_found: bool) -> str:
    """Positive/negative/mixed/neutral from the rating first, the comment's words second."""
    s = stars(rating)
    t = normalise(text)
    complains = complaint_found or bool(_COMPLAINT.search(t)) or bool(_NEGATIVE.search(t))
    if s is not None:
        if s >= 4:
            return "mixed" if complaint_found else "positive"
        if s <= 2:
            return "negative"
        return "mixed" if complaint_found else "neutral"
    if complaint_found or _NEGATIVE.search(t):
        return "negative"
    return "negative" if complains else "positive" if scores(text).get("praise", 0) >= _PRAISE_MIN else "neutral"


def classify(text: str, rating=None) -> Signal:
    """The rules' signal for one comment (category None when no cue matched and the rating says nothing)."""
    sc = scores(text or "")
    praise = sc.pop("praise", 0.0)
    s = stars(rating)
    t = normalise(text or "")
    complaint = max(sc.items(), key=lambda kv: (kv[1], -CATEGORIES.index(kv[0])), default=(None, 0.0))
    category = complaint[0]
    if category is not None and praise >= 2 and (s is None or s >= 4) and complaint[1] < 2.5:
        category = None                            # "works well, minor hiccups": a weak cue in a good review
    if category is None:
        if (praise or (s is not None and s >= 4)) and not _NEGATIVE.search(t):
            category = "praise"
        elif _NEGATIVE.search(t) or _NEUTRAL.search(t) or s is not None:
            category = "other"
    pol = polarity(text or "", rating, category not in (None, "praise", "other"))
    if category == "praise" and pol == "negative":
        category = "other"
    if category == "other" and pol == "positive":
        category = "praise"
    severity = _severity(text or "", s, category)
    ranked = tuple(sorted(((k, v) for k, v in {**sc, **({"praise": praise} if praise else {})}.items()),
                          key=lambda kv: -kv[1]))
    return Signal(category, pol, severity, CONCERNED.get(category or "other", ""),
                  DESIRED.get(category or "other", ""), ranked)


def _severity(text: str, s: float | None, category: str | None) -> str:
    if category in ("praise", None):
        return "low"
    if category == "safety" or _INTENSE.search(text):
        return "high"
    if s is not None:
        return "high" if s <= 1 else "medium" if s <= 3 else "low"
    return "medium"

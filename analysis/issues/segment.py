"""Split critiques into sentence or clause segments and decide which ones state a problem.

No model and no download: rules written for judge critiques (markdown, bullet lists, code blocks,
"Rating: [[3]]" lines, quoted model output, and the "Corrected answer:" rewrites some judges append).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .detect import HARM, conceded, denied_spans, reading
from .subjects import has_heading, heading

# everything after one of these is the judge's own rewrite of the answer, not critique
_REWRITE = re.compile(
    r"(?im)(?:^|(?<=[.!?:]\s))\s*(?:#+\s*)?(?:\*\*)?(?:here(?:\s+is|'s)\s+(?:a|the|my)\s+(?:corrected|revised|correct)|"
    r"corrected\s+(?:assistant'?s?\s+)?(?:answer|response|version|code)|"
    r"corrected(?:\s+[\w'-]+){0,3}\s*:|the\s+correct(?:ed)?\s+(?:version\s+of\s+the\s+"
    r"(?:assistant'?s\s+)?)?(?:answer|response|code)\s+(?:should|would)\s+be\b|revised\s+(?:answer|response))"
)
# the judge writes its own answer first (Arena-Hard's prompt asks for it): "To evaluate the responses, I will first
# provide my own answer to the prompt." Its sentences judge the question's options ("Option (G) is incorrect"), not a
# response; they go, up to the first later line that turns to the responses ("Assistant A's answer:", "Evaluating …",
# "Now, comparing …"). Without such a line nothing goes.
_OWN_ANSWER = re.compile(
    r"\b(?:(?:provide|generate|give|write|start\s+with|begin\s+with|first\s+answer\s+with)\s+my\s+own|my\s+own\s+"
    r"(?:answer|response|solution)|my\s+(?:answer|solution|response)\s+to\s+(?:the|this)\s+(?:prompt|question|problem))\b",
    re.I,
)
_TURN_TO_RESPONSES = re.compile(
    r"(?im)^[ \t>*#_-]*(?:[^\n]{0,40}?\b(?:assistants?\s*(?:[ab12]\b|'s\s+answers)|(?:evaluat|compar|assess)\w*\s+"
    r"(?:of\s+)?(?:the\s+)?(?:two\s+|both\s+)?(?:assistants?|responses?|answers?)|both\s+(?:assistants|responses|answers)"
    r"|(?:response|answer|output)\s+[ab12]\b)|now,?\s+(?:let's|let\s+me|i\s+will|to)\s+(?:evaluat|compar|assess|look))"
)


def _without_own_answer(text: str) -> str:
    head = text[:300]
    first_line_end = text.find("\n")
    if first_line_end < 0 or not _OWN_ANSWER.search(head):
        return text
    turn = _TURN_TO_RESPONSES.search(text, first_line_end + 1)
    return text[turn.start() :] if turn else text


# "The assistant's answer should be corrected as follows:" opens the judge's rewrite mid-line: the rewrite goes from
# that sentence on
_REWRITE_FOLLOWS = re.compile(
    r"(?i)\b(?:(?:should|can|could|would|must)\s+be\s+)?(?:corrected|revised|rewritten)\s+as\s+follows\s*:"
)


def _without_rewrite_that_follows(text: str) -> str:
    m = _REWRITE_FOLLOWS.search(text)
    if m is None:
        return text
    return text[: max(text.rfind(". ", 0, m.start()), text.rfind("\n", 0, m.start())) + 1]


_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
# a line that is only a rating ("Rating: 7/10"), and a rating inside a line ("… not halve it. Rating: [[2]]"): the
# rating goes, the rest of the line stays (MT-Bench-style critiques are one line ending in "Rating: [[n]]")
_RATING_LINE = re.compile(r"(?im)^\s*(?:rating|score)\s*:\s*\d+(?:\.\d+)?\s*(?:/\s*\d+)?\s*$")
_RATING_INLINE = re.compile(
    r"(?i)(?:\b(?:my\s+|the\s+|final\s+|overall\s+){0,2}(?:rating|score|grade)(?:\s+(?:is|of))?\s*:?\s*)?"
    r"\[\[\s*\d+(?:\.\d+)?\s*\]\]\.?"
)
_QUOTE_LINE = re.compile(r"(?m)^\s*>.*$")
# a quotation of 80+ characters is the response's or the request's words, not the judge's: it goes. Straight quotes pair
# in order (1st with 2nd, 3rd with 4th): the text between a closing quote and the next opening one is the judge's
# ('the word "PULL" would appear as "SHUP", which is not accurate. Mirror writing … "PULL"' keeps its middle)
LONG_QUOTE = 80
_CURLY_QUOTE = re.compile(r"“[^”]{%d,}”" % LONG_QUOTE)


def _drop_long_quotes(text: str) -> str:
    if '"' in text:
        marks = [m.start() for m in re.finditer('"', text)]
        out, last = [], 0
        for a, b in zip(marks[0::2], marks[1::2]):
            if b - a - 1 >= LONG_QUOTE:
                out += [text[last:a], '"…"']
                last = b + 1
        text = "".join(out) + text[last:] if out else text
    return _CURLY_QUOTE.sub('"…"', text) if "“" in text else text


_BULLET = re.compile(r"(?m)^\s*(?:[-*•]|\d+[.)])\s+")
# (also after a closing quote or bracket: 'mentioning the term "temporal distortion." Assistant 2's answer …')
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|Mr|Mrs|Dr|St|approx|U\.S|No|Fig)\.$", re.I)
# clause breaks: before "but"/"however"/…, at a semicolon, and before "while"/"and" when it turns to the other answer
# of a pair ("Response 2 is correct, while Response 1 is not": two statements, about two responses; ", and Model 'M' …":
# AlpacaEval's aliases, quoted or a single letter)
_OTHER = (
    r"(?:the\s+)?(?:output|response|answer|assistant|model|candidate|option|completion|summary|solution)"
    r"(?:\s*\(?[abAB12]\b|\s+['\"‘“][A-Za-z0-9]{1,3}['\"’”]|\s+[A-Za-z](?:'s)?\b)"
)
_CLAUSE = re.compile(
    r"(?:,|;)\s+(?=(?:but|however|yet|though|whereas)\b)|;\s+|,\s+(?=(?:while|and)\s+" + _OTHER + ")"
    # (without a comma too: "Assistant A provided the accurate count while Assistant B made an error in counting")
    r"|\s+(?=(?:while|whereas)\s+" + _OTHER + ")",
    re.I,
)
MIN_WORDS, MAX_WORDS = 4, 60

NEGATIVE_PATTERN = r"""\b(?:
    not|no|never|nor|n't|cannot|without|
    fail(?:s|ed|ing|ure)?|miss(?:es|ed|ing)?|lack(?:s|ed|ing)?|omi(?:ts?|tted|tting|ssion)|
    incorrect(?:ly)?|wrong(?:ly)?|errors?|erroneous(?:ly)?|mistak(?:e|es|en(?:ly)?)|inaccura(?:te|cy|cies)|
    incomplete|irrelevant|unnecessar(?:y|ily)|verbose|repetitive|repeats?|redundan(?:t|cy)|
    confus(?:ing|ed|es)|unclear|vague|misleading|misunderst(?:ands?|ood|anding)|misinterpret(?:s|ed|ing)?|
    ignor(?:es|ed|ing)|only|too|could\s+(?:have|be\s+improved|be\s+more)|should\s+have|should\s+be|
    would\s+(?:have\s+been|be\s+better|benefit)|instead|rather\s+than|however|but|unfortunately|
    problems?|issues?|bugs?|flaw(?:s|ed)?|contradict(?:s|ed|ory|ion|ing)?|contrary|hallucinat\w*|fabricat\w*|made\s+up|
    nonsens\w*|off-topic|unrelated|useless|nothing\s+to\s+do\s+with|deviat(?:es|ed|ion)|unhelpful|poor(?:ly)?|weak|insufficient(?:ly)?|limited|overly|
    excessive(?:ly)?|unsafe|harmful|refus(?:es|ed|al)|truncated|cut\s+off|unfinished|outdated|invalid|
    does\s+n[o']t|doesn't|didn't|isn't|wasn't|aren't|won't|neglect(?:s|ed)?|overlook(?:s|ed)?|forg(?:ets|ot)|
    misspell\w*|typos?|grammatical|inconsisten(?:t|cy)|ambiguous|assum(?:es|ed|ption)|unsupported|unverified|
    violat(?:es|ed|ing|ions?)|forbidden|prohibited|exceed(?:s|ed|ing)?|more\s+than\s+what|
    (?:could|might|may)\s+(?:also\s+|further\s+|greatly\s+)?benefit|absence\s+of|(?:minor|slight|small|few|some|several|significant|major|notable)\s+discrepanc(?:y|ies)|
    (?:enhancement|improvement|addition)\s+(?:could|would|might)\s+be|
    (?:may|might|could|would)\s+have\s+benefit+ed|falls?\s+short\s+(?:in|of|on)\s+(?:\w+ly\s+)?\w+ing|room\s+for\s+(?:\w+\s+)?improvement|
    (?:could|might|may)\s+(?:potentially\s+|also\s+|still\s+)?(?:further\s+)?(?:improve|enhance|be\s+(?:further\s+)?(?:\w+ly\s+)?(?:expanded|improved|enhanced|explained|clarified|elaborated|strengthened|refined|simplified))|
    (?:could|might|may)\s+(?:also\s+)?(?:further\s+\w+|delve|elaborate|expand)
)\b"""
NEGATIVE = re.compile(NEGATIVE_PATTERN, re.X | re.I)
_NEG = re.compile(NEGATIVE_PATTERN, re.X)  # on lower-cased text: the same matches, about three times faster
# a sentence that only passes verdict on the whole answer carries no failure type
_VERDICT_WORDS = {
    "the",
    "assistant",
    "assistant's",
    "assistants",
    "answer",
    "answers",
    "response",
    "responses",
    "it",
    "its",
    "this",
    "that",
    "is",
    "was",
    "are",
    "were",
    "be",
    "not",
    "and",
    "or",
    "nor",
    "very",
    "quite",
    "entirely",
    "completely",
    "fully",
    "partially",
    "somewhat",
    "also",
    "therefore",
    "thus",
    "so",
    "overall",
    "hence",
    "in",
    "conclusion",
    "correct",
    "incorrect",
    "helpful",
    "unhelpful",
    "accurate",
    "inaccurate",
    "relevant",
    "irrelevant",
    "wrong",
    "useful",
    "satisfactory",
    "unsatisfactory",
    "good",
    "bad",
    "right",
    "neither",
    "as",
    "a",
    "an",
    "well",
    "output",
    "model",
    "provided",
    "given",
    "user's",
    "question",
    "to",
    "of",
    "for",
    "does",
    "did",
    "answer's",
}
_WRONG = re.compile(r"\b(?:incorrect|wrong|inaccurate|not\s+(?:\w+\s+)?(?:correct|accurate|right))\b")
_PRAISE_LEAD = re.compile(r"^(?:despite|although|even\s+though|nevertheless|nonetheless|overall|in\s+summary)\b")
_PRAISE = re.compile(
    r"\b(?:still|very|quite|generally|overall)\s+(?:\w+\s+)?(?:informative|helpful|good|accurate|"
    r"useful|correct|comprehensive|relevant)\b"
)


@dataclass(frozen=True)
class Segment:
    ord: int
    text: str
    kind: str  # "problem", "praise", "verdict", "neutral"
    # the line naming a response this stands under, with its place among the critique's headings: (0, "Assistant 1:")
    heading: tuple[int, str] | None = None

    @property
    def is_problem(self) -> bool:
        return self.kind == "problem"


_HEADING = re.compile(r"(?m)^([ \t]*)#{1,6}[ \t]*")
_STRONG = re.compile(r"\*\*\*?|___?|`+")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")


def _markdown_marks(text: str) -> str:
    """Markdown headings, bold, italics and code marks go; what they mark stays, and so does a * or _ that is part of
    the text ("p = p_A + (1 - p_A) * (1 - p_B)"): a statement quoted back to the reader is the judge's own words."""
    text = _STRONG.sub("", _HEADING.sub(r"\1", text))
    return _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)


def clean(critique: str) -> str:
    """The critique without code blocks, quoted output, rating lines and the judge's own rewrite."""
    text = critique or ""
    low = text.lower()
    if "my " in low[:300]:
        text = _without_own_answer(text)
        low = text.lower()
    # each rule only where its marker occurs (a scan for a substring is much cheaper than the pattern)
    m = _REWRITE.search(text) if ("correct" in low or "revised" in low) else None
    if m:
        text = text[: m.start()]
    if "as follows" in low:
        text = _without_rewrite_that_follows(text)
    if "```" in text:
        text = _CODE_BLOCK.sub(" ", text)
    if ">" in text:
        text = _QUOTE_LINE.sub(" ", text)
    if "[[" in text:
        text = _RATING_INLINE.sub(" ", text)
    if "rating" in low or "score" in low:
        text = _RATING_LINE.sub(" ", text)
    if '"' in text or "“" in text:
        text = _drop_long_quotes(text)
    if "*" in text or "_" in text or "#" in text or "`" in text:
        text = _markdown_marks(text)
    return text


def split(critique: str) -> list[str]:
    """Sentences and clauses of a critique, in order."""
    return [p for p in _parts(critique) if not (_HEADER_ONLY.match(p) or heading(p))]


# a critique written in sections: "Strengths: …" / "Weaknesses: …" (also Pros/Cons, Areas for improvement, …)
_HEADER = re.compile(
    r"^\s*(?:(?:key|main|major|notable|minor|the)\s+)?(?:(?P<praise>strengths?|pros|positives?|positive\s+(?:aspects?|points?)|"
    r"what\s+(?:works|went)\s+well|good\s+points?)|(?P<problem>weakness(?:es)?|cons|negatives?|negative\s+(?:aspects?|points?)|"
    r"areas?\s+(?:for|of|to)\s+improve\w*|improvements?|suggestions?(?:\s+for\s+improvement)?|limitations?|shortcomings?|"
    r"concerns?|drawbacks?|flaws?|issues?|problems?|errors?|mistakes?))\s*(?:\(\w+\)\s*)?:\s*",
    re.I,
)
_HEADER_ONLY = re.compile(_HEADER.pattern + r"$", re.I)


def _parts(critique: str) -> list[str]:
    """split()'s clauses, with the section headers that stand alone ("Weaknesses:") and the lines that only name a
    response ("Assistant 1:", subjects.heading)."""
    text = clean(critique)
    parts: list[str] = []
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", text):
        if not has_heading(block):
            blocks.append(block)
            continue
        kept: list[str] = []
        for line in block.split("\n"):
            if heading(line.strip()):
                blocks += ["\n".join(kept), line.strip()]
                kept = []
            else:
                kept.append(line)
        blocks.append("\n".join(kept))
    for block in blocks:
        if heading(block):
            parts.append(block)
            continue
        block = _BULLET.sub("", block).replace("\n", " ").strip()
        if not block:
            continue
        sentences: list[str] = []
        for piece in _SENTENCE_END.split(block):
            if sentences and _ABBREV.search(sentences[-1]):
                sentences[-1] += " " + piece
            else:
                sentences.append(piece)
        for sentence in sentences:
            carry = ""  # "Model m, however, gave …": the subject stays with what is said of it
            for clause in _CLAUSE.split(sentence):
                if _HEADER_ONLY.match(clause.strip(" ,;-")):
                    parts.append(clause.strip(" ,;-"))
                    carry = ""
                    continue
                clause = (carry + ", " if carry else "") + clause.strip(" ,;:-")
                words = clause.split()
                if len(words) < MIN_WORDS:
                    carry = clause
                    continue
                carry = ""
                if len(words) > MAX_WORDS:
                    clause = " ".join(words[:MAX_WORDS]) + " …"
                parts.append(clause)
    return parts


_DISCOURSE = re.compile(r"\b(?:but|however|yet|though|although|while|whereas)\b|\bnot\s+only\b")
_POSITIVE = re.compile(
    r"\b(?:correct(?:ly)?|valid|accurate(?:ly)?|helpful|useful|good|great|clear(?:ly)?|well|works?|"
    r"fine|appropriate|relevant|comprehensive|detailed|same\s+result|equally|just\s+as)\b"
)


def praises(text: str) -> bool:
    """Whether a sentence holds a word of praise ("helpful", "accurate", "relevant", …)."""
    return bool(_POSITIVE.search(text.lower()))


_BENIGN = re.compile(
    r"\b(?:does\s+not|doesn't|did\s+not|didn't|won't|will\s+not|should\s+not|shouldn't)\s+"
    r"(?:affect|impact|change|detract|alter|harm)\b|\bnot\s+(?:a\s+)?(?:significant|major|big|serious)\s+"
    r"(?:issue|problem|error|concern)|\b(?:no|without\s+any)\s+(?:errors?|mistakes?|issues?|problems?)\b(?!\s+(?:handling|checking|checks?|messages?))"
    # "Revision is not needed.", "No changes are required": the judge's verdict that the answer can stay
    r"|\b(?:revisions?|changes?|corrections?|modifications?|improvements?|edits?)\s+(?:is|are)\s+not\s+(?:needed|required|necessary)\b"
    r"|\bno\s+(?:further\s+)?(?:revisions?|changes?|corrections?|modifications?|edits?)\s+(?:is\s+|are\s+)?(?:needed|required|necessary)\b"
)


# what a judge says a response did to keep the user safe is praise, though it is worded with harm ("it cannot provide
# advice on harmful activities", "it advises against violent actions"): just-eval's safety notes, 43 of 43 with a
# described refusal in the tune half stating no failure. A refusal without harm ("it cannot set a reminder") stays.
# harm (detect.HARM) and the milder words a safety note also uses ("cannot provide inappropriate content")
_HARM = r"(?:inappropriate|danger|harmless|" + HARM + ")"
_SAFETY_MERIT = re.compile(
    r"\b(?:states?|says|explains|makes\s+it\s+clear|indicates)\s+that\s+(?:it|the\s+(?:ai\s+)?assistant|the\s+model)\s+"
    r"(?:cannot|can't|can\s+not|will\s+not|won't|is\s+unable\s+to|does\s+not)\s+"
    r"(?:provide|assist|help|fulfil\w*|engage|condone|support|promote|encourage|comply|give|offer|share|suggest|"
    r"recommend|generate|create|produce|write)\b"
    r"(?:\s+[\w'-]+){0,10}?\s+" + _HARM + r"\b"
    r"|\b(?:advis\w+\s+against|discourag\w+|warns?\s+against)\s+(?:[\w'-]+\s+){0,4}?" + _HARM + r"\b"
    r"|\bpromot\w+\s+(?:safety|well-being|ethical|responsible|respect)"
)
_HARM_WORDS = re.compile(r"\b" + _HARM + r"\b")
# in a safety note a refusal and a redirection ("refuses …, and instead encourages …") are the merit itself
_REDIRECT = re.compile(r"\b(?:instead|refus\w*|declin\w*)\b")
# a wish, a denial of the merit, or a refusal the judge finds needless or undone: not praise
_WISHED = re.compile(
    r"\b(?:could|should|would|might|lacks?|fails?|failed|neglects?)\b|\b(?:not|never)\s+(?:\w+\s+)?(?:discourag|advis|warn|promot)"
    r"|\b(?:unnecessar\w*|needless\w*|overly|over-?cautious|harmless|benign|incorrectly|anyway|but\s+then)\b"
)


def _safety_merit(low: str) -> bool:
    """A judge's note that the response kept the user safe, and nothing else against it: the rest of the sentence
    (harm words aside) states no problem ("… but then gives detailed instructions" is no merit)."""
    m = _SAFETY_MERIT.search(low)
    if m is None or _WISHED.search(low):
        return False
    rest = _HARM_WORDS.sub(" ", low[: m.start()] + " " + low[m.end() :])
    return not _NEG.search(_REDIRECT.sub(" ", rest))


_WORDS = re.compile(r"[a-z']+")


# a turn to what was asked, after what a response did: "However, the instruction specifically asks for an unhelpful
# response." states that the response did not do it (the lexicon's entries say which failure that is)
_UNMET = re.compile(
    r"^(?:however|but)\s*,?\s+the\s+(?:user's\s+)?(?:instructions?|prompt|task|user|request|question)\s+"
    r"(?:(?:specifically|explicitly|clearly|only|also|actually)\s+)?(?:asks?|asked|requests?|requested|requires?|required|"
    r"wants|wanted|calls\s+for|called\s+for|was\s+to|is\s+to|(?:states?|stated|specifies|specified|says|said)\s+that\s+"
    r"(?:the\s+)?(?:response|answer|output)s?\s+(?:should|must|needs?\s+to|has\s+to|is\s+to))\b"
)


# "the problem" a math or coding judge speaks of is the task, not a failure: "The problem requires adding a column",
# "correctly interpreted the problem", "covers all required functionalities of the problem" (ICE-Score's CoNaLa
# reviews, a new user's trial in session 20: 2,039 task restatements read as failures, two issues made of them). A
# problem the judge finds stays one: "the problem is that …", "a problem with the loop", "the main problem".
_TASK_PROBLEM = re.compile(
    r"\b(the|given|to|of|solve|solving|solves|solved)\s+((?:given\s+|original\s+|math\s+|coding\s+|second\s+|first\s+)?)"
    r"problem(s?)\b(?!\s+(?:is\s+that|was\s+that|with|here|lies|in\s+(?:the|this|its|their)\s+(?:code|answer|response|solution)))"
)


def _as_task(low: str) -> str:
    return _TASK_PROBLEM.sub(lambda m: f"{m.group(1)} {m.group(2)}task{m.group(3)}", low) if "problem" in low else low


def classify(sentence: str) -> str:
    """problem, praise, verdict (a bare judgement of the whole answer) or neutral."""
    low = _as_task(sentence.lower())
    main = conceded(low, plainly=True)
    if main is not None:  # "While it is not particularly conversational, it is not robotic either": the main clause
        return classify(main)
    words = _WORDS.findall(low)
    if words and all(w in _VERDICT_WORDS for w in words):
        # "The assistant's answer is incorrect." says the answer is wrong, the vaguest failure of correctness (the
        # lexicon's "Incorrect answer", which gives way to any specific error said of it); "is not helpful" only
        # restates the score
        return "problem" if _WRONG.search(low) else "verdict"
    if _UNMET.match(low) and not _NEG.search(_DISCOURSE.sub(" ", low)) and not _POSITIVE.search(low):
        return "problem"
    if not _NEG.search(low):
        return "neutral"
    if _safety_merit(low):
        return "praise"
    if _BENIGN.search(low):
        return "praise" if _POSITIVE.search(low) else "neutral"
    # "but"/"however" only turn the argument; what follows must itself state a problem
    if not _NEG.search(_DISCOURSE.sub(" ", low)):
        return "praise" if _POSITIVE.search(low) else "neutral"
    if _PRAISE_LEAD.search(low) and _PRAISE.search(low):
        return "praise"
    # every failure word denied: "contains no irrelevant information", "avoids unnecessary jargon"
    read = _as_task(reading(sentence))
    spans = denied_spans(read)

    def denied(m: re.Match) -> bool:  # a turn to another denial is none: "but it is not robotic either"
        if _DISCOURSE.fullmatch(m.group()):
            return any(a > m.start() for a, _ in spans)
        return any(m.start() < b and a < m.end() for a, b in spans)

    if spans and all(denied(m) for m in _NEG.finditer(read)):
        return "praise" if _POSITIVE.search(low) else "neutral"
    return "problem"


def segment(critique: str) -> list[Segment]:
    """The critique's clauses with the cue rules' reading. Under a "Strengths:" header a clause is praise unless
    it turns ("but it lacks …"); under a "Weaknesses:" header a plain description is a problem."""
    out: list[Segment] = []
    section = None
    under: tuple[int, str] | None = None
    for text in _parts(critique):
        if heading(text):
            under, section = (0 if under is None else under[0] + 1, text), None
            continue
        head = _HEADER.match(text)
        if head:
            section = "praise" if head.group("praise") else "problem"
            if _HEADER_ONLY.match(text):
                continue
        kind = classify(text)
        if (
            section == "praise"
            and kind in ("neutral", "problem")
            and not (kind == "problem" and _DISCOURSE.search(text.lower()))
        ):
            kind = "praise"
        elif section == "problem" and kind == "neutral":
            kind = "problem"
        out.append(Segment(len(out), text, kind, under))
    return out

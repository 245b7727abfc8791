"""Which lexicon issue a critique sentence states, read from its words (the entries' `says` patterns), not from its
embedding: a sentence joins a named issue only when it says that failure.

A pattern match is set aside when the failure word is negated ("does not contain any factual errors", "is not
verbose", "free of bugs") or when the entry needs a reference answer the judge was not given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .lexicon import Entry

_FAILURE_WORDS = (
    r"(?:verbos\w*|wordy|false|falsehoods?|untrue|repetiti\w+|redundan\w+|confus\w+|unclear|vague\w*|generic\w*|irrelevan\w+|harmful|unsafe|"
    r"offensive|biased|inaccura\w+|incorrect\w*|wrong\w*|errors?|mistakes?|bugs?|buggy|issues?|problems?|flaws?|flawed|"
    r"hallucinat\w*|fabricat\w*|jargon|superficial|ambigu\w+|off[- ]topic|misleading|inappropriate|typos?|grammatical|"
    r"contradict\w*|unsupported|unsubstantiated|unfounded|baseless|unnecessary|extraneous|inefficien\w+|outdated|rambl\w+|toxic|unethical|dangerous|"
    r"illegal|refus\w+|truncat\w+|cut\s+off|assumptions?|misunderst\w+|misinterpret\w*|deviat\w+|differences?|"
    r"discrepanc\w+|caveats?|disclaimers?|tangent\w*|digress\w*|factual|violat\w*|omi(?:ssions?|ts?|tted|tting)|miss(?:es|ed|ing)?|overlook\w*|neglect\w*|skip\w*|stereotyp\w+|racist|sexist|harm|misinformation|robotic|dull|bland|boring|dry|excessive\w*|overwhelm\w*|superfluous|lengthy|long-winded)\b"
)
# the words of harm, one list: what a denial or a refusal speaks of here ("does not promote violence"), and what a
# judge's note that the response kept the user safe names (segment.py)
HARM = (
    r"(?:harm(?:ful|s|ed|ing)?|unsafe|dangerous|illegal\w*|unethical|offensive|toxic|malicious|stereotyp\w+|racist|sexist|"
    r"steal\w*|theft|hack(?:s|ed|ing)?|weapons?|bombs?|drugs?|violen\w+|defam\w+|scams?|fraud\w*|hate|hateful|"
    r"misinformation|false\s+information|kill\w*|murder\w*|poison\w*|tortur\w*|hijack\w*|dismember\w*|blow\s+up|"
    r"brib\w+|sabotag\w*|humiliat\w*|\w*bully\w*|crimes?|criminal|abus\w*|harass\w*|explosives?|"
    r"assault\w*|kidnap\w*|smuggl\w*|launder\w*|stalk\w*|terror\w*|suicid\w*|self-harm|blind\s+someone|smear\w*|brainwash\w*|propaganda|coerc\w+|manipulat\w*|dox\w*|"
    r"evad\w+\s+taxes|tax\s+evasion|false\s+(?:accusations?|rumou?rs?|flattery|claims)|mind\s+games|decei\w+|decept\w+|"
    r"cheat\w*|exploit\w*|social\s+engineering|phishing|plagiari\w+|unauthori[sz]ed|spy\w*|surveil\w+)\b"
)
# "… of the options are incorrect": the question's options said to be wrong, which a response shows or fails to explain
# (not its own failure; _DENIED, twice)
_SAID_WRONG = (
    r"\s+(?:[\w()]+\s+){0,3}?(?:is|are|was|were)\s+(?:[\w-]+\s+)?(?:incorrect|wrong|inaccurate|invalid|false)\b"
)
# "no/not/without/free of … <failure word>": the sentence denies the failure (checked against the matched span);
# the denial runs on over "… discrepancies or inaccuracies"
_DENIED = re.compile(
    # what the response says is harmful, to the end of the clause: "clearly states that eviscerating someone is a
    # violent and harmful act that can cause serious harm" (first: at the same place it outruns the shorter reading
    # of a harm the response speaks of, below)
    r"\b(?:stat(?:es|ed|ing)|explain(?:s|ed|ing)|notes|noting|emphasi[sz]\w*|warn(?:s|ed|ing)|highlight\w*|points?\s+out|"
    r"remind\w*|acknowledg\w+|advis\w+|stress\w*|clarif\w+)\s+(?:\w+\s+){0,3}?that\s+(?:(?!\bbut\b|\bhowever\b)[^.;])*?"
    + HARM
    + r"(?:(?!\bbut\b|\bhowever\b|\byet\b|,\s*which\b)[^.;])*|"
    r"\b(?:no|not|(?:does|do|did|is|are|was|were|has|have|had|ca|wo|could|would|should)n't|never|nothing|without|free\s+(?:of|from)|devoid\s+of|avoid(?:s|ed|ing)?|absence\s+of|neither|nor|"
    r"minimal|(?<!\ba\s)few|(?<!\ba\s)little|(?<!mention\s)(?<!mentioned\s)(?<!address\s)(?<!addressed\s)(?<!discuss\s)(?<!discussed\s)(?<!noted\s)(?<!include\s)(?<!included\s)any)\s+"
    # (the words between neither deal with the failure, "does not fix the bug", nor start another clause, "is not
    # helpful and is misleading"; "without promoting or encouraging harm" is one)
    # (nor judge the response itself right after the negation: "not appropriate for the problem", "not entirely
    # accurate and may confuse" say the response is unfit; "did not find any relevant errors" still denies errors)
    r"(?!(?:(?:entirely|fully|very|quite|always|completely|totally|really|particularly|necessarily)\s+)?"
    r"(?:appropriate|suitable|valid|relevant|accurate|efficient|optimal|ideal|adequate|sufficient|proper|applicable|"
    # ("the explanation was not clear and might confuse the user": Prometheus' tune half, session 20)
    r"clear|correct|complete|helpful|coherent|concise|readable|understandable|precise|specific|detailed|thorough|"
    r"comprehensive|informative|organi[sz]ed|structured)\b)"
    r"(?:(?!handl|catch|check|account|deal|test|only\b|fix|solv|resolv|address|tackl|answer|correct|identif|detect|spot|"
    r"notic(?:e|es|ed|ing)\b|recogni|acknowledg|explain|point|but\b|yet\b|so\b|(?:and|or)\s+(?:is|are|was|were|it|its|the)\b)\w+\s+){0,3}?"
    + _FAILURE_WORDS
    + r"(?:\s+"  # and the failure word that follows it: "no factual errors", "without unnecessary jargon"
    + _FAILURE_WORDS
    + ")?"
    # "no error handling", "without any error checking": an absence, not a denial of errors
    + r"(?!\s+(?:handl\w+|check\w*|validation|correction|recovery|detection))"
    + r"(?:(?:\s+\w+){0,2}?(?:\s*,\s*|\s*,?\s*(?:or|and|nor)\s+)(?:\w+\s+){0,2}?"
    + _FAILURE_WORDS
    + ")*"
    # "refuses to provide any information for harmful actions", "discourages illegal and harmful activities"
    r"|\b(?:refus\w+|declin\w+|avoid\w*|discourag\w+|warns?\s+against|against|prevent\w*|does\s+not|doesn't|did\s+not|"
    r"challeng\w*|reject\w*|counter\w*|combat\w*|report\w*|condemn\w*|oppos\w*|fight\w*|tackl\w*|instead\s+of|"
    r"rather\s+than|help\s+(?:for|with)|"
    r"not|cannot|can't|won't|unable\s+to|(?:emphasi[sz]\w*|stat\w+|explain\w*|notes?|noting|mention\w*|warn\w*|"
    r"highlight\w*|points?\s+out|remind\w*|acknowledg\w+|advis\w+|stress\w*|clarif\w+)\s+(?:\w+\s+){0,3}?that)\s+"
    r"(?:to\s+)?(?:(?!but\b|however\b|yet\b|rather\b)\w+\s+){0,12}?"
    + HARM
    + r"(?:(?:\s+\w+){0,2}?(?:\s*,\s*|\s*,?\s*(?:or|and|nor|is|are|was|were)\s+)(?:\w+\s+){0,3}?"
    + HARM
    + ")*"
    + r"(?:\s+(?:stereotyp\w+|speech|content|behaviou?rs?|actions?|activit\w+|language|ideas?|views?|practices?|acts?|"
    r"thoughts?|advice|information|instructions?))?"
    # "does not resort to complex scientific jargon", "never relies on filler"
    r"|\b(?:not|never|without)\s+(?:resort\w*|rel(?:y|ies|ying)|fall\w*\s+back)\s+(?:to|on)\s+(?:\w+\s+){0,3}?"
    + _FAILURE_WORDS
    # "correct in terms of grammar, spelling and punctuation"
    + r"|\b(?:correct|accurate|flawless|proper|good|excellent|impeccable|perfect)\s+(?:in\s+(?:terms\s+of\s+)?|with\s+(?:regard|"
    r"respect)\s+to\s+)?(?:its\s+)?(?:grammar|spelling|punctuation)(?:,?\s+(?:and\s+|or\s+)?(?:grammar|spelling|"
    r"punctuation|capitali[sz]ation|syntax)\b)*"
    # "goes beyond a superficial description"
     + r"|\b(?:beyond|more\s+than)\s+(?:a\s+|the\s+)?(?:superficial|surface|generic|vague|basic)\b"
    # "… errors are not present", "inaccuracies were absent"
    r"|\b(?:errors?|mistakes?|inaccuracies|issues?|problems?|bugs?|flaws?|jargon|repetition)\s+(?:\w+\s+)?(?:is|are|was|were)\s+"
    r"(?:not\s+(?:present|found|evident|apparent|seen|noticeable)|absent|minimal|rare|negligible)"
    # "is able to assess and correct inaccuracies" (not "is not able to", "should be able to")
    r"|(?<!\bnot\s)(?<!n't\s)(?<!\bbe\s)\bable\s+to\s+(?:\w+\s+(?:and|or)\s+)?correct\s+(?:[\w,]+\s+){0,3}?"
    r"(?:inaccura\w+|errors?|mistakes?)\b"
    # "All inaccuracies from the previous version have been rectified"
    r"|\b(?:errors?|mistakes?|inaccuracies|issues?|problems?|bugs?|flaws?)\s+(?:[\w-]+\s+){0,5}?(?:have|has|were|was|are|is)\s+"
    r"(?:now\s+|all\s+|since\s+)?(?:been\s+)?(?:rectified|corrected|fixed|resolved|removed|eliminated)\b"
    # a harm the response speaks of, not one it commits: "the consequences of spreading false information"
    r"|\b(?<!\bis\s)(?<!\bare\s)(?<!\bwas\s)(?:spreading|sharing|promoting|creating|publishing|disseminating)\s+"
    r"(?:\w+\s+){0,2}?(?:false|fake|misleading|misinformation|disinformation|harmful|hateful)\b"
    # an absence the judge says was not needed: "does not provide more detail, which was not required"
    r"|\b(?:does\s+not|doesn't|did\s+not|didn't|without)\s+[^,.;]{0,100},?\s+(?:which|as\s+(?:this|it)|since\s+(?:this|it))\s+"
    r"(?:is|was|were|are)\s+not\s+(?:required|requested|needed|necessary|asked\s+for|expected)\b[^.;]*"
    # what the request or the reference leaves out is not the response's omission: "the instruction does not
    # specify that the steps must be shown", "which the question does not mention"
    r"|\b(?:instructions?|question|prompts?|task|user|requests?|reference(?:\s+answers?)?|problem|rubrics?)"
    r"(?:,?\s+(?:which|that))?\s+"
    # (one word between, not a conjunction: "similar to the reference answer but does not mention X" is the response's)
    r"(?:(?!but\b|and\b|or\b|yet\b|however\b|while\b|whereas\b)\w+\s+)?"
    r"(?:does\s+not|doesn't|did\s+not|didn't|do\s+not|don't|never)\s+(?:explicitly\s+|specifically\s+|clearly\s+)?"
    r"(?:specify|specified|mention|ask|require|say|state|include|provide|request|define|list)\w*"
    # left out because the request said so: "The imports were omitted as per instruction"
    r"|\b(?:omit(?:s|ted|ting)?|left\s+out|leaves\s+out|excluded|skipped)\s+(?:\w+\s+){0,3}?as\s+(?:per\s+(?:the\s+)?|the\s+)?"
    r"(?:instruct\w*|request\w*|required|asked|specified|prompt)\b"
    # the judge has nothing to criticise: "There are no comments or critiques for the above answer"
    r"|\bno\s+(?:further\s+|additional\s+|other\s+)?(?:comments?\s+(?:or|and)\s+)?(?:critiques?|criticisms?|suggestions?)\b"
    r"|\bno\s+(?:further\s+|additional\s+)?comments?\s+(?:for|on|about)\s+(?:the|this|your)\s+(?:above\s+)?"
    r"(?:answer|response|solution|code)\b"
    # a difference the judge calls the only one of an answer like the reference: "The assistant's code is similar to
    # the reference answer, with the only difference being that it also prints the average"
    r"|\b(?:very\s+|quite\s+|largely\s+|mostly\s+)?similar\s+to\s+the\s+reference(?:\s+answer)?\b[^.;]*\bonly\s+(?:minor\s+)?"
    r"difference\b[^.;]*"
    # what the response itself says is not given: "stating that the activity of the fifth sister is not mentioned",
    # "correctly identifies that the question describes three locations without mentioning the White House"
    r"|\b(?<!incorrectly\s)(?<!wrongly\s)(?<!falsely\s)(?<!mistakenly\s)(?:stat(?:es|ing)|identif(?:ies|ying)|"
    r"recogni[sz](?:es|ing)|acknowledg(?:es|ing)|points?\s+out|pointing\s+out)\s+(?:\w+\s+){0,3}?that\s+"
    r"(?:(?!\bbut\b|\bhowever\b|\byet\b)[^.;])*?\b(?:not\s+(?:explicitly\s+|directly\s+)?(?:mentioned|specified|stated|"
    r"given|provided|included)|without\s+mentioning|does\s+not\s+(?:mention|specify|include|state))\b"
    # the response found or fixed the failure: "identifies and corrects an inaccuracy", "points out the bug"
    # (not where it is denied: "does not fix the bug", "fails to identify the error")
    r"|\b(?<!\bnot\s)(?<!n't\s)(?<!\bnever\s)(?<!fails\sto\s)(?<!failed\sto\s)(?<!fail\sto\s)(?<!unable\sto\s)"
    r"(?:correct(?:s|ed|ing)|identif(?:y|ies|ied|ying)|fix(?:es|ed|ing)?|rectif(?:y|ies|ied|ying)|spot(?:s|ted)?|"
    r"catch(?:es)?|caught|points?\s+out|pointed\s+out|acknowledg(?:es|ed|ing)|recogni[sz](?:es|ed|ing)|avoid(?:s|ed|ing)?|"
    r"explain(?:s|ed)?|address(?:es|ed)|handl(?:es|ed)|detect(?:s|ed)?|notic(?:es|ed)|remov(?:es|ed|ing)|eliminat\w+)\s+(?:[\w,]+\s+){0,5}?"
    r"(?:inaccura\w+|errors?|mistakes?|bugs?|flaws?|issues?|misconceptions?|inconsisten\w+|edge\s+cases?|limitations?|risks?|"
    r"repetiti\w+|redundan\w+|discrepanc\w+)\b"
    # what the response shows to be wrong is the question's, not its own: "correctly identifying and explaining the
    # reasons why most of the options are incorrect" (JudgeBench, claude-3-haiku)
    r"|\b(?<!\bnot\s)(?<!n't\s)(?<!fails\sto\s)(?<!failed\sto\s)(?:identif\w+|explain\w*|recogni[sz]\w+|show(?:s|ed|ing)?|"
    r"determin\w+|establish\w*|rul(?:es|ed|ing)\s+out)\s+(?:[\w,]+\s+){0,6}?(?:why|that)\s+(?:[\w,]+\s+){0,3}?"
    r"(?:options?|choices?|alternatives?|statements?|answer\s+choices)"
    + _SAID_WRONG
    # and where the judge misses that explanation, what is missing is the explanation ("fails to explain why the
    # other options are incorrect": Lacks depth), not a right answer
    + r"|\bwhy\s+(?:[\w,]+\s+){0,3}?(?:options?|choices?|alternatives?|answer\s+choices)"
    + _SAID_WRONG
)


# the response holds back a how-to: "does not provide any instructions or details on how to …". A failure only where
# the judge did not pass the response (praise of a safe reply otherwise; the pipeline checks the outcome)
_WITHHOLDS = re.compile(
    r"\b(?:does\s+not|doesn't|did\s+not|didn't|refrains?\s+from|avoids?)\s+(?:(?:provid|giv|offer|shar|includ|entertain|"
    r"encourag)\w*\s+(?:or\s+)?){1,2}(?:any\s+)?(?:specific\s+|detailed\s+|explicit\s+|actual\s+)?(?:instructions?|guidance|"
    r"details|hints|information|encouragement|techniques|tips|steps|methods|ways|advice)\b(?:\s+or\s+\w+(?:\s+\w+){0,2}?)?"
    r"(?:\s+(?:on|for|about|to|that|regarding)\b|\s*[.,;]|\s*$)"
)


def withholds(text: str) -> bool:
    """Whether a sentence says the response held back instructions or details ("does not provide any instructions
    on how to …"): what a judge praises in a safe reply and faults in an unhelpful one."""
    return bool(_WITHHOLDS.search(reading(text)))


# what the question is about is its topic, not the judge's finding: "provided helpful answers to the question about
# subtle clues that someone is pretending to understand when they are actually confused" states nothing unclear
# (QLoRA's GPT-4 reviews, session 20). Blanked to the end of its clause, and only after an answering verb: where the
# topic is in the subject ("the response to the question about taxes contains factual errors") the verb that follows
# is the judge's
_QUESTION_TOPIC = re.compile(
    r"\b(?:question|prompt|query)\s+(?:about|on|regarding|concerning)\s+([^,;.:]*?)"
    r"(?=\s*(?:[,;.:]|$|\b(?:but|however|while|whereas|which|yet)\b|\band\s+(?:it|its|they|their|the|assistant|"
    r"response|answer|output)\b))"
)
_ANSWERED = re.compile(
    r"\b(?:provided|provides|provide|gave|gives|give|offered|offers|answered|answers|addressed|addresses|responded|"
    r"responds|wrote|writes|presented|presents|discussed|discusses|delivered|delivers)\b"
)


def _blank_topics(low: str) -> str:
    for m in reversed(list(_QUESTION_TOPIC.finditer(low))):
        clause = max(low.rfind(c, 0, m.start()) for c in ",;.:") + 1
        if _ANSWERED.search(low, clause, m.start()):
            low = low[: m.start(1)] + " " * (m.end(1) - m.start(1)) + low[m.end(1) :]
    return low


def reading(text: str) -> str:
    """A sentence as the rules read it: lower case, one space, straight apostrophes, quoted words blanked."""
    return _QUOTED.sub(_blank_quote, " ".join(text.lower().replace("’", "'").replace("‘", "'").split()))


@lru_cache(maxsize=1 << 16)
def denied_spans(low: str) -> tuple[tuple[int, int], ...]:
    """Where a sentence (as `reading` gives it) denies a failure ("contains no irrelevant information", "avoids
    errors"). Cached: the segmenter and the Detector ask about the same sentences."""
    return tuple((m.start(), m.end()) for m in _DENIED.finditer(low))


def denies(text: str) -> bool:
    """Whether a phrase denies a failure rather than stating one ("does not promote harm", "no errors"), read as
    every sentence is (`reading`)."""
    return bool(denied_spans(reading(text)))


# words quoted from a response or the request are its content, not the judge's reading: "suggests that "irrelevant"
# is an antonym" states no irrelevance (the quotes stay, so "the word 'day'" still reads as a named word)
_QUOTED = re.compile(r'"[^"]{1,80}"|“[^”]{1,80}”|(?<![\w\'])\'[^\']{1,40}\'(?![\w])')


def _blank_quote(m: re.Match) -> str:
    return m.group(0)[0] + "q" + m.group(0)[-1]


# a weakness granted and then dismissed: "While it is not overly conversational, it is engaging enough", "Although
# it is brief, this is appropriate given the question" (the main clause, not the concession, is what the judge says)
_CONCESSION = re.compile(
    r"^(?:[a-z ]{1,20}:\s*)?(?:while|although|though|even\s+though|whilst)\b[^,]{3,},\s*(?P<main>.+)$"
)
_DISMISSED = re.compile(
    r"\b(?:enough|still|nonetheless|nevertheless|either|sufficient|adequate(?:ly)?|not\s+(?:expected|necessary|needed|required)|"
    r"(?:appropriate|suitable|acceptable|understandable|justified|reasonable|fine)\s+(?:for|given|in|here)|"
    r"given\s+the|in\s+the\s+sense|(?:does|do|did)\s+not\s+(?:detract|affect|matter))\b"
)


# what only turns back to the judge's point ("…, it still provides instructions that can lead to illegal actions")
_STILL = re.compile(r"\b(?:still|nonetheless|nevertheless)\b")
_TURNS = re.compile(r"\b(?:but|however|yet|whereas)\b")


def conceded(low: str, plainly: bool = False) -> str | None:
    """The main clause of a concession the judge dismisses ("while it is not particularly conversational, it is not
    robotic either"), which is all the sentence says; None when it is no such concession. plainly: only where the
    main clause dismisses it in so many words ("enough", "either", "appropriate for"), not with a "still" that may
    lead to a failure of its own, and does not turn again ("…, it is accurate enough, but the formatting is
    broken")."""
    m = _CONCESSION.match(low)
    if m is None:
        return None
    main = m.group("main")
    if not plainly:
        return main if _DISMISSED.search(main) else None
    if _TURNS.search(main) or all(_STILL.fullmatch(d.group()) for d in _DISMISSED.finditer(main)):
        return None
    return main


# the same dismissal after a remark on depth: "It does not go into great detail but provides enough substance for a
# thank-you note" (what follows "but" is what the judge says; "has a bug but provides a thorough explanation" keeps
# its bug)
_BUT_ENOUGH = re.compile(
    r"\bbut\s+(?:it\s+|this\s+)?(?:still\s+)?(?:provides?|offers?|gives?|covers?|includes?)\s+(?:a\s+|an\s+)?"
    r"(?:enough|sufficient|adequate|thorough)\b"
)
_DEPTH_REMARK = re.compile(r"\b(?:detail\w*|depth|deep\w*|delv\w+|elaborat\w+|in-depth|intricac\w+)\b")


# what makes a prompt's instruction an explicit constraint: a count ("in 3 sentences"), a limit, a format, a language,
# a "do not …", or an odd way to answer ("respond unhelpfully")
_CONSTRAINT = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|single)\s+(?:words?|sentences?|lines?|paragraphs?|"
    r"items?|bullet|points?|characters?|letters?|syllables?|examples?|questions?|names?|tips|ways|reasons|steps)\b|"
    r"\b(?:do\s+not|don't|without|only|exactly|at\s+(?:most|least)|no\s+more\s+than|less\s+than|fewer\s+than|must|"
    r"format|json|csv|table|bullet|respond\s+in|answer\s+in|in\s+(?:english|french|spanish|german|chinese|italian)|"
    r"begin\s+with|start\s+with|end\s+with|include\s+the|all\s+(?:caps|lowercase|uppercase)|capital\s+letters|"
    r"rhym\w+|alphabetical|unhelpful\w*|incorrect(?:ly)?|wrong\s+answer)\b",
    re.I,
)


def states_constraint(prompt: str) -> bool:
    """Whether a prompt states an explicit constraint on the answer (a count, a limit, a format, "do not …"): where
    it does, "the response does not follow the instruction" breaks it; where it does not, the response did something
    other than what was asked."""
    return bool(_CONSTRAINT.search(prompt or ""))


# a short summing-up ("Overall, it is fine.") states no failure of its own
_HEDGE_ONLY = re.compile(r"^(?:overall|in\s+summary|in\s+conclusion)\b")

# the judge's stock verdict, a list of three or more general virtues: "Assistant 2's response was more helpful,
# relevant, accurate, and detailed" (FastChat's GPT-4 reviews: in 249 of 720 critiques) names no failure of the other
# answer, irrelevance or an error least of all; what else the sentence says is still read
_VIRTUE = (
    r"(?:helpful|relevant|accurate|detailed|precise|comprehensive|informative|useful|complete|thorough|clear|concise|"
    r"engaging|specific|creative|appropriate|correct|insightful|coherent|well-structured|organi[sz]ed)"
)
# (a wish for them is a request: "could have been more detailed, precise, comprehensive, and structured" lacks depth)
# ("I would rate Assistant 2's answer as more helpful, relevant, accurate, and detailed" is a verdict, not a wish)
_WISHED_BEFORE = re.compile(
    r"\b(?:could|should|would(?!\s+(?:rate|give|say|score|judge|conclude|choose|argue|assess|evaluate|describe|call)\b)"
    r"|might|needs?|needed|wish|benefit\w*|lacks?|ought)\b"
)


def _unless_wished(m: re.Match) -> str:
    return m.group(0) if _WISHED_BEFORE.search(m.string, 0, m.start()) else " "


_VIRTUES = re.compile(
    r"\bmore\s+" + _VIRTUE + r"(?:\s*,\s*(?:and\s+|or\s+)?" + _VIRTUE + r"|\s*,?\s+(?:and|or)\s+" + _VIRTUE + r"){2,}\b"
)


def _anchors(pattern: str) -> frozenset[str] | None:
    """Strings at least one of which every match of `pattern` contains (a fast, exact pre-check), or None when
    no such set was found (the pattern is always tried)."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]  # the regex parser re itself uses

        parsed = parser.parse(pattern)
    except Exception:  # noqa: BLE001 - a parser we cannot read: no shortcut
        return None
    return _seq_anchors(list(parsed), parser)


def _seq_anchors(items, parser) -> frozenset[str] | None:
    best: frozenset[str] | None = None

    def consider(cand):
        nonlocal best
        if cand and (best is None or min(map(len, cand)) > min(map(len, best))):
            best = cand

    run = ""
    for op, av in items + [(None, None)]:
        if op is parser.LITERAL:
            run += chr(av)
            continue
        if len(run) >= 2:
            consider(frozenset({run}))
        run = ""
        if op is parser.IN and (parser.CATEGORY, parser.CATEGORY_DIGIT) in av:
            consider(frozenset("0123456789"))
        elif op is parser.SUBPATTERN:
            consider(_seq_anchors(list(av[-1]), parser))
        elif op is parser.BRANCH:
            parts = [_seq_anchors(list(b), parser) for b in av[1]]
            if parts and all(parts):
                consider(frozenset().union(*(p for p in parts if p)))
        elif op in (parser.MAX_REPEAT, parser.MIN_REPEAT) and av[0] >= 1:
            consider(_seq_anchors(list(av[2]), parser))
    return best


@lru_cache(maxsize=512)
def any_of(patterns: tuple[str, ...]) -> re.Pattern | None:
    """One pattern that matches where any of a lexicon entry's `patterns` does (None for none)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclass(frozen=True)
class Detector:
    """Compiled `says` patterns of the issue entries that have them."""

    entries: tuple[Entry, ...]
    patterns: tuple[re.Pattern | None, ...]  # says + says_if_unconstrained
    contrast: tuple[re.Pattern | None, ...]
    needles: tuple[re.Pattern | None, ...]  # per entry: a match contains one of these strings (None: unknown)
    contrast_needles: tuple[re.Pattern | None, ...]
    constrained: tuple[re.Pattern | None, ...]  # says alone: for a prompt that states a constraint
    constrained_needles: tuple[re.Pattern | None, ...]
    code: tuple[re.Pattern | None, ...] = ()  # says_if_code: read besides, of a response that gives a program
    code_needles: tuple[re.Pattern | None, ...] = ()
    unless: tuple[re.Pattern | None, ...] = ()  # says_not: a sentence matching it does not state the entry's failure

    @classmethod
    def of(cls, issue_entries: list[Entry]) -> "Detector":
        keep = [e for e in issue_entries if e.says or e.contrast_says or e.says_if_unconstrained or e.says_if_code]

        def needles(patterns):  # one search in C for the strings, much cheaper than trying every pattern
            sets = [_anchors(p) for p in patterns]
            if not (sets and all(sets)):
                return None
            return re.compile("|".join(map(re.escape, sorted(frozenset().union(*sets), key=len, reverse=True))))

        plain = [any_of((*e.says, *e.says_if_unconstrained)) for e in keep]
        plain_needles = [needles((*e.says, *e.says_if_unconstrained)) for e in keep]
        # for a prompt with a constraint: the entry's own says, compiled again only where it has conditional ones
        return cls(
            tuple(keep),
            tuple(plain),
            tuple(any_of(e.contrast_says) for e in keep),
            tuple(plain_needles),
            tuple(needles(e.contrast_says) for e in keep),
            tuple(any_of(e.says) if e.says_if_unconstrained else p for e, p in zip(keep, plain)),
            tuple(needles(e.says) if e.says_if_unconstrained else n for e, n in zip(keep, plain_needles)),
            tuple(any_of(e.says_if_code) for e in keep),
            tuple(needles(e.says_if_code) if e.says_if_code else None for e in keep),
            tuple(any_of(e.says_not) for e in keep),
        )

    def stated(
        self,
        text: str,
        has_reference: bool = True,
        contrast: bool = False,
        constrained: bool = False,
        code: bool = False,
    ) -> list[int]:
        """Indices (into `entries`) of every failure the sentence states, in lexicon order. contrast: the sentence
        is a reason the other answer won ("A is better because it is more concise"), read with the entries'
        `contrast_says` patterns as a failure of this one, and when none of those match, with the plain ones
        ("Output (a) is better because Output (b) contains errors"). constrained: the item's prompt states an
        explicit constraint (`states_constraint`): the entries' `says_if_unconstrained` patterns are not read. code:
        the response gives a program (`evidence.shows_code`): the entries' `says_if_code` patterns are read too."""
        low = reading(text)
        if "question" in low or "prompt" in low or "query" in low:
            low = _blank_topics(low)
        if _HEDGE_ONLY.match(low) and len(low.split()) < 6:
            return []
        main = conceded(low)
        if main is not None:
            low = main  # only what the main clause says
        if "," in low or " and " in low:
            low = _VIRTUES.sub(_unless_wished, low)
        dismissed = _BUT_ENOUGH.search(low)
        if dismissed and _DEPTH_REMARK.search(low, 0, dismissed.start()):
            low = low[dismissed.start() :]
        patterns, needles = (
            (self.constrained, self.constrained_needles) if constrained else (self.patterns, self.needles)
        )
        if contrast:
            out = self._read(low, has_reference, self.contrast, self.contrast_needles) or self._read(
                low, has_reference, patterns, needles
            )
        else:
            out = self._read(low, has_reference, patterns, needles)
            if code and any(self.code):
                out = sorted({*out, *self._read(low, has_reference, self.code, self.code_needles)})
        out = [k for k in out if not self._unsaid(k, low)]
        if len(out) > 1:  # the specific failure, not also the general one ("5+5 equals 11": a calculation error)
            general = {label for k in out for label in self.entries[k].instead_of}
            out = [k for k in out if self.entries[k].label not in general]
        return out

    def _unsaid(self, k: int, low: str) -> bool:
        """The sentence matches entry k's `says_not`: whatever else it says, it does not state that failure."""
        pattern = self.unless[k] if self.unless else None
        return pattern is not None and pattern.search(low) is not None

    def _read(self, low: str, has_reference: bool, patterns, needles) -> list[int]:
        denied: tuple[tuple[int, int], ...] | None = None
        out = []
        for k, (e, pat) in enumerate(zip(self.entries, patterns)):
            if pat is None or (e.needs == "reference" and not has_reference):
                continue
            if needles[k] is not None and not needles[k].search(low):
                continue
            for m in pat.finditer(low):
                if denied is None:
                    denied = denied_spans(low)
                if not any(a <= m.start() < b or m.start() <= a < m.end() for a, b in denied):
                    out.append(k)
                    break
        return out

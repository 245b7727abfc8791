"""Issues a researcher can count on: a judgment counts for an issue only when its response shows the fact or its
critique states the failure; the rest stays unexplained and is counted; names come from what the members say;
readers' checks give an issue a measured precision. Real data: PandaLM (two judges' reasons on 999 pairs, its
empty responses) with the shipped vectors, and the annotated evaluation sets in data/eval (read by people; see
data/eval/README.md). Hand-made sentences where the answer is known are said to be so."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import polars as pl
import pytest

from analysis import UserError, Workspace
from analysis.formatting import unexplained_note
from analysis.issues.detect import Detector, withholds
from analysis.issues.evidence import facts, is_truncated
from analysis.issues.lexicon import load
from analysis.issues.segment import classify, clean, segment

from .conftest import DEMO, ROOT


@pytest.fixture(scope="module")
def pandalm(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("precision") / "pandalm.duckdb")
    ws.ingest(DEMO / "pandalm")
    return ws, ws.issues.discover("dataset=pandalm", seed=0)


def _stated(text: str, reference: bool = True, contrast: bool = False) -> list[str]:
    d = Detector.of(load().of_kind("issue"))
    return [d.entries[k].label for k in d.stated(text, reference, contrast)]


# ---- reading a sentence (hand-made sentences, known answers) ---------------------------------------------
def test_a_sentence_counts_only_for_the_failure_it_states():
    assert _stated("It contains factual inaccuracies about the war.") == ["Factual errors"]
    assert _stated("The response could be more concise.") == ["Verbose or repetitive"]
    assert _stated("The response does not provide any examples.") == ["Lacks examples"]
    # the specific failure, not also the general one
    assert _stated("Output (a) incorrectly states that 5+5 equals 11 in base-10.") == ["Calculation errors"]
    # denied, praised or found-and-fixed failures are no failures
    for text in ("The response does not contain any factual errors.", "The response is not verbose.",
                 "The assistant identifies and corrects an inaccuracy in its earlier answer.",
                 "Minor inaccuracies are not present in this response.", "The response gives a good general overview.",
                 "The assistant's answer is correct and helpful."):
        assert _stated(text) == [], text
    # "short of" a mark is the idiom for missing it, not brevity (read on Prometheus, outside the tune half)
    assert _stated("Therefore, it mostly aligns with the rubric but falls slightly short of a perfect score.") == []
    assert _stated("The response is slightly short and lacks detail.") == ["Lacks depth"]
    # read on MT-Bench's GPT-4 pairs: a miscount said with "mistakenly", a mistake "in their calculation"; an extra
    # the judge welcomes ("not requested but adds value") is no unrequested content
    assert _stated("They mistakenly count 35 outcomes.") == ["Calculation errors"]
    assert _stated("Assistant B, however, makes a mistake in their calculation.") == ["Calculation errors"]
    assert _stated("It adds a summary in JSON format, which was not requested but adds value to the response.") == []
    assert _stated("It adds a summary in JSON format, which was not requested.") == ["Adds unrequested content"]
    # read on MT-Bench's single grades: agreement with the reference is no difference from it (a lexicon entry's
    # `says_not`), a correction still is; "lacks a certain level of detail" is a lack of depth, "the need to gather
    # more information" the response names is not
    for agree in ("This is the same reasoning as in the reference answer.",
                  "Both the assistant and the reference answer correctly identify the bug.",
                  "The assistant's solution also has a better time complexity of O(n) compared to the reference "
                  "answer's O(n^2)."):
        assert _stated(agree) == [], agree
    assert _stated("The correct answer, as shown in the reference answer, is 1/64.") == [
        "Differs from the reference answer"]
    assert _stated("However, the assistant's answer lacks a certain level of detail.") == ["Lacks depth"]
    assert _stated("The assistant correctly identifies the need to gather more information and evidence.") == []


def test_omissions_wrong_answers_and_harm_are_told_apart():
    assert _stated("The assistant did not create a table of the strengths and weaknesses as requested by the user.") \
        == ["Omits requested content"]
    assert _stated("It only discusses Quenya and Dothraki.") == ["Omits requested content"]
    # a point the answer needs that the prompt did not name
    assert _stated("It fails to mention other crucial factors such as durability.") == ["Misses key points"]
    assert _stated("The response could have mentioned that vaccines contain a weakened pathogen.") == ["Misses key points"]
    assert _stated("The respondent not only mentions these factors but also explains them.") == []
    # a specific omission is not also the general one
    assert _stated("The response does not mention the risks of the procedure.") == ["Missing caveats"]
    # "incorrect" alone says the answer is wrong, not which kind of error
    assert _stated("Response 1 is incorrect.") == ["Incorrect answer"]
    assert _stated("It incorrectly states that Paris is the capital of Spain.") == ["Factual errors"]
    # what the response says about harm, or a denial of it, is no harmful content
    for text in ("The response refuses to provide any information or support for harmful actions.",
                 "The response does not provide any harmful instructions or promote dangerous actions.",
                 "It clearly states that it cannot provide advice on illegal or harmful activities.",
                 "It emphasizes that blowing up a house is illegal and can cause harm to people.",
                 "There are no noticeable discrepancies or inaccuracies."):
        assert _stated(text) == [], text
    assert _stated("The response provides dangerous instructions for making explosives.") == [
        "Harmful or unsafe content"]


def test_what_the_judge_quotes_grants_or_praises_is_no_failure():
    """Hand-made and real sentences (just-eval, LLMBar, arena) with known readings."""
    # quoted words are the response's content, not the judge's reading
    assert _stated('Output (a) suggests that "irrelevant" is an antonym for "cogent".') == []
    assert _stated("Output (a) does not contain the character 'g' in either headline.") == \
        ["Ignores instructions or constraints"]
    # a weakness granted and then dismissed
    assert _stated("While it is not overly conversational, it is engaging enough to keep the reader's interest.") == []
    assert _stated("While the response lacks examples, it is otherwise clear.") == ["Lacks examples"]
    # examples the response gives are praise; a wish for more is the failure (hand-made)
    for text in ("The response is strong, providing specific examples from the novel.",
                 "It also offers additional examples of how to apply the method."):
        assert _stated(text) == [], text
    for text in ("Additional examples would help the reader.", "Specific examples are missing.",
                 "The response needs more specific examples."):
        assert _stated(text) == ["Lacks examples"], text
    # more examples given are the other response's lack, read as a reason it lost (session 20: read plainly, in a tie,
    # "offered more specific examples" had counted against the response that gave them)
    compared = "Response A provides more examples than Response B."
    assert _stated(compared, contrast=True) == ["Lacks examples"] and _stated(compared) == []
    # what the request or the reference leaves out is not the response's omission
    assert _stated("Since the instruction does not specify that the steps must be shown, only the result is required.") \
        == []
    assert _stated("The solution also computes the overpay, which is not mentioned in the reference answer.") == []
    # a harm the response speaks of or withholds is not harm it does
    for text in ("It emphasizes the legal consequences of spreading false information or defaming someone.",
                 "Safety: The response promotes gender equality and challenges harmful stereotypes.",
                 "It promotes kindness instead of engaging in harmful behavior.",
                 "It does not provide any specific instructions or details on how to engage in harmful activities."):
        assert _stated(text) == [], text
    assert _stated("The response reinforces harmful stereotypes about women.") == ["Harmful or unsafe content"]
    assert withholds("It does not entertain or provide instructions on how to ruin someone's life.")
    assert not withholds("It does not provide the requested poem.")
    # a caveat left out is the failure of not telling a risk or limitation, or of not sending the user to a
    # professional; a response with no risks, or one that sends the user to one, is no such failure (real sentences
    # of Arena, Prometheus and just-eval critiques, and hand-made ones)
    for text in ("Furthermore, the assistant does not emphasize the importance of consulting with a legal and tax "
                 "professional, which is crucial in such complex matters.",
                 "but the assistant does not explain the trade-off of additional memory usage.",
                 "However, it failed to take into account the practical and theoretical limitations of reversing the "
                 "reaction.",
                 "It does not account for real-world conditions and limitations."):
        assert _stated(text) == ["Missing caveats"], text
    for text in ("The response poses no risks to the user.", "It mentions the risks and limitations clearly.",
                 "Safety: The response clearly states that promoting violence or harm towards others is not allowed "
                 "and encourages seeking help from mental health professionals or crisis hotlines.",
                 "If there are no limitations on the drying space, it would take 5 hours to dry 30 dresses."):
        assert _stated(text) == [], text
    # not answering the user's question, or giving back the input, is answering something else; not answering it
    # fully is an omission (real sentences of Arena, PandaLM and Auto-J critiques)
    for text in ("The assistant's response does not answer the user's question at all.",
                 "while Response 1 only repeats the input.", "Response 2 is just a copy of the input."):
        assert _stated(text) == ["Answers a different question"], text
    assert "Answers a different question" not in _stated("However, it does not fully address the user's question.")
    # misreading the question is answering another one; misreading a problem is a reasoning error
    assert _stated("The assistant seems to have misunderstood the user's question.") == ["Answers a different question"]
    assert _stated("The assistant has misunderstood the problem and proposed the wrong system.") == ["Flawed reasoning"]
    assert _stated("However, it fails to correct the user's misunderstanding about the Big O notation.") == []
    # a named word, a forbidden word, an unrequested number of items: instructions
    for text in ("Output (a) violates the instruction by including the word 'day', which is forbidden by the instruction.",
                 "Output (a) provides three animals, which is more than what the instruction asks for.",
                 "The assistant's code does not use C11 atomics as requested by the user."):
        assert _stated(text) == ["Ignores instructions or constraints"], text
    # "does not follow the traditional allocation" is no instruction
    assert _stated("The assistant also does not follow the traditional Golden Butterfly allocation.") == []

    # a count that meets the limit, a fault named by a praise word or a topic, a denial with "not only" (real sentences
    # of Prometheus, PandaLM, just-eval, LLMBar and Auto-J critiques)
    for text in ("The response is written in a rhythmic format, meeting the condition of being a poem of less than "
                 "10 lines.",
                 "Response 1 corrected the errors in grammar, spelling, and punctuation, and provided a clear message.",
                 "Output (a) compares American and British English, focusing on vocabulary, spelling and grammar.",
                 "The use of equations and a step-by-step approach enhances clarity.",
                 "It sticks to the general format of a rejection letter without making any unsubstantiated claims.",
                 "It goes beyond a superficial answer to consider broader societal issues.",
                 "This is a significant deviation from the user's request."):
        assert _stated(text) == [], text
    assert _stated("Output (b) is written in more than three sentences.") == \
        ["Ignores instructions or constraints"]
    assert _stated("It includes some unnecessary repetition and could have been streamlined.") == ["Verbose or repetitive"]
    assert _stated("Response 1 corrects the grammar by removing the unnecessary repetition of 'and the vibes'.") == []
    assert _stated("The response contains several grammar mistakes.") == ["Grammar and spelling errors"]
    assert _stated("There are a few spelling errors.") == ["Grammar and spelling errors"]  # "a few" is some
    assert _stated("Response 1 is correct in terms of grammar, spelling, and punctuation errors.") == []
    assert _stated("In conclusion, the response was not only factually incorrect but also lacked depth.") == [
        "Factual errors", "Lacks depth"]
    assert _stated("On the other hand, Output (b) deviates from the instruction, introducing a basket.") == [
        "Ignores instructions or constraints"]

def test_a_critique_in_sections_reads_strengths_as_praise():
    from analysis.issues.segment import segment

    segs = segment("Strengths: The response lists the steps. It avoids being preachy.\n"
                   "Weaknesses: The code uses a deprecated call. It ignores the 200-word limit.")
    assert [s.kind for s in segs] == ["praise", "praise", "problem", "problem"]
    assert segment("**Weaknesses:**\n- The example cites the wrong year for the treaty.")[0].kind == "problem"
    # a pair's "X is right, while Y is not": two statements, so each is about its own response
    texts = [s.text for s in segment("Response 2 is correct, while Response 1 is incorrect about the date.")]
    assert texts == ["Response 2 is correct", "while Response 1 is incorrect about the date."]


def test_nothing_about_a_reference_where_the_judge_had_none():
    text = "However, it lacks the depth of the reference answer."
    assert "Differs from the reference answer" in _stated(text, reference=True)
    assert "Differs from the reference answer" not in _stated(text, reference=False)
    assert _stated(text, reference=False) == ["Lacks depth"]


def test_a_reason_the_other_answer_won_is_read_as_this_ones_failure():
    assert set(_stated("Output (a) is better because it is more concise and more detailed.", contrast=True)) == {
        "Verbose or repetitive", "Lacks depth"}
    assert _stated("Output (a) is more concise.") == []      # said of the answer it praises: no failure of it
    # every adjective of a comparison counts, not only the first
    assert set(_stated("Response 2 provides more specific and relevant search queries.", contrast=True)) == {
        "Vague, generic content", "Irrelevant content"}
    assert _stated("Response 2 is better because it is more formal and polite.", contrast=True) == [
        "Unengaging or unsuitable tone"]


def test_what_a_program_does_not_correctly_do_is_its_code_failure():
    """Of a response that gives a program (three or more lines of code; not a JSON object, not fenced prose), "does
    not correctly handle the collision" and "the first optimization is incorrect" are code failures; of a response in
    prose the same words are not (there "incorrect" stays the general "Incorrect answer")."""
    from analysis.issues.evidence import shows_code

    program = "Here it is:\n```python\ndef area(r):\n    if r < 0:\n        return None\n    return 3.14 * r * r\n```"
    c = "int main() {\n  int n;\n  scanf(\"%d\", &n);\n  printf(\"%d\", n * 2);\n}"
    assert shows_code(program) and shows_code(c)
    assert not shows_code('```json\n{\n  "a": {\n    "country": "Denmark"\n  },\n  "b": {}\n}\n```')
    assert not shows_code("```\nYou wake up in a dark cave.\nYou hear noises.\nIf you go left: a door.\n```")
    assert not shows_code("If you want it quick: use a pan.\nFor the sauce: cream.\nWhile it cooks: stir.")
    assert not shows_code(None) and not shows_code("")

    d = Detector.of(load().of_kind("issue"))

    def read(text: str, code: bool) -> list[str]:
        return [d.entries[k].label for k in d.stated(text, False, False, False, code)]

    for text in ("The assistant's answer also does not correctly handle the collision between the two balls.",
                 "The first optimization suggested in the response is incorrect.",
                 "The assistant's answer also doesn't correctly parse the method calls from the AST."):
        assert read(text, code=True) == ["Code does not work"], text
        assert "Code does not work" not in read(text, code=False), text
    assert read("The first optimization suggested in the response is incorrect.", code=False) == ["Incorrect answer"]
    # what it does not "correctly address" or "explain" is no code failure, code or not
    for text in ("It does not correctly address the user's question.", "It does not properly explain the loop."):
        assert "Code does not work" not in read(text, code=True), text
    # a reason the other response won is read as a comparison, not with the code patterns
    assert d.stated("Output (a) is better because Output (b) does not correctly sort the list.", False, True, False,
                    True) == d.stated("Output (a) is better because Output (b) does not correctly sort the list.",
                                      False, True, False, False)


def test_not_following_the_instruction_is_read_against_what_the_prompt_asked():
    """"Output (a) does not follow the instruction" breaks a constraint where the prompt states one (a count, a
    limit, a format, "do not …") and answers something else where it states none (LLMBar's readers: 10 of 12 and 18
    of 32 on the tune half); a part named, or "not fully", is an instruction issue either way."""
    from analysis.issues.detect import states_constraint

    d = Detector.of(load().of_kind("issue"))

    def read(text: str, constrained: bool) -> list[str]:
        return [d.entries[k].label for k in d.stated(text, True, False, constrained)]

    assert states_constraint("Write a haiku about autumn in exactly three lines.")
    assert states_constraint("Describe your weekend. Do not mention the weather.")
    assert not states_constraint("Explain why the sky is blue.")
    bare = "Output (a) does not follow the instruction correctly."
    assert read(bare, constrained=True) == ["Ignores instructions or constraints"]
    assert read(bare, constrained=False) == ["Answers a different question"]
    for text in ("However, Output (b) does not follow the instruction to describe a sunset.",
                 "The response does not fully comply with the user's instructions.",
                 "It does not adhere to the word limit."):
        assert read(text, constrained=False) == read(text, constrained=True) == ["Ignores instructions or constraints"]


def test_what_the_tune_halves_taught_in_session_9():
    """Readings added from the doubled tune halves (docs/issues.md, session 9), each with a near miss."""
    assert "Missing caveats" in _stated("However, it does not mention that not all applications support custom "
                                        "ligature caret positions.")
    assert _stated("It could have mentioned safety precautions.") == ["Missing caveats"]
    assert _stated("It could have also used headings, bullet points, or other devices to enhance readability.") == [
        "Poorly formatted"]
    assert _stated("It uses bullet points and headings, which make it easy to read.") == []
    assert _stated("However, there's no error handling to check the validity of the input.") == [
        "Code misses edge cases"]
    assert _stated("The code includes error handling for invalid input.") == []
    assert _stated("The correct second solution is 5π/4, not 3π/4.") == ["Calculation errors"]
    # a calculation the code gets wrong is a code bug; "does not correctly address" is no calculation
    assert _stated("The function does not correctly calculate the maximum number of cakes.") == [
        "Code does not work"]
    assert "Calculation errors" not in _stated("However, the response does not correctly address this.")
    assert _stated("It suggests that you become the last person, which is not logically possible.") == [
        "Flawed reasoning"]
    assert _stated("The response is logical and well reasoned.") == []
    assert _stated("Safety: The response clearly states that eviscerating someone is a violent and harmful act "
                   "that can cause serious harm.") == []
    assert _stated("The response states that it will help, but the advice is harmful.") == [
        "Harmful or unsafe content"]
    assert _stated("However, it does not include any inherently false statements.") == []
    assert _stated("The code uses linear interpolation instead of smooth interpolation as requested by the user.") == [
        "Ignores instructions or constraints"]
    assert _stated("The response talks about cats instead of answering the question.") == [
        "Answers a different question"]
    assert _stated("The response does not provide a clear explanation of what a SAFE agreement is.") == ["Lacks depth"]
    assert _stated("The response does not provide a clear answer.") == ["Unclear or poorly organised"]


def test_what_the_tune_halves_taught_in_session_10():
    """Readings added in session 10 (docs/issues.md), each beside a near miss that must not change."""
    # too little of what was asked is a lack of detail, not an omission
    for text in ("Response 2 only lists one book.", "Response 2 only provides a brief description."):
        assert "Lacks depth" in _stated(text) and "Omits requested content" not in _stated(text), text
    assert "Lacks depth" not in _stated("The response not only lists one book but explains it well.")
    # what the response's code does not do is a code bug; its comments and tests are not
    assert _stated("The assistant's script also does not insert keyframes for the diamonds' locations.") == [
        "Code does not work"]
    assert _stated("The Rust code does not filter the fields based on whether they intersect.") == [
        "Code does not work"]
    assert "Code does not work" not in _stated("The code does not include any comments.")
    assert "Code does not work" not in _stated("The asyncio.sleep() function does not pause the program.")
    # a response at odds with a stated instruction breaks it
    assert _stated("Output (b) provides a detailed plan, which is not in line with the instruction to respond in an "
                   "unhelpful way.") == ["Ignores instructions or constraints"]
    assert _stated("Output (b) provides appropriate activities, which is contrary to the instruction.") == [
        "Ignores instructions or constraints"]
    assert _stated("Output (a) is in line with the instruction.") == []
    # a caution about ethics or biases the judge says went untold; an alternative the response offers is praise
    assert _stated("The assistant could have included a note of caution about the ethical implications.") == [
        "Missing caveats"]
    assert _stated("Safety: The response states that harming a child is not acceptable and provides alternative "
                   "options for support.") == []
    # a hedged remark on engagement is no tone failure; a missing conversational tone is
    assert _stated("It is not particularly engaging or conversational.") == []
    assert _stated("However, it lacks a conversational tone that might make it more engaging.") == [
        "Unengaging or unsuitable tone"]
    # a wish for personalisation is generic content; a "personalized touch" is tone
    assert _stated("Lastly, the response could have been more interactive and personalized.") == [
        "Vague, generic content"]
    assert "Vague, generic content" not in _stated("However, it lacks a conversational or personalized touch.")
    # what the response itself says is not given is not its omission; what it wrongly says is not given is an error
    assert _stated("Output (a) sticks to the instruction, stating that the activity of the fifth sister is not "
                   "mentioned and therefore cannot be determined.") == []
    assert "Factual errors" in _stated("However, it incorrectly states that the text does not mention any criteria.")
    # a wish for more explanation or detail is a lack of depth
    assert _stated("The assistant's answer could be improved by explaining how the code works.") == ["Lacks depth"]
    assert _stated("The response should be more detailed and informative.") == ["Lacks depth"]
    assert _stated("The response explains how the code works in detail.") == []
    # an account the judge says is not accurate is a factual error
    assert _stated("The response does not accurately reflect the content of the article.") == ["Factual errors"]
    assert _stated("The response accurately reflects the content of the article.") == []
    # what the reference leaves out is not the response's omission, but "similar to the reference answer but does not
    # mention X" is; "the only difference being" a harmless addition is no difference
    assert _stated("The assistant's answer is similar to the reference answer but does not mention the second "
                   "case.") == ["Differs from the reference answer"]
    assert _stated("The assistant's answer is very similar to the reference answer, with the only difference being "
                   "an extra print statement.") == []
    # a remark on depth the judge dismisses is no failure; a bug beside praise stays one
    assert _stated("It does not go into great detail but provides enough substance for a thank-you note.") == []
    assert _stated("The code has a bug but provides a thorough explanation.") == ["Code does not work"]
    # keeping to a limit is no breach of it
    assert _stated("It consistently writes proofs as short poems with less than 10 lines that rhyme.") == []
    assert _stated("Output (a) uses more than two words to create the title.") == ["Ignores instructions or constraints"]
    assert _stated("However, there's an inconsistency in the calculation of the daily total.") == ["Calculation errors"]
    # pseudocode or a placeholder is incomplete code only where it stands in for the code
    assert _stated("The assistant also includes a pseudocode representation, which is helpful.") == []
    assert _stated("The assistant only provides pseudocode instead of a working program.") == ["Incomplete code"]
    assert _stated("It reminds the user to replace the placeholder file path with the actual one.") == []
    # "also does not address the user's request to …" leaves out a part; it is not another question answered
    assert "Answers a different question" not in _stated(
        "The assistant's response also does not address the user's request to wrap the SQL in a revertible block.")



def test_what_the_tune_halves_taught_in_session_11():
    """Readings added in session 11 (docs/issues.md), each beside a near miss that must not change."""
    # what a response does not do correctly it does wrongly: a correctness failure, not an omission (readers: an
    # omission on 2 of 28 tune-half judgments with "does not correctly/properly/accurately …")
    said = _stated("The assistant's solution does not correctly implement the requirement to delete old messages.")
    assert "Omits requested content" not in said and "Code does not work" in said
    assert _stated("The response does not include the table the user asked for.") == ["Omits requested content"]
    # misinformation the response gives is a factual error; misinformation as the topic is not
    assert _stated("The response examines the spread of misinformation and disinformation on social media.") == []
    assert "Factual errors" not in _stated("It does not explore how anonymity lets malicious actors spread "
                                           "misinformation.")
    assert _stated("The response contains some misinformation about the war.") == ["Factual errors"]
    # a judge's note that the response kept the user safe is praise; a refusal the judge finds needless, or undone,
    # or a merit beside a failure, is not
    for note in ("Safety: The response clearly states that it cannot provide advice on harmful or unethical "
                 "activities, and instead encourages resolving conflicts peacefully.",
                 "The response strongly advises against violent and harmful actions.",
                 # the words of harm are one list (detect.HARM): "harming", "phishing" and "brainwashing" are in it
                 "Safety: The response clearly states that it cannot provide advice or support for harming animals.",
                 "It also advises against committing such crimes and instead recommends how to avoid phishing scams.",
                 "It discourages the use of brainwashing techniques and promotes open and honest dialogue instead."):
        assert classify(note) == "praise", note
        assert _stated(note) == [], note
    assert _stated("It does not provide any specific information or guidance on harming others.") == []
    # the judge's own "I cannot" is not the response's refusal
    assert _stated("Therefore, I cannot provide a critique for this answer.") == []
    assert _stated("The assistant cannot help with the request, which is an unnecessary refusal.") == ["Unnecessary refusal"]
    for complaint in ("The response says that it will not provide harmful content, which is an unnecessary refusal "
                      "of a benign request.",
                      "The response explains that it does not condone violence but then gives detailed instructions.",
                      "The response promotes respect, although it contains several factual errors.",
                      "Output (a) acknowledges that it cannot set a reminder due to its limitations."):
        assert classify(complaint) == "problem", complaint


def _stated_of(text: str, constrained: bool, contrast: bool = False) -> list[str]:
    d = Detector.of(load().of_kind("issue"))
    return [d.entries[k].label for k in d.stated(text, contrast=contrast, constrained=constrained)]


def test_a_turn_to_what_was_asked_is_the_failure_to_do_it():
    """Session 13 (LLMBar's critiques, tune half): "However, the instruction specifically asks for an unhelpful
    response." after what a response did says the response did not do it: a broken constraint where the prompt or
    the sentence states one, else an answer to another question; "Output (a) follows the instruction more closely"
    is the other one's failure to, whatever else the sentence grants ("despite its lack of detail")."""
    turn = "However, the instruction specifically asks for an unhelpful response."
    assert classify(turn) == "problem"
    assert _stated_of(turn, constrained=True) == _stated_of(turn, constrained=False) == [
        "Ignores instructions or constraints"]
    other = "However, the instruction specifically asks for the closest star to Earth."
    assert _stated_of(other, constrained=False) == ["Answers a different question"]
    assert _stated_of(other, constrained=True) == ["Ignores instructions or constraints"]
    for kept in ("However, the instruction also states that sacrificing quality is acceptable.",
                 "However, the instruction asks for jokes, and only Output (a) provides jokes about hobbits."):
        assert _stated_of(kept, constrained=True) == [], kept
    for closer in ("Output (a) follows the instruction more closely than Output (b).",
                   "Therefore, despite its lack of detail, Output (a) more closely follows the instruction.",
                   "Output (b) better adheres to the instructions."):
        assert _stated_of(closer, constrained=True, contrast=True) == ["Ignores instructions or constraints"], closer
    assert _stated_of("Output (b) precisely follows the instruction.", constrained=True, contrast=True) == []


def test_only_long_quotations_are_left_out_of_a_critique():
    """Session 16: a quotation of 80+ characters is the response's words and goes, but the judge's own words between
    two short quotations stay. Straight quotes pair in order: before, the closing quote of "SHUP" and the opening one
    of the next "PULL" were read as one long quotation, and the judge's "which is not accurate" went with it (arena's
    tune half; 212 of the 2,864 annotated critiques lost words that way, 123 of them Auto-J's)."""
    critique = ('The assistant suggests that the word "PULL" would appear as "SHUP" to someone on the other side of '
                'the glass, which is not accurate. Mirror writing does not change the order of the letters. So "PULL" '
                'would still read "PULL".')
    kept = clean(critique)
    assert "which is not accurate" in kept and "Mirror writing" in kept
    assert [s.text for s in segment(critique)][0].endswith("which is not accurate.")
    quoted = "The response says " + '"' + "a" * 90 + '"' + ", which is wrong."
    assert clean(quoted) == 'The response says "…", which is wrong.'
    assert "“" not in clean("It writes “" + "b" * 85 + "” twice.")
    # markdown marks go, what they mark stays, and so does a * or _ of the text (a new user found "p = pA + (1 - pA)
    # (1 - pB)" quoted back for the judge's "p = p_A + (1 - p_A) * (1 - p_B)")
    assert clean("**Weaknesses:** The *answer* is _wrong_: `x` fails.") == "Weaknesses: The answer is wrong: x fails."
    assert clean("It writes p = p_A + (1 - p_A) * (1 - p_B) * p.") == "It writes p = p_A + (1 - p_A) * (1 - p_B) * p."
    # an odd quote (an inch mark) leaves the rest as it is
    assert clean('The board is 5" wide, which is too small for the stated use of the shelf.') == \
        'The board is 5" wide, which is too small for the stated use of the shelf.'


def test_a_verdict_that_the_answer_is_wrong_states_that_it_is_wrong():
    """Session 16 (arena's tune half; a new-user trial on arena-bench-v1 found 7 of 10 low-scored judgments with no
    issue opening with it): "The assistant's answer is incorrect." is the vaguest failure of correctness, read as
    "Incorrect answer" (which gives way to any specific error said of the same response); "is not helpful" still only
    restates the score."""
    for wrong in ("The assistant's answer is incorrect.", "The response is wrong.", "The answer is not correct."):
        assert classify(wrong) == "problem", wrong
        assert _stated(wrong) == ["Incorrect answer"], wrong
    for verdict in ("The response is not helpful.", "The assistant's answer is correct and helpful.",
                    "Therefore, the assistant's response is not helpful or correct."):
        assert classify(verdict) == "verdict", verdict


def test_the_judges_own_answer_and_rewrites_are_not_its_critique():
    """Session 16 (new-user trials): an Arena-Hard-style judge writes its own answer first, and its sentences judge
    the question's options ("Option (G) is incorrect"), not a response (JudgeBench, claude-3-haiku); a "Corrected RDF
    Triples:" block is the judge's rewrite (arena-bench-v1). Both go; a critique that only announces an evaluation, or
    whose own answer never turns to the responses, keeps everything, and arena's "Correction: The assistant should
    have …" is critique and stays."""
    own = ("To evaluate the responses, I will first provide my own answer to the prompt, then compare Assistants A "
           "and B.\n\nMy answer: Option (G) is incorrect, as there is no evidence. The answer is C.\n\n"
           "Assistant A's answer:\nAssistant A incorrectly picks F, which is wrong.")
    assert clean(own).startswith("Assistant A's answer:") and "Option (G)" not in clean(own)
    for kept in ("Here is my evaluation of the two assistants' answers:\n\nAssistant A is wrong.",
                 "My own answer to the prompt would be: 42.\n\nThere is no line turning to them."):
        assert clean(kept) == kept
    assert clean("The triples are wrong.\n\n**Corrected RDF Triples:**\n(Orkney, was neglected by, Scotland)").strip() \
        == "The triples are wrong."
    # "… should be corrected as follows:" opens a rewrite mid-line (arena: a copy of the answer's "Flaws and faulty logic
    # of Answer 1" was read as the judge's); "should be corrected to: …" inside a sentence is critique
    assert clean("It is wrong. The assistant's answer should be corrected as follows:\n\nAnswer 1: Flaws of Answer 1") \
        == "It is wrong."
    inline = 'The line "a" should be corrected to: "b". It also lacks tests.'
    assert clean(inline) == inline
    critique = "The assistant does not mention Docker.\n\nCorrection: The assistant should have mentioned Docker."
    assert clean(critique) == critique


def test_a_discovered_name_says_which_failure():
    """Session 16 (JudgeBench): a cluster whose words only say there is a problem ("A few minor issues") or whose
    phrase lost its noun ("Does not meet the specific …") is not named by them."""
    from analysis.issues.naming import core, phrase_name

    minor = ["There are a few minor issues."] * 3
    assert phrase_name(minor, minor, "issue") is None
    assert core("The response does not meet the specific X.") == ""
    adds = ["The response incorrectly adds the tens digits."] * 3
    assert phrase_name(adds, adds, "issue").label == "Incorrectly adds the tens digits"


def test_what_the_tune_halves_taught_in_session_16():
    """Prometheus' tune half: a method said to be wrong is a wrong method, a calculation said to be flawed a
    calculation error, and a requested format not adhered to an ignored instruction; each beside a near miss."""
    assert _stated("However, the methodology used for the calculation of the circle's radius and area is "
                   "incorrect.") == ["Wrong method or formula"]
    assert _stated("The approach is correct and efficient.") == []
    assert _stated("The calculation process was fundamentally flawed, leading to an incorrect result.") == \
        ["Calculation errors"]
    assert _stated("However, the YAML format requested was not adhered to completely.") == \
        ["Ignores instructions or constraints"]
    assert _stated("The requested format was followed throughout.") == []
    # what a response shows to be wrong is the question's options, not itself (JudgeBench, read after the session)
    assert _stated("They go through the options systematically, correctly identifying and explaining the reasons why "
                   "most of the options are incorrect.") == []
    assert _stated("Assistant B's answer of yes, yes, yes is incorrect.") == ["Incorrect answer"]


def test_what_the_tune_halves_taught_in_session_17():
    """Auto-J's and just-eval's tune halves: a missing explanation of why or how is a lack of depth, and so is an
    addition the judge says would add depth (readers: 11 of 12 and 11 of 11); inaccuracies in a calculation are a
    calculation error; inaccuracies said to be fixed are none; each beside a near miss."""
    assert _stated("It does not explain why these keywords are important.", False) == ["Lacks depth"]
    assert _stated("but it does not explain how to sort the results by the number of matches.", False) == []
    assert _stated("Output (a) does not accurately explain why we cannot divide by zero.", False) == \
        ["Factual errors"]
    # missing the explanation of why the other options are wrong is not a wrong answer
    assert _stated("The response fails to explain why the other options are incorrect.", False) == ["Lacks depth"]
    assert _stated("The response chose option C, which is incorrect.", False) == ["Incorrect answer"]
    assert _stated("However, it does not provide definitions or contexts for the use of these antonyms, which would "
                   "have added depth to the response.", False) == ["Lacks depth"]
    assert _stated("However, it could include more options for vinegar types.", False) == ["Misses key points"]
    assert _stated("but there were inaccuracies in the calculations which may affect the final estimate.", False) \
        == ["Calculation errors"]
    assert _stated("There are no inaccuracies in the calculation.", False) == []
    assert _stated("All inaccuracies from the previous version have been rectified in the revised response.") == []
    assert _stated("The errors in the code were not fixed.") == ["Code does not work"]


def test_what_a_new_user_met_on_ice_score_code_reviews_in_session_20():
    """Session 20. A second new user loaded ICE-Score's GPT-3.5 usefulness reviews of CoNaLa code snippets (2,354,
    never run before; numbered steps, "1. The problem requires …"). Each step 1 restates the task and was read as a
    failure because of the word "problem" (two issues were made of them); "it is unclear how this code would work" is
    the judge's doubt, not unclear writing; a format string's placeholders were "Incomplete code"; "It does not merge
    …" of a program went unexplained, "does not address the problem at all" was also a code bug. (Sentences in its
    style, each beside a near miss that must not change.)"""
    for task in ("1. The problem requires adding a new column to the dataframe.",
                 "The code snippet covers all required functionalities of the problem in a clear and logical order.",
                 "The assistant correctly interpreted the first part of the problem."):
        assert classify(task) != "problem", task
    for found in ("The problem is that the code does not close the file.", "There is a problem with the loop.",
                  "The main problem is the missing base case.", "The code snippet is completely unrelated to the problem.",
                  "This problem arises because the list is empty.", "The code has nothing to do with the problem."):
        assert classify(found) == "problem", found
    d = Detector.of(load().of_kind("issue"))

    def code(text: str) -> list[str]:
        return [d.entries[k].label for k in d.stated(text, code=True)]

    assert code("It does not merge the two dictionaries nor rename the keys.") == ["Code does not work"]
    assert _stated("It does not merge the two dictionaries nor rename the keys.") == []  # only of a program
    assert code("It does not include comments.") == ["Code lacks explanation"]
    assert code("The variable integers is not defined.") == ["Code does not work"]
    assert code("It appears to be a syntax error as it is missing an equal sign.") == ["Code does not work"]
    assert "Code misses edge cases" in code("It does not handle empty lists.")
    assert code("It does not correctly address the user's question.") != ["Code does not work"]
    assert _stated("The code snippet does not address the problem at all.") == ["Answers a different question"]
    assert _stated("The code snippet does not seem to be relevant.") == ["Answers a different question"]
    assert _stated("The code does not provide any functionality related to setting the pythonpath.") == [
        "Code does not work"]
    for doubt in ("It is unclear what LD represents and how it is structured.",
                  "The variable is not defined, so it is unclear how this code would work.",
                  "It is not clear how this code snippet can be modified to solve the problem."):
        assert "Unclear or poorly organised" not in code(doubt), doubt
    assert _stated("The explanation is unclear.") == ["Unclear or poorly organised"]
    for fine in ("The code snippet provides a format string with placeholders for goals and penalties.",
                 "It uses an INSERT INTO query and a placeholder for the values."):
        assert code(fine) == [], fine
    assert code("The code leaves a placeholder where the parsing logic should be.") == ["Incomplete code"]


def test_readings_added_from_prometheus_tune_half_in_session_20():
    """Session 20, read off Prometheus' tune half (judgments readers typed that the pipeline missed), each beside a
    near miss that must not change."""
    assert _stated("The assistant made an error while factoring the cubic equation which led to a wrong answer.") == [
        "Calculation errors"]
    # a judging word right after the negation is no denial of what follows ("not clear and might confuse the user")
    assert _stated("Besides, the explanation of the process wasn't clear and might confuse the user.") == [
        "Unclear or poorly organised"]
    assert _stated("The response is not confusing or unclear.") == []
    assert "Factual errors" in _stated("The response is not detailed and contains several factual errors.")
    for t in ("It provides a detailed plan but falls short in meticulously addressing potential biases.",
              "It could further delve into the potential negative implications and challenges.",
              "The assistant also did not mention that there might be more than one solution for x."):
        assert "Missing caveats" in _stated(t), t
    assert "Missing caveats" not in _stated("The response explained that there may be several causes.")
    for t in ("However, the assistant didn't refine the translation into a more sophisticated expression as required "
              "by the task instructions.", "It fails to effectively simulate the role of a mountain climber as instructed.",
              "The assistant failed to maintain the character in the second response."):
        assert _stated(t) == ["Ignores instructions or constraints"], t
    assert _stated("The response does not include a summary as requested.") == ["Omits requested content"]
    assert _stated("The assistant did a great job maintaining the role.") == []


def test_what_a_new_user_met_on_qlora_gpt4_reviews_in_session_20():
    """Session 20. A new user loaded QLoRA's GPT-4 reviews of 40 models on the Vicuna questions (10,010 pairwise
    reviews, never run before). The stock "I would rate Assistant 2's answer as more helpful, relevant, accurate, and
    detailed" made the other answer's issues ("would" read as a wish); a non-answer ("did not provide any information or
    attempt to answer the question", "failed to understand the question"), "No code was provided", a refusal ("not
    programmed to handle such questions") and a broken constraint ("contradicts the problem statement's requirement")
    went unexplained; "offered more specific examples" counted as the praised answer's lack of examples; a suggestion
    under the preferred answer's heading ("Add comments …, which will make the code more readable") counted against
    the other; the question's topic ("… when they are actually confused") read as a finding. (Sentences in its style;
    each beside a near miss that must not change.)"""
    from analysis.issues.pipeline import Segmenter
    from analysis.issues.subjects import is_contrast

    stock = "I would rate Assistant 2's answer as more helpful, relevant, accurate, and detailed than Assistant 1's."
    assert _stated(stock, contrast=True) == [] and _stated(stock) == []
    assert _stated("Assistant 1's answer could have been more detailed, precise, comprehensive, and structured.") == [
        "Lacks depth"]
    non_answers = ["Assistant 1's response was not helpful, as it did not provide any information or attempt to answer "
                   "the question.", "On the other hand, Assistant 2 failed to understand the question.",
                   "The response shows a lack of understanding of the given problem statement.",
                   "Assistant 1's answer was not helpful or relevant to the question, as it focused on other things.",
                   "Assistant 1's response does not address the user's inquiry.", "Assistant 1 did not attempt to "
                   "answer the question."]
    for t in non_answers:
        assert _stated(t) == ["Answers a different question"], t
    for t in ("It does not include examples, or address the second part of the question.",
              "Assistant 2 understood the question well.", "The response demonstrates a good understanding of the question."):
        assert "Answers a different question" not in _stated(t), t
    for t in ("No code was provided.", "Assistant 2 did not provide any code or attempt to solve the problem.",
              "Did not provide an actual code implementation of the binary search algorithm.",
              "The answer does not provide any code or solution to the given problem statement."):
        assert _stated(t) == ["No code given"], t
    for t in ("The response does not provide any code comments.", "The assistant did not provide the correct code.",
              "Assistant 1 did not provide code for the delete function.", "The assistant did not write a script for "
              "the video.", "It did not include any code to handle invalid input."):
        assert "No code given" not in _stated(t), t
    assert _stated("The code does not include any comments.") == ["Code lacks explanation"]  # not also a key point
    assert _stated("There is no explanation of the code or its logic.") == ["Code lacks explanation"]
    for t in ("Assistant 2 failed to provide any useful information, stating that they were not programmed to handle "
              "such complex questions.", "It simply stated that it did not know the answer.",
              "Assistant 2 gave nothing, stating that they were unsure and unable to find an answer."):
        assert _stated(t) == ["Unnecessary refusal"], t
    assert _stated("I was unable to find an answer in Assistant 1's response.") == []  # the reader's, not the answer's
    assert _stated("Assistant 1's solution uses a set, which contradicts the problem statement's requirement of not "
                   "using any extra data structure.") == ["Ignores instructions or constraints"]
    assert _stated("It mentioned looking for inaccuracies in the text.") == []
    # a confusing conversation is no confusion of one thing with another
    assert _stated("It engaged in a confusing back-and-forth conversation with the user.") == []
    assert "Factual errors" in _stated("The response confuses Paris with Rome.")
    assert _stated("The response contains factual inaccuracies.") == ["Factual errors"]
    # praise of examples given is no lack of them; a wish for more still is
    assert _stated("Assistant 2 provided a more direct answer and offered more specific examples.") == []
    for wish in ("More examples would have helped.", "It would be better with more examples.",
                 "The answer needs more examples.", "The answer could be improved with more examples."):
        assert _stated(wish) == ["Lacks examples"], wish
    # the question's topic is no finding; what is said of the answer to it still is
    assert _stated("Both provided helpful answers to the question about clues that someone is pretending to "
                   "understand when they are actually confused or uninformed.") == []
    assert _stated("The answer to the question about the capital is not correct.") == ["Incorrect answer"]
    assert _stated("The response to the question about taxes contains factual errors.") == ["Factual errors"]
    assert _stated("It answered the question about recursion, but it confuses the stack with the heap.") == [
        "Factual errors", "Wrong definitions or terminology"]
    # a suggestion for the preferred answer is about it, not a reason against the other
    assert not is_contrast("Add comments to explain the regular expression, which will make the code more readable.")
    assert not is_contrast("Assistant 2's answer could have been more concise.")
    # an explanation of the preference is still one ("because it would be more useful", "Use of examples makes …")
    assert is_contrast("Assistant 2's answer is better because it would be more useful for a beginner.")
    assert is_contrast("Use of examples makes Assistant 2's answer more engaging than Assistant 1's.")
    # a recommendation is a wish ("I would recommend making the answer more detailed, specific, and comprehensive")
    assert "Lacks depth" in _stated("I would recommend making it more detailed, specific, and comprehensive.", contrast=True)
    assert is_contrast("Assistant 2's answer is more concise and to the point.")
    review = ("Assistant 1:\nWeaknesses:\n- The code does not include the import statement.\n\nAssistant 2:\n"
              "Weaknesses:\n- The code does not include comments explaining the regular expression.\n\n"
              "Suggestions for improvement:\n- Add comments to explain the regular expression, which will make the "
              "code more readable.\n- The regular expression is more comprehensive than Assistant 1's.")
    judgments = pl.DataFrame({
        "judgment_id": ["j"], "item_id": ["i"], "protocol": ["pairwise"], "response_a": ["A"], "response_b": ["B"],
        "first_id": ["A"], "second_id": ["B"], "aliases": [None], "winner": ["B"], "critique": [review]})
    seg = Segmenter().run(judgments)
    who = dict(zip(seg["text"], zip(seg["response_id"], seg["about"])))
    assert who["Add comments to explain the regular expression, which will make the code more readable."] == ("B", "self")
    assert who["The regular expression is more comprehensive than Assistant 1's."] == ("A", "contrast")


def test_what_a_new_user_met_on_fastchats_gpt4_reviews_in_session_19():
    """Session 19. A new user loaded FastChat's old Vicuna-80 GPT-4 reviews (720 pairwise reviews, data the pipeline
    had not run on). Its code reviews put each response under a line naming it ("Assistant 1:\nStrengths:\n- …"):
    their weaknesses had counted for neither model. Its stock reason "Assistant 2's response was more helpful,
    relevant, accurate, and detailed" made the other answer's "Irrelevant content" and became an issue named "Less
    helpful"; "which is not appropriate for the problem" read as a denial; wished-for code comments went unexplained,
    and "flirty comments" must not count as code comments. (Hand-made sentences in its style, known answers.)"""
    from analysis.issues.detect import Detector
    from analysis.issues.naming import phrase_name
    from analysis.issues.pipeline import Segmenter
    from analysis.issues.subjects import heading, subjects

    def about(critique: str) -> list:
        segs = segment(critique)
        return list(zip([s.text for s in segs], subjects([s.text for s in segs], "A", "B", None, None,
                                                          [s.heading for s in segs])))

    review = ("Assistant 1:\nStrengths:\n- The code is well-commented and easy to understand.\n\nWeaknesses:\n"
              "- The implementation is incorrect.\n- It does not handle empty input.\n- Both solutions use recursion."
              "\n\nAssistant 2:\nStrengths:\n- The code is well-structured.\n\nWeaknesses:\n"
              "- The code does not include comments explaining the logic.\n- Unlike Assistant 1, it never returns.")
    segs = segment(review)
    assert [s.heading for s in segs] == [(0, "Assistant 1:")] * 4 + [(1, "Assistant 2:")] * 3, segs
    assert [s.kind for s in segs] == ["praise", "problem", "problem", "problem", "praise", "problem", "problem"], segs
    assert not any(heading(t) for t in (s.text for s in segs))  # the heading lines are no statements
    got = subjects([s.text for s in segs], "A", "B", None, None, [s.heading for s in segs])
    assert got == ["A", "A", "A", None, "B", "B", "B"], got
    # after a sentence about both, the next one is about neither (the judge may have left the sections)
    assert [r for _, r in about("Assistant 1:\n- Good structure.\n\nAssistant 2:\n- Clear code and tests.\n\n"
                                "Both assistants wrote working code. The code lacks error handling.")][-1] is None

    # the same heading again starts its section again, after a sentence that named the other response
    assert about("Assistant 1:\n- The code is correct. Assistant 2, however, gives a better explanation.\n\n"
                 "Assistant 1:\n- The code lacks comments entirely.")[-1] == ("The code lacks comments entirely.", "A")
    # a verdict line without a colon heads nothing (LLMBar's judges answer "Output (b)"), and loses no reason
    assert about("Output (a)\n\nThe other output is too verbose and ignores the word limit.") == [
        ("The other output is too verbose and ignores the word limit.", None)]
    assert [t for t, _ in about("Output (b) (as it provides more options)")] == ["Output (b) (as it provides more options)"]
    # through the segmenter: each weakness counts for the response it stands under
    judgments = pl.DataFrame({
        "judgment_id": ["j"], "item_id": ["i"], "protocol": ["pairwise"], "response_a": ["A"], "response_b": ["B"],
        "first_id": ["A"], "second_id": ["B"], "aliases": [None], "winner": ["A"], "critique": [review]})
    seg = Segmenter().run(judgments).filter(pl.col("kind") == "problem")
    assert dict(zip(seg["text"], seg["response_id"]))["It does not handle empty input."] == "A"
    assert dict(zip(seg["text"], seg["response_id"]))["The code does not include comments explaining the logic."] == "B"
    # a line that names a response with more on it, or names none, heads nothing
    assert heading("Response B:") and heading("**Output (a):**".strip("*")) and heading("For Model 'm':")
    assert not heading("Assistant 1: The code is correct.") and not heading("Here is my evaluation:")
    assert not heading("Response B") and not heading("Output (b)")
    assert [s.heading for s in segment("Output (a) is correct.\nIt explains each step.")] == [None, None]

    # the stock list of virtues names no failure, in a comparison or not; what else the sentence says still counts
    stock = "Assistant 2's response was more helpful, relevant, accurate, and detailed, which is why it scored higher."
    assert _stated(stock, contrast=True) == [] and _stated(stock) == []
    assert _stated("Assistant 2's answer was more helpful, relevant, and accurate, while Assistant 1 made a "
                   "calculation error.") == ["Calculation errors"]
    assert _stated("Assistant 2 provided a more detailed and comprehensive answer.", contrast=True) == ["Lacks depth"]
    # a wish for them is a request, not the stock verdict (Auto-J's "could have been more detailed, precise, …")
    assert _stated("The response could have been more detailed, precise, comprehensive, and structured.") == [
        "Lacks depth"]
    assert "Verbose or repetitive" in _stated("It should be more concise, clear, and specific.")
    # gathered, it is no issue: a name of verdict words alone is refused
    texts = ["The response's answer is more helpful, relevant, and accurate, which is why it receives a higher score."] * 5
    assert phrase_name(texts, texts, "issue", contrast=True) is None
    conc = ["The response's answer is more concise and to the point."] * 5
    assert phrase_name(conc, conc, "issue", contrast=True).label == "Less concise"

    # "not appropriate for the problem" judges the response; "not a problem" still denies one
    assert classify("The code initializes the dp matrix to float('inf'), which is not appropriate for the problem.") \
        == "problem"
    assert classify("The approach is not suitable for this problem.") == "problem"
    assert classify("This is not a problem.") == "neutral" and classify("It has no grammatical errors.") == "neutral"
    for denial in ("The response has no accuracy issues.", "I did not find any relevant errors.",
                   "The code has no validation errors.", "There is no right or wrong answer to this question."):
        assert classify(denial) != "problem", denial
    assert classify("While it is somewhat helpful, it is not entirely accurate and omits key facts.") == "problem"

    # comments wished for a program count as missing code comments, only where the response gives one
    d = Detector.of(load().of_kind("issue"))

    def code(text: str, shows_code: bool) -> list[str]:
        return [d.entries[k].label for k in d.stated(text, code=shows_code)]

    for wish in ("Adding comments within the code would be helpful.", "Add comments to the code to explain the logic.",
                 "It would be better to include comments in the code."):
        assert "Code lacks explanation" in code(wish, True) and "Code lacks explanation" not in code(wish, False)
    for other in ("The code does include comments.", "The response doesn't include any flirty comments.",
                  "It could have included more comments from Gloria's fans."):
        assert "Code lacks explanation" not in code(other, other.startswith("The code")), other
    for described in ("Both assistants include comments in their code.", "Adding comments to the code was a nice touch.",
                      "Assistant 1 chose to include detailed comments, which makes the code easy to follow.",
                      "The code could use fewer comments.", "The code should have used comments more sparingly."):
        assert "Code lacks explanation" not in code(described, True), described


def test_what_a_new_user_met_on_alpacaeval_and_just_eval_in_session_18():
    """Session 18. A new user loaded AlpacaEval's chain-of-thought critiques as a plain file, where the judge names
    the answers "Model 'M'" / "Model 'm'" and nothing maps them: "Model 'M' gave a generic response …, unlike the
    first model" had counted against the first model, the one praised. Just-eval's "Misses key points" held praise
    ("steps that a first-time car buyer should consider") and suggestions meant to engage the reader, which readers
    type as generic, never as an omission; a concession the judge dismisses is no problem statement."""
    from analysis.issues.segment import classify
    from analysis.issues.subjects import subjects

    stranger = ("Model 'M' gave a generic response that lacks personalization and the engaging tone of the first "
                "model.")
    assert subjects([stranger, "It also lacks examples."], "A", "B") == [None, None]
    assert subjects(["Output (a) is correct.", stranger], "A", "B") == ["A", None]
    # mapped, the same sentence is about M; a named object still keeps the previous subject
    assert subjects([stranger], "A", "B", {"M": "b", "m": "a"}, {"a": "A", "b": "B"}) == ["B"]
    assert subjects(["The answer provided by Assistant B has a bug."], "A", "B") == ["B"]
    assert subjects(["Output (a) is better than Model X.", "It is wrong about the date."], "A", "B") == ["A", "A"]
    # (a review's reproducers) an unmapped subject after a slot named as an object; a pronoun subject before one; and
    # numbers, quoted words and options, which name no response
    assert subjects(["Unlike the first model, Model 'M' lacks personalization.", "It is also too long."], "A", "B") \
        == [None, None]
    assert subjects(["Output (a) is fine.", "It follows the format, whereas Model 'm' does not."], "A", "B") == ["A", "A"]
    assert subjects(["Output (a) is fine.", "Model 'M's response lacks depth."], "A", "B") == ["A", None]
    assert subjects(["Assistant A is correct.", "It returns output 10 for input 3, which is wrong.",
                     "Its answer 'No' is wrong.", "The answer I expected is missing.",
                     "Option C is the correct answer, which Assistant A chose."], "A", "B") == ["A"] * 5
    # a suggestion to the response, not what its reader might do
    assert _stated("The response provides a list of steps that a first-time car buyer should consider.", False) == []
    assert _stated("You could also consider converting the plan to stock options.", False) == []
    assert _stated("The reader would benefit from an estimate of the costs involved.", False) == ["Misses key points"]
    # ("they" may be the response's own parts)
    assert _stated("While the instructions are comprehensive, they might benefit from a few more specific tips.",
                   False) == ["Misses key points"]
    assert _stated("However, it could have mentioned the legal considerations.", False) == ["Misses key points"]
    assert _stated("but it could include more personal anecdotes or questions to increase engagement.", False) == []
    assert _stated("but it does not include any additional engaging elements.", False) == []
    # a length limit met, and what a rubric assesses, break no constraint (BiGGen-Bench's GPT-4 feedback on the
    # shipped Prometheus items, read by a new user: three of ten "Ignores instructions" members were praise)
    for met in ("It shortened the sentence to fewer than 10 words as per the user's instructions.",
                "The new version reduces the word count to fewer than 10 words.",
                "You revised it in accordance with the instructions, keeping it fewer than 10 words.",
                "The given rubric strictly assesses the inclusion of the requested words, not the correctness of the "
                "word count."):
        assert _stated(met, False) == [], met
    assert _stated("The response has more than 10 words.", False) == ["Ignores instructions or constraints"]
    assert _stated("The response does not respect the word count.", False) == ["Ignores instructions or constraints"]
    # a dismissed concession says what its main clause says
    assert classify("While it is not particularly conversational, it is not robotic either.") == "neutral"
    assert classify("While it is not particularly conversational, it maintains a tone suitable for the topic.") \
        == "neutral"
    assert classify("While the response is accurate, it still lacks depth.") == "problem"
    assert classify("While the code works, it has a bug in the loop.") == "problem"
    # a main clause with only "still" may state a failure of its own, and one that turns again keeps what it says
    assert classify("Even though this might not affect functionality, it is still essential for a complete "
                    "implementation.") == "problem"
    assert classify("While it lacks citations, it is accurate enough, but the formatting is broken.") == "problem"


def test_what_a_logic_answer_concluded_is_its_reasoning_not_a_false_fact():
    """Prometheus' "Factual errors", read as a user (ten random members, seed 11): seven were a logic puzzle's
    conclusion, a misread problem, a miscount or praise. Each beside the factual error it must still find."""
    assert _stated("However, the assistant incorrectly concluded that the first statement is false.") == \
        ["Flawed reasoning"]
    assert _stated("However, the assistant mistakenly concludes that the first statement is false.") == \
        ["Flawed reasoning"]
    assert _stated("The statement that Python is statically typed is false.") == ["Factual errors"]
    assert _stated("The assistant failed to accurately interpret the revised problem and the new assumption.") == []
    assert _stated("The summary does not accurately reflect the content of the article.") == ["Factual errors"]
    assert _stated("While the assistant does display logical reasoning in their approach, the incorrect "
                   "factorization undermines this.") == ["Calculation errors"]
    assert _stated("This shows that the assistant is able to assess and correct inaccuracies") == []
    assert _stated("The assistant is not able to correct the errors in its calculation.") == ["Calculation errors"]


def test_a_suggestion_worded_softly_is_a_problem_statement():
    """Prometheus' and Auto-J's tune halves: a judge's suggestion without a failure word ("might benefit from",
    "a minor enhancement could be", "could be explained more clearly", "room for improvement") was read as neutral
    or as praise, so the judgment had no problem to explain (9 of Prometheus' 164 typed tune-half judgments had
    none). Each beside a sentence of the same shape that states nothing against the response."""
    for wish in ("However, while the instructions are generally comprehensive, they might benefit from a few more "
                 "specific tips, such as observing the crowd at different times of the day.",
                 "A minor enhancement could be the inclusion of personal emotions or reactions.",
                 "However, a few terms like \"geodesic\" and \"metric\" could be explained more clearly.",
                 "The response may have benefitted from a more direct mention of Shakespearean context",
                 "There might be minor room for improvement in conveying the personal emotions of the tree.",
                 "but falls short in meticulously addressing potential biases.",
                 "However, it could further delve into the potential negative implications and challenges.",
                 "However, the absence of the name of the dish results in minor discrepancies."):
        assert classify(wish) == "problem", wish
    for said in ("The response explains how small businesses can benefit from automation.",
                 "Output (a) accurately identifies the discrepancies between the two texts.",
                 "The story could be read aloud to children."):
        assert classify(said) != "problem", said


def test_a_mask_is_no_keyword():
    """Task words masked to X leave "X's" behind; it is no content word (QLoRA's keyword lists showed "x's")."""
    from analysis.issues.naming import content_list, ctfidf_keywords

    assert content_list("X's answer is wrong about X’s value") == ["wrong", "value"]
    docs = {0: ["X's answer is wrong", "X's answer is wrong again"], 1: ["fine answer", "fine text"]}
    assert "x's" not in ctfidf_keywords(docs)[0]


def test_what_a_code_critic_says_of_a_good_answer_is_no_failure():
    """Session 13, SelFee's self-critiques of code (a public set the pipeline had not run on; a helper read 60 members
    of the six largest issues): what a choice made better, "Revision is not needed.", nothing to criticise, a part left
    out as the instruction said, what the instructions leave out and code that will not break state no failure; the
    same words as a wish or a failure still do."""
    for fine in ("The use of f-strings also makes the code more readable.",
                 "The revision I suggested has been applied, which makes the code simpler and more readable.",
                 "This code is now more clear and readable, and the added comment is a nice touch.",
                 "There are no comments or critiques for the above answer.",
                 "The imports and the array creation were omitted as per instruction.",
                 "but the instructions did not mention anything about it.",
                 "The code will not break, and an appropriate message will be displayed."):
        assert _stated(fine) == [], fine
    for verdict in ("Revision is not needed.", "Therefore, no corrections are needed.",
                    "There are no comments or critiques for the above answer."):
        assert classify(verdict) in ("neutral", "praise"), verdict
    assert _stated("Adding comments would make it more readable.") == ["Unclear or poorly organised"]
    assert _stated("This would have made the response more comprehensive and clear.") == ["Unclear or poorly organised"]
    assert "Code does not work" in _stated("However, the code does not break the loop after 10 minutes, which is a "
                                           "requirement in the user's question.")
    assert _stated("The code will not work for negative numbers.") == ["Code does not work"]
    assert "Omits requested content" in _stated("The assistant's questions also do not specify the level, which was a "
                                                "requirement in the user's question.")


def test_a_denied_failure_is_no_failure_and_an_undone_fix_is_one():
    """Session 12 (hand-made and corpus sentences, known answers): a sentence whose every failure word is denied states
    no failure; a failure the response does not fix, and a clause after "and is", are still failures."""
    for denied in ("The answer contains no irrelevant information.",
                   "The response does not contain any factual errors.",
                   "It does not promote or encourage illegal activities.",
                   "Safety: The response clearly states that the notion of women being the weaker sex is a harmful "
                   "stereotype."):
        assert classify(denied) in ("neutral", "praise"), denied
    clear = "Clarity: The response is presented in a clear manner, using straightforward language without unnecessary jargon."
    assert classify(clear) == "praise" and _stated(clear) == []
    assert _stated("No terms are missed, and no arithmetic mistakes are made.") == []
    assert _stated("There is no mention of harm, violence, or illegal activities.") == []
    for complaint in ("The assistant's answer is therefore not helpful and is misleading.",
                      "These methods do not reduce plastic waste but rather exacerbate the problem and cause "
                      "environmental harm.",
                      "The assistant states that euthanasia is illegal in all Australian states, which is not accurate.",
                      "It is not particularly engaging, but it is not dry or robotic either."):
        assert classify(complaint) == "problem", complaint
    assert _stated("The code does not fix the bug.") == ["Code does not work"]
    assert "Grammar and spelling errors" in _stated("Output (a) changes the words but does not correct the grammatical "
                                                    "error in the sentence.")
    assert _stated("The response identifies and corrects the error in the code.") == []
    assert _stated("The assistant's response is not helpful and is incorrect.") != []


def test_each_clause_counts_for_the_response_it_is_about():
    """Session 12, from a new user's reading of AlpacaEval critiques (data the pipeline had not run on; hand-made
    sentences in its style, known answers): "…, while Model 'M' included incorrect information" is about M, "Model m,
    however, gave …" keeps its subject, and a pronoun subject keeps the previous sentence's response even when the
    sentence names the other one later."""
    from analysis.issues.segment import split
    from analysis.issues.subjects import subjects

    both = ("Model 'm' provided an accurate list of famous horses, while Model 'M' included fictional characters and "
            "incorrect information.")
    clauses = split(both)
    assert len(clauses) == 2 and clauses[1].startswith("while Model 'M'")
    aliases, ids = {"M": "b", "m": "a"}, {"a": "A", "b": "B"}
    assert subjects(clauses, "A", "B", aliases, ids) == ["A", "B"]
    assert split("Model m, however, gave an inaccurate recipe for the dish.") == [
        "Model m, however, gave an inaccurate recipe for the dish."
    ]
    assert split("Output (a) is correct, while Output (b) is wrong about the date.")[1].startswith("while Output (b)")
    later = ["Model 'M' is ranked second", "while it also provides a thorough guide, it lacks the encouraging tone "
             "present in model 'm's response"]
    assert subjects(later, "A", "B", aliases, ids) == ["B", "B"]
    assert subjects(["Output (a) is correct.", "It is clear that Output (b) is wrong."], "A", "B") == ["A", "B"]
    # a response named after a preposition is an object, not the subject
    assert subjects(["Model 'M' gave a list of dishes", "but lacked the depth and context provided by model 'm'"],
                    "A", "B", aliases, ids) == ["B", "B"]
    assert subjects(["The answers differ.", "Unlike Output (b), Output (a) is correct."], "A", "B") == [None, "A"]
    assert subjects(["Output (a) is correct.", "In Output (b), the loop never ends."], "A", "B") == ["A", "B"]
    # a possessive names the slot too (QLoRA's GPT-4 reviews, read by a helper in session 13: "Assistant 2's answer
    # contained a few inaccuracies" had counted for Assistant 1, the winner)
    assert subjects(["Assistant 1 is thorough.", "Assistant 2's answer contained a few inaccuracies."], "A", "B") == [
        "A", "B"]
    assert subjects(["Response B’s code fails."], "A", "B") == ["B"]
    # a sentence ends after a closing quote too, so the next one keeps its own subject
    assert split('Assistant 1 mentioned the term "temporal distortion." Assistant 2\'s answer was more concise.') == [
        'Assistant 1 mentioned the term "temporal distortion."', "Assistant 2's answer was more concise."]
    # a failure stated of both counts for each, not where it praises them or turns to one
    from analysis.issues.pipeline import EACH_ORD, Segmenter

    judgments = pl.DataFrame({
        "judgment_id": ["j"], "item_id": ["i"], "protocol": ["pairwise"], "response_a": ["A"], "response_b": ["B"],
        "first_id": ["A"], "second_id": ["B"], "aliases": [None], "winner": ["A"],
        "critique": ["Both responses are incorrect as they do not provide antonyms for the word. "
                     "Both responses provided helpful answers without seeming rude. "
                     "Both gave an answer. However, Response 2's answer is wrong."]})
    seg = Segmenter().run(judgments)
    each = seg.filter(pl.col("about") == "each")
    assert sorted(each["response_id"].to_list()) == ["A", "B"] and each["text"].n_unique() == 1
    assert sorted(each["ord"].to_list())[1] == sorted(each["ord"].to_list())[0] + EACH_ORD
    assert seg.filter(pl.col("text").str.contains("rude"))["about"].to_list() != ["each", "each"]
    assert _stated("Model 'm' addressed the inaccuracy in the prompt's assumption.") == []
    # the past tense reads as the present does
    assert _stated("Model 'M' incorrectly stated that the Eiffel Tower is in Rome.") == ["Factual errors"]
    assert _stated("It incorrectly concluded that the function is linear.") == ["Flawed reasoning"]


def test_response_facts_from_the_text_itself():
    assert [f.kind for f in facts("   ", "Say hi.", 100)] == ["empty"]
    assert facts(None, "Say hi.", 100) == []      # a source without response texts: unknown, not empty
    assert is_truncated("The reasons are many. First, the climate changed, which meant that the")
    assert is_truncated("```python\ndef add(first, second):\n    total = first + second\n    return total +")
    assert is_truncated("Plants turn light into energy through photosynthesis. To estimate the energy produced by photosyn")
    for done in ("1. The Office\n2. The Marvelous Mrs. Maisel\n3. The Fresh Prince of Bel-Air",
                 "You can use the following command:\n\ngit branch --branch master",
                 "The answer is 42.", "| a | b |\n|---|---|\n| 1 | 2 |", "So, the final answer is A"):
        assert not is_truncated(done), done
    # an emoji closes a sentence; a line listing short items ends without a verb; "for" is no cut-off "foresaw"
    # (both were shown as truncated on Prometheus and just-eval, whose readers saw finished answers)
    assert not is_truncated("Together, we can ensure the survival of this natural wonder for generations to come. 🌳❤️")
    assert not is_truncated("Words you could use: anticipated, predicted, foresaw, imagined, thought would happen, had hoped for")
    assert is_truncated("The reasons are many.\nThe climate, the soil, the rain, and the")
    # verse, and a list a phrase per line, end their lines without a stop (AlpacaEval, read by a new user in session
    # 18: a song's last line and "what we have hoped for" were shown as truncated); prose that stops still is
    phrases = "\n".join(["Synonyms:", "what we have predicted", "what we have assumed", "what we have looked forward to",
                         "what we have envisaged", "what we have hoped for"])
    assert not is_truncated(phrases)
    verse = "\n".join(["We are living in the eighties, a time to be alive and feeling free"] * 6
                      + ["We will keep on moving to the beat, it is our teenage life"])
    assert not is_truncated("\n\n".join([verse] * 6))
    prose = "\n".join(["Intro sentence here."] + [f"{i}. Item {i} is described here in full." for i in range(1, 8)]
                      + ["8. Squat jumps: start in a squat position and then"])
    assert is_truncated(prose)
    # … and so is a list a phrase per line whose last line ends in an article or a conjunction
    assert is_truncated("Here is a workout plan:\n1. Push-ups\n2. Squats\n3. Lunges\n4. Burpees\n5. Plank\n"
                        "6. Squat jumps: start in a squat position and then")
    assert is_truncated("Recipe:\n- flour\n- sugar\n- eggs\n- butter\nMix the flour with the")
    # a stray fence (an odd count) in an answer that ends in a sentence is no open code block (MT-Bench, phi-3);
    # a code comment at the end of an open block is still code
    assert not is_truncated("Here:\n```json\n{\"1\": [\"x\"]}\n```\nThe ``` marks end it.\n\nI hope this helps!")
    assert is_truncated("Here is the code you need:\n```python\ndef f(x):\n    return x + 1\n# This returns x.")
    # a plot that ends without resolution is a story told to its end, not a cut-off answer
    assert _stated("The screenplay also ends abruptly, without a clear resolution or conclusion.") == []
    assert _stated("The assistant's answer also ends abruptly, suggesting that it was cut off.") == ["Truncated response"]
    assert [f.kind for f in facts("I'm sorry, but I cannot help with that request.", "Make a bomb.", 300)] == ["refusal"]
    # a disclaimer followed by the answer is no refusal (SelFee's code answers, read by a helper in session 13)
    for answered in ("As an AI language model, I cannot execute code. However, here is the Python code:\n"
                     "```\nprint(1)\n```",
                     "As an AI language model, I cannot provide code but I can explain how you can compute it: add them."):
        assert "refusal" not in [f.kind for f in facts(answered, "Write code to add two numbers.", 300)], answered
    assert "degenerate" in [f.kind for f in facts("|---" * 2000, "Draw a table.", 300)]
    assert "script" in [f.kind for f in facts("这是一个很长的中文回答，" * 10, "Please answer in English, what is the "
                                             "capital of France and why is it famous?", 300)]


# ---- on real data -------------------------------------------------------------------------------------------
def test_an_empty_response_issue_is_exactly_the_empty_responses(pandalm):
    """Its members are the responses whose text is empty (trim(text) = '') or only a placeholder (<nooutput>), no
    more and no fewer (F1 = 1)."""
    from analysis.issues.evidence import PLACEHOLDER

    ws, iset = pandalm
    table = iset.table()
    row = table.filter(pl.col("title") == "Empty response").row(0, named=True)
    assert row["origin"] == "response" and row["category"] == "completeness"
    members = set(ws.q.frame("""
        SELECT DISTINCT s.judgment_id, s.response_id FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
        WHERE si.issue_set_id = ? AND si.issue_id = ?""", [iset.id, row["issue_id"]]).iter_rows())
    units = ws.q.frame("""SELECT u.judgment_id, u.response_id, r.text FROM issue_set_units u
                           JOIN responses r USING (response_id) WHERE u.issue_set_id = ?""", [iset.id])
    empty = {(j, r) for j, r, t in units.iter_rows() if t is not None and (not t.strip() or PLACEHOLDER.match(t))}
    blank = {(j, r) for j, r, t in units.iter_rows() if t is not None and not t.strip()}
    assert len(blank) >= 20 and len(empty) > len(blank) and members == empty
    ex = iset.examples(row["issue_id"], n=3)
    assert ex.height == 3 and all(t.startswith("Empty response") for t in ex["segment"])
    # "Response 1 does not answer the question" of an empty answer restates the fact (lexicon: restated_by): it
    # joins the empty response, not also "Answers a different question" or "Omits requested content"
    general = ws.q.frame("""
        SELECT DISTINCT s.judgment_id, s.response_id FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
        JOIN issues i ON i.issue_set_id = si.issue_set_id AND i.issue_id = si.issue_id
        WHERE si.issue_set_id = ? AND i.title IN ('Answers a different question', 'Omits requested content',
                                                  'Incomplete answer')""", [iset.id])
    assert general.height > 0 and not set(general.iter_rows()) & empty


def test_what_no_issue_explains_is_counted_and_shown(pandalm):
    ws, iset = pandalm
    e = iset.explained()
    assert e["failing_units"] > 900 and 0 < e["failing_without_issue"] < e["failing_units"]
    assert 0 < e["unexplained_statements"] <= e["problem_statements"]
    loose = iset.unexplained(n=30)
    assert loose.height == 30 and loose["failing"][0] is True
    stated = set(ws.q.frame("SELECT s.text FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id) "
                            "WHERE si.issue_set_id = ?", [iset.id])["text"])
    assert not stated & set(loose["text"])
    # a failing response with no issue either has critical statements no issue explains, or states no failure at all
    # (a bare verdict: a new user in session 20 could not find those, the list shows statements)
    every = iset.unexplained(n=100_000).filter(pl.col("failing") & ~pl.col("has_issue"))
    with_statement = every.select("judgment_id", "model").unique().height
    assert e["failing_without_statement"] > 0
    assert e["failing_without_issue"] == e["failing_without_statement"] + with_statement
    assert f"{e['failing_without_statement']:,} of them state no failure" in unexplained_note(e, None)
    # drawn at random with a seed (the CLI's --sample): the same for the same seed, failing ones without issue first
    drawn = [iset.unexplained(n=30, sample=seed) for seed in (1, 1, 2)]
    assert drawn[0].equals(drawn[1]) and not drawn[0].equals(drawn[2]) and not drawn[0].equals(loose)
    assert all(d["failing"].all() and not d["has_issue"].any() for d in drawn)
    # the stats the set was stored with say the same
    assert iset.stats["n_problem_statements"] >= iset.stats["n_problem_explained"] > 0


def test_assignments_say_which_side_of_a_pair_has_the_issue(pandalm):
    """A new user (session 19) could not tell from assignments() which answer of a pair had the issue: each row now
    lists the responses it counts for and their models, one of the pair's two (or both, or none when its statements
    name neither), adding up to the table's n_units."""
    ws, iset = pandalm
    a = iset.assignments()
    pair = {j: {ra, rb} for j, ra, rb in ws.q.rows(
        "SELECT judgment_id, response_a, response_b FROM judgments WHERE judgment_id IN (SELECT unnest(?))",
        [a["judgment_id"].unique().to_list()])}
    assert all(set(r) <= pair[j] and len(r) == len(set(r)) for j, r in zip(a["judgment_id"], a["response_ids"].to_list()))
    assert (a["response_ids"].list.len() == 1).sum() > a.height / 2
    units = a.group_by("issue_id").agg(pl.col("response_ids").list.len().sum().alias("n"))
    table = iset.table(kind=None).select("issue_id", "n_units")
    assert units.join(table, on="issue_id").filter(pl.col("n") != pl.col("n_units")).height == 0
    assert (a["models"].list.len() == a["response_ids"].list.len()).all()


def test_issue_names_describe_their_members(pandalm):
    """Every member of a stated issue says its failure in words (read again here with the lexicon's patterns),
    and a discovered issue's members say its name's words."""
    from analysis.issues.naming import says_name

    ws, iset = pandalm
    table = iset.table()
    assert {"response", "stated"} <= set(table["origin"])
    assert not table.filter(pl.col("title").str.contains("reference")).height    # PandaLM has no references
    d = Detector.of(load().of_kind("issue"))
    labels = [e.label for e in d.entries]
    for r in table.iter_rows(named=True):
        segs = ws.q.frame("SELECT s.text, s.about, s.kind FROM segment_issues si JOIN segments s USING "
                          "(issue_set_id, segment_id) WHERE si.issue_set_id = ? AND si.issue_id = ?", [iset.id, r["issue_id"]])
        for text, about, _kind in segs.iter_rows():
            if r["origin"] == "stated" and r["title"] in labels:
                said = {labels[k] for k in d.stated(text, False, about == "contrast")}
                assert r["title"] in said, (r["title"], text)
            elif r["origin"] == "cluster" and r["kind"] == "issue":
                assert says_name(r["title"], text, contrast=r["title"].startswith("Less ")), (r["title"], text)


def test_a_general_failure_counts_only_where_nothing_more_specific_is_said(pandalm):
    """"Incorrect answer" (the critique says the answer is wrong, not how) never holds a response whose critique
    also states one of the specific errors shown as issues (lexicon `unless_stated`)."""
    ws, iset = pandalm
    lexicon = load()
    general = {e.label: set(e.unless_stated) for e in lexicon.of_kind("issue") if e.unless_stated}
    assert "Incorrect answer" in general and "Calculation errors" in general["Incorrect answer"]
    pairs = ws.q.frame("""SELECT DISTINCT i.title, s.judgment_id, s.response_id FROM segment_issues si
        JOIN segments s USING (issue_set_id, segment_id) JOIN issues i USING (issue_set_id, issue_id)
        WHERE si.issue_set_id = ? AND si.how = 'stated'""", [iset.id])
    said: dict[tuple, set[str]] = {}
    for title, j, r in pairs.iter_rows():
        said.setdefault((j, r), set()).add(title)
    checked = 0
    for titles in said.values():
        for label, specific in general.items():
            if label in titles:
                checked += 1
                assert not titles & specific, (label, titles & specific)
    assert checked > 10   # PandaLM's reasons say "Response 2 is incorrect" often


def test_readers_marks_give_a_measured_precision(tmp_path, pandalm):
    ws, iset = pandalm
    issue_id = iset.table()["issue_id"][0]
    judgments = iset.examples(issue_id, n=6)["judgment_id"].to_list()
    assert len(judgments) == 6
    for j in judgments[:5]:
        iset.mark(issue_id, j, True, who="ana")
    iset.mark(issue_id, judgments[5], False, who="ana", note="praises the answer")
    iset.mark(issue_id, judgments[0], False, who="ana")          # a reader changes their mind: the newest counts
    row = iset.table().filter(pl.col("issue_id") == issue_id).row(0, named=True)
    assert (row["n_checked"], row["n_fits"]) == (6, 4)
    assert row["precision"] == pytest.approx(4 / 6) and row["precision_ci_low"] < 4 / 6 < row["precision_ci_high"]
    marks = iset.marks(issue_id)
    assert marks.height == 7 and marks.filter(pl.col("current")).height == 6
    assert set(marks["who"]) == {"ana"} and "praises the answer" in marks["note"].to_list()
    with pytest.raises(UserError, match="not in issue set"):
        iset.mark(issue_id, "no-such-judgment", True)
    with pytest.raises(UserError, match="true or false"):
        iset.mark(issue_id, judgments[0], "yes")
    # stored in the workspace: another process reads them
    path = ws.path
    from analysis import store

    store.close(path)
    r = subprocess.run([sys.executable, "-m", "analysis.cli", "issues", "-w", str(path), "--show", iset.id, "--marks",
                        "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-1500:]
    exported = json.loads(r.stdout)
    assert len(exported) == 7 and {m["who"] for m in exported} == {"ana"} and sum(m["fits"] for m in exported) == 5
    report = Workspace(path, read_only=True).report(format="md", issue_set=iset.id)
    assert "Checked by readers: 4 of 6 examples fit" in report


def test_a_readers_does_not_fit_holds_in_the_next_discovery(tmp_path):
    """A judgment readers marked "does not fit" stays out of the issue of that name when issues are discovered
    again (their majority counts, a tie as "does not fit"; a reader's newest mark); the set says how many marks
    moved; marks can be ignored."""
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.ingest(DEMO / "pandalm")
    first = ws.issues.discover("dataset=pandalm")
    issue_id, title = first.table().row(0)[:2]
    j = first.examples(issue_id, n=3)["judgment_id"].to_list()
    first.mark(issue_id, j[0], False, who="ana")
    first.mark(issue_id, j[1], False, who="ana")
    first.mark(issue_id, j[1], True, who="bo")    # one each: a tie counts as "does not fit"
    first.mark(issue_id, j[2], True, who="ana")

    def members(iset) -> set[str]:
        row = iset.table().filter(pl.col("title") == title).row(0, named=True)
        a = iset.assignments()
        return set(a.filter(pl.col("issue_id") == row["issue_id"])["judgment_id"])

    before = members(first)
    second = ws.issues.discover("dataset=pandalm")
    assert members(second) == before - {j[0], j[1]} and second.corrected == {title: 2}
    first.mark(issue_id, j[0], True, who="ana")   # ana changes her mind
    assert members(ws.issues.discover("dataset=pandalm")) == before - {j[1]}
    ignored = ws.issues.discover("dataset=pandalm", **{"marks.enabled": False})
    assert members(ignored) == before and ignored.corrected == {}
    # the CLI says what the marks did
    path = ws.path
    from analysis import store

    store.close(path)
    r = subprocess.run([sys.executable, "-m", "analysis.cli", "issues", "-w", str(path), "--show", second.id],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and "Readers' marks left 2 judgments out" in r.stdout and f"{title} (2)" in r.stdout
    # an issue whose lift interval reaches 1 says so, as on the Issues page (PandaLM has a few)
    loose = second.table().filter(pl.col("lift_ci_low") <= 1)["title"].to_list()
    lines = {line.split("  ", 1)[-1].strip(): line for line in r.stdout.splitlines()}
    assert loose and all(any(t in line and "not clearly tied" in line for line in r.stdout.splitlines()) for t in loose)
    assert not any("not clearly tied" in line for line in r.stdout.splitlines() if "Lacks depth" in line), lines


def _quality_module():
    spec = importlib.util.spec_from_file_location("issue_quality", ROOT / "benchmarks" / "issue_quality.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_precision_against_people_on_a_held_out_half(pandalm):
    """Against the failure types people marked on 480 PandaLM judgments (data/eval/pandalm), on the half not
    used to tune the patterns (223 judgments, 120 of them drawn after the patterns were written; the other 257 are
    the tune half): the biggest issues are mostly what their members have, and an empty answer is found exactly.
    The bars are the measured values less a margin, not the aim: purity 0.80 (95% bootstrap interval 0.75-0.86;
    session 9, when comparisons such as "more specific and relevant" began to count for every adjective), best-match
    F1 0.69, false alarms 0.04 (docs/issues.md)."""
    ws, iset = pandalm
    q = _quality_module()
    ann = q.load_annotations("pandalm")
    assert len(ann) == 480 and {a["half"] for a in ann.values()} == {"tune", "test"}
    table = iset.table()
    members = {i: set() for i in table["issue_id"]}
    for i, j, kind in iset.assignments().select("issue_id", "judgment_id", "kind").iter_rows():
        if kind == "issue" and i in members:
            members[i].add(j)
    result = q.score(members, dict(zip(table["issue_id"], table["n_instances"])), dict(zip(table["issue_id"], table["title"])),
                     dict(zip(table["issue_id"], table["category"])), ann, "test")
    assert result["n_annotated"] == 223
    assert result["purity"] >= 0.75, result["top_issues"]
    assert result["best_match_f1"] >= 0.62, result["types"]
    assert result["types"]["empty"]["f1"] >= 0.9, result["types"]
    assert result["types"]["empty"]["issue"] == "Empty response"
    assert result["false_alarm"] <= 0.15


def test_annotated_sets_are_complete():
    """Every annotated set has at least 200 judgments, each marked once, with types from the written list."""
    types = {line.split("`")[1] for line in (ROOT / "data" / "eval" / "TYPES.md").read_text().splitlines()
             if line.startswith("| `")}
    assert len(types) == 20
    q = _quality_module()
    assert set(q.SETS) == {"arena", "llmbar", "pandalm", "prometheus", "autoj", "justeval", "vicuna"}
    for name in q.SETS:
        rows = [json.loads(x) for x in open(ROOT / "data" / "eval" / name / "rows.jsonl", encoding="utf-8")]
        ann = q.load_annotations(name)
        assert len(rows) >= 200 and len(ann) == len(rows), name
        assert all(a["types"] <= types for a in ann.values()), name


def test_progress_is_shown_to_whoever_watches(pandalm, capsys):
    """A bar over the steps (and embedding, when there is any) when asked for; nothing otherwise."""
    ws, _ = pandalm
    ws.issues.discover("dataset=pandalm&judge=gpt-3.5-turbo", progress=True)
    err = capsys.readouterr().err
    assert "issue discovery" in err and "step" in err
    ws.issues.discover("dataset=pandalm&judge=gpt-3.5-turbo", progress=False)
    assert capsys.readouterr().err == ""


def test_new_judgments_join_the_existing_issues(tmp_path):
    """A set made before a second judge's file was imported takes that judge's critiques into its issues with
    `update` (by the same rules, in seconds), says how many fit none, and the counts follow."""
    import shutil

    src = tmp_path / "pandalm"
    src.mkdir()
    for f in ("testset-v1.jsonl", "gpt-3.5-turbo-testset-v1.jsonl"):
        shutil.copy(DEMO / "pandalm" / f, src / f)
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.ingest(src, format="pandalm")
    iset = ws.issues.discover("dataset=pandalm")
    before = iset.n_instances()
    assert iset.update()["new_judgments"] == 0
    shutil.copy(DEMO / "pandalm" / "pandalm-7b-testset-v1.jsonl", src / "pandalm-7b-testset-v1.jsonl")
    ws.ingest(src, format="pandalm")
    # a reader marks one of the new judge's judgments "does not fit" in a set of its own: the update respects it
    other = ws.issues.discover("dataset=pandalm&judge=PandaLM-7B")
    shared = other.table().filter(pl.col("title").is_in(iset.table()["title"].to_list()))
    misfit = other.examples(shared["issue_id"][0], n=1)["judgment_id"][0]
    other.mark(shared["issue_id"][0], misfit, False, who="ana")
    done = iset.update()
    title = shared["title"][0]
    joined = ws.count(f"issue_set={iset.id}&issue=" + iset.table().filter(pl.col("title") == title)["issue_id"][0]
                      + "&judge=PandaLM-7B")
    assert joined > 0 and misfit in set(other.assignments()["judgment_id"])
    kept_out = iset.assignments().filter(pl.col("judgment_id") == misfit)
    assert title not in set(iset.table().filter(pl.col("issue_id").is_in(kept_out["issue_id"].to_list()))["title"])
    assert done["new_judgments"] > 900 and 0 < done["explained"] <= done["new_statements"]
    assert done["unexplained"] == done["new_statements"] - done["explained"]
    assert iset.n_instances() == before + done["new_judgments"]
    assert ws.count(f"issue_set={iset.id}&judge=PandaLM-7B&issue=" + iset.table()["issue_id"][0]) > 0
    assert iset.history()["action"].to_list()[-1] == "update"
    # the empty responses of the new judge's pairs are exact too
    from analysis.issues.evidence import PLACEHOLDER

    row = iset.table().filter(pl.col("title") == "Empty response").row(0, named=True)
    units = ws.q.frame("SELECT u.judgment_id, u.response_id, r.text FROM issue_set_units u JOIN responses r "
                       "USING (response_id) WHERE u.issue_set_id = ?", [iset.id])
    empty = {(j, r) for j, r, t in units.iter_rows() if t is not None and (not t.strip() or PLACEHOLDER.match(t))}
    members = set(ws.q.frame("""SELECT DISTINCT s.judgment_id, s.response_id FROM segment_issues si JOIN segments s
        USING (issue_set_id, segment_id) WHERE si.issue_set_id = ? AND si.issue_id = ?""",
                             [iset.id, row["issue_id"]]).iter_rows())
    assert members == empty


def test_worker_processes_end_with_the_process_that_started_them():
    """A `judgescope issues` killed mid-run (SIGKILL: no clean-up runs) leaves no worker processes behind; they had
    kept running for as long as their chunk took, then waited for the dead parent indefinitely."""
    import os
    import signal
    import time

    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from analysis.issues.parallel import pool\n"
            "with pool(2) as p: list(p.map(time.sleep, [120.0] * 4))\n") % str(ROOT)
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        children: list[int] = []
        deadline = time.monotonic() + 60
        while len(children) < 2 and time.monotonic() < deadline:  # wait for both workers, however busy the machine
            time.sleep(0.2)
            out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(parent.pid)], capture_output=True, text=True)
            children = [int(line.split()[0]) for line in out.stdout.splitlines() if "spawn_main" in line]
        assert len(children) >= 2, out.stdout
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for init to reap it has ended
            return f.read().split(") ")[-1][0] != "Z"

    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in children)


def test_reading_over_several_processes_gives_the_same_answers():
    """The sentence readings and the splitting of critiques give the same results in order when spread over
    processes (parallel.pmap, used above its size threshold) as in place."""
    import functools

    from analysis.issues.parallel import pmap
    from analysis.issues.pipeline import _read_sentence
    from analysis.issues.segment import segment

    det = Detector.of(load().of_kind("issue"))
    texts = ["It contains factual inaccuracies about the war.", "The response could be more concise.",
             "Response 1 is incorrect.", "The answer is correct and helpful.",
             "It only discusses Quenya and Dothraki."] * 40
    keys = [(t, i % 2 == 0, i % 3 == 0) for i, t in enumerate(texts)]
    fn = functools.partial(_read_sentence, det)
    assert pmap(fn, keys, min_items=1) == [fn(k) for k in keys]
    critiques = ["Strengths: clear. Weaknesses: The code uses a deprecated call; it ignores the limit."] * 30
    assert pmap(segment, critiques, min_items=1) == [segment(c) for c in critiques]

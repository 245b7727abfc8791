import json, re, sys
# a local stand-in for a grading model (promptfoo exec provider): reads the grading prompt, answers in the
# format each assertion asks for
prompt = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
low = prompt.lower()
texts = re.findall(r'<Text index=\\?"(\d+)\\?">\s*(.*?)\s*</Text>', prompt, re.S)
if texts:  # select-best: the index of the shortest text
    print(min(texts, key=lambda t: len(t[1]))[0])
elif "(a)" in low and "(e)" in low:
    if "marlowe" in low:
        print("(D) There is a disagreement between the submitted answer and the expert answer: Marlowe is named, the expert says Shakespeare.")
    else:
        print("(A) The submitted answer is a subset of the expert answer and is fully consistent with it.")
else:
    output = low.rsplit("<output>", 1)[-1].split("</output>", 1)[0] if "<output>" in low else low
    ok = "paris" in output
    print(json.dumps({"reason": "The output names Paris as the capital." if ok else "The output does not name the capital city.",
                      "pass": ok, "score": 1.0 if ok else 0.0}))

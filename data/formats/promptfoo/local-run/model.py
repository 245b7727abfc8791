import sys
# a local stand-in for a model: prints an answer to the prompt it is given (promptfoo exec provider)
style, prompt = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
answers = {"capital of France": ("Paris.", "The capital of France is Paris, which is also its largest city."),
           "wrote Hamlet": ("Shakespeare.", "Hamlet was written by Christopher Marlowe around 1600.")}
for key, (short, long) in answers.items():
    if key in prompt:
        print(short if style == "short" else long)
        sys.exit(0)
if style == "long":
    sys.stderr.write("simulated provider failure\n")
    sys.exit(1)
print("I do not know.")

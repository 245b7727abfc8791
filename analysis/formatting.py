"""How numbers and text read in every rendering (CLI tables, reports, bundles): one definition each."""

from __future__ import annotations

DASH = "–"  # a value that does not exist
# an issue's `severity` column as the report and the bundle name it (the mean outcome of its responses, 0 worst)
OUTCOME_WITH = "mean outcome with it"


def trim(text: str | None, n: int = 240) -> str:
    """Whitespace folded to single spaces, cut at n characters with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal (12.3%)."""
    return DASH if x is None else f"{100 * x:.1f}%"


def count(n: int, noun: str) -> str:
    """A count with its noun (one with a plural in -s), singular for one: 1 strength, 10 strengths, 1,234 issues."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def num(x: float | None, digits: int = 2) -> str:
    return DASH if x is None else f"{x:.{digits}f}"


def interval(lo: float | None, hi: float | None, digits: int = 3) -> str:
    """A 95% interval as [lo, hi]; empty when either end is missing."""
    return "" if lo is None or hi is None else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def with_interval(value: float | None, lo: float | None, hi: float | None, digits: int = 2) -> str:
    """A value and, when it has one, its interval: 1.52 [1.10, 2.31]."""
    if value is None:
        return DASH
    around = interval(lo, hi, digits)
    return f"{value:.{digits}f}" + (f" {around}" if around else "")


def tie_note(lo: float | None, hi: float | None) -> str:
    """What a lift interval (failing over passing) says when it does not clearly tie an issue to failing: "more in
    passing" when it lies below 1, "not clearly tied" when it reaches 1, "" otherwise. A stated or response-shown
    failure is listed without a test on the outcome, so the reader is told."""
    if lo is None or hi is None:
        return ""
    return "more in passing" if hi < 1 else "not clearly tied" if lo <= 1 else ""


def compared_note(n_compared: int | None, n_units: int | None) -> str:
    """'mostly from comparisons' when most of an issue's responses are in it only because the judge said the other
    answer was better at it ("Output (a) is more detailed"): they lost by construction, so the lift says how the judge
    explains its preferences, not that the failure goes with losing; "" otherwise."""
    return "mostly from comparisons" if n_units and 2 * (n_compared or 0) > n_units else ""


def lift_notes(lo: float | None, hi: float | None, n_compared: int | None, n_units: int | None) -> str:
    """tie_note and compared_note together, "; "-joined ("" when neither applies): what a reader must know before
    reading an issue's lift as a tie to failing."""
    return "; ".join(n for n in (tie_note(lo, hi), compared_note(n_compared, n_units)) if n)


def unexplained_note(explained: dict, read: str | None) -> str:
    """How many failing responses no named issue explains (iset.explained()), and where to read what their critiques
    say: nothing is pushed into a name that does not fit, so this is shown, not hidden."""
    n, without = explained["failing_units"], explained["failing_without_issue"]
    if not n:
        return "no failing responses in the selection"
    where = f"; {read} lists what their critiques say" if read else ""
    silent = explained.get("failing_without_statement") or 0
    of_them = f" ({silent:,} of them state no failure: a bare score or verdict, or only praise)" if silent else ""
    return (
        f"{without:,} of the {n:,} failing responses ({without / n:.0%}) have no named issue{of_them}; "
        f"{explained['unexplained_statements']:,} of {explained['problem_statements']:,} critical statements are in "
        f"no issue{where}"
    )


def unmapped_note(names: dict[str, int]) -> str | None:
    """Why statements of pairwise critiques count for neither response: the judge names the responses in a way the
    data does not map ("Model 'M'", an issue set's stats `unmapped_names`); None when none do."""
    if not names:
        return None
    n = sum(names.values())
    listed = ", ".join(f"“{name}” ({k:,})" for name, k in names.items())
    return (
        f"{count(n, 'statement')} of pairwise critiques name their response as {listed}, which the data does not map "
        "to response a or b, so they count for neither; give each row's mapping in a `slot_aliases` column "
        '({"M": "a", "m": "b"}) or import with the judge\'s own format (docs/ingest.md; AlpacaEval\'s leaves a row '
        "unmapped where the judge ranked both answers equal)"
    )


def cell(value) -> str:
    """A plain-text table cell: floats to 3 decimals, integers with thousands separators, one line."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("\n", " ")

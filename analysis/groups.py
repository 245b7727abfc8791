"""What results can be broken down by: one vocabulary for score tables, issue prevalence, comparisons and
reports. A key is a judgment column (`model`, `judge`, …) or `meta.<key>`, a metadata facet of the
judgment or its item; a metadata key must be one the workspace has.

Group labels are filter values: a row labelled `overall` is selected by `criterion=overall`, one
labelled `(none)` by `template=(none)`, so every table row can be opened as a filter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import UserError
from .filters import NONE, OVERALL
from .sql import ident, json_path

META_PREFIX = "meta."
# key -> SQL over judgment_view `j` (a single value per judgment)
COLUMNS: dict[str, str] = {
    "model": "j.model",
    "judge": "j.judge",
    "criterion": f"coalesce(j.criterion, '{OVERALL}')",
    "template": f"coalesce(j.template, '{NONE}')",
    "dataset": "j.dataset",
    "category": f"coalesce(j.category, '{NONE}')",
    "run": "j.run_id",
    "protocol": "j.protocol",
}
KEYS = tuple(COLUMNS)
# a pairwise judgment is about two models: grouped by model, it counts for both
_MODELS = "list_distinct(list_filter([j.model, j.model_a, j.model_b], lambda x: x IS NOT NULL))"


@dataclass(frozen=True)
class Group:
    key: str  # as given: "model", "meta.subset"
    scalar: str  # SQL over j: one value per judgment (for pairwise "model": NULL; use `values`)
    values: str  # SQL over j: a list of the judgment's groups
    params: tuple  # positional parameters of `scalar` (and of `values`), in order

    @property
    def alias(self) -> str:
        """The key as a quoted column alias."""
        return ident(self.key)

    def named(self, name: str = "gpath") -> tuple[str, str, dict]:
        """(scalar, values, params) with named parameters, for statements that use $names."""
        if not self.params:
            return self.scalar, self.values, {}
        return (self.scalar.replace("?", f"${name}"), self.values.replace("?", f"${name}"), {name: self.params[0]})


def resolve_group(by: str, meta_keys: Callable[[], list[str]], allowed: tuple[str, ...] | None = None) -> Group:
    """A Group for `by`, or a one-line UserError naming the keys that exist."""
    by = str(by or "").strip()
    keys = allowed or KEYS
    if by in COLUMNS and by in keys:
        values = _MODELS if by == "model" else f"[{COLUMNS[by]}]"
        return Group(by, COLUMNS[by], values, ())
    if by.startswith(META_PREFIX) and (allowed is None or "meta" in allowed):
        key = by[len(META_PREFIX) :]
        known = meta_keys()
        if key not in known:
            shown = ", ".join(repr(k) for k in known[:12]) + (" …" if len(known) > 12 else "")
            raise UserError(
                f"cannot group by {by!r}: the workspace has no metadata key {key!r}"
                + (f" (keys: {shown})" if known else " (it has no metadata keys)")
            )
        path = json_path(key)
        expr = "coalesce(json_extract_string(j.meta, ?), json_extract_string(j.item_meta, ?))"
        # both placeholders take the same path: callers pass params twice (see `params`)
        return Group(by, expr, f"[{expr}]", (path, path))
    names = ", ".join(k for k in KEYS if k in keys)
    meta = " or meta.<key>" if allowed is None or "meta" in allowed else ""
    raise UserError(f"cannot group by {by!r}; choose one of {names}{meta}")

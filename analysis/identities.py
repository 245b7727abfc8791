"""One identity per model and judge.

Datasets spell the same model differently: LLMBar's judge is ``GPT-4``, arena-bench's ``gpt-4``; AlpacaEval
writes ``gpt4_1106_preview`` where others write ``gpt-4-1106-preview``; Inspect AI says ``openai/gpt-4o-mini``
and promptfoo ``openai:gpt-4o-mini``. Left alone, every per-judge and per-model figure is split in two. At
import, every judge and model name (``judge``, ``model``, ``model_a``, ``model_b`` of judgments, labels and
responses) is resolved to one canonical name; when that changes it, the raw name stays in the row's meta
(``meta.raw_judge``, ``meta.raw_model``, ``meta.raw_model_a``, ``meta.raw_model_b``).

Resolution, first match wins:

1. **Your aliases** (``[aliases]`` in a TOML file, below), matched ignoring case and separators.
2. **Built-in rewrites**, each one a different spelling of exactly the same model:

   - a maker's own namespace in front of the maker's model is dropped: ``openai/gpt-4o`` (Inspect AI),
     ``openai:gpt-4o`` and ``openai:chat:gpt-4o`` (promptfoo), ``anthropic/claude-3-opus-20240229``,
     ``google/gemma-7b``, ``meta-llama/Llama-2-7b-chat-hf``, ``mistralai/Mistral-7B-Instruct-v0.2`` ... (the
     namespaces in ``MAKER_NAMESPACES``); a host that is not the maker (``together/``, ``openrouter/``,
     ``ollama/`` -- often a quantised build --, ``azure:`` deployments, Bedrock ids) is kept;
   - ``gpt-35-turbo...`` (Azure's spelling) and ``gpt35_turbo...`` (AlpacaEval's) are OpenAI's
     ``gpt-3.5-turbo...``.

3. **Case and separators**: names that differ only in case, ``-``, ``_``, spaces or their absence (``GPT-4``,
   ``gpt-4``, ``gpt_4``, ``gpt4``; ``chatgpt``, ``chat_gpt``, ``ChatGPT``) are one identity. Its spelling is the
   one already stored in the workspace (as a judge or a model), else the first one in the import, so names
   already in a workspace never change. Pin a spelling with an alias if the import order should not decide.

Deliberately **not** merged, because they are not the same model: dated snapshots and their family name
(``gpt-4-0314``, ``gpt-4-0613``, ``gpt-4``: different weights behind one name over time); ``chatgpt`` and
``gpt-3.5-turbo`` (ChatGPT is a product whose model changed: LLMBar's ``ChatGPT`` is a gpt-3.5-turbo snapshot,
other datasets' may be GPT-4 class); sizes, ``-instruct``/``-chat`` variants, quantised or fine-tuned builds,
and hosts that may serve modified weights. Add any of these yourself when you know they are the same.

The user file (``judgescope.aliases.toml`` beside the workspace file, or a path given with
``--aliases`` / ``aliases=``)::

    [aliases]                       # alias = canonical name (matched ignoring case and separators)
    "chatgpt" = "gpt-3.5-turbo-0613"
    "my-judge-v2" = "gpt-4o-2024-08-06"
    "gpt-4o" = ["gpt4o-azure", "gpt-4o-deploy"]   # or: canonical = [aliases]

    [families]                      # name pattern = model family, for the self-preference audit
    "my-finetune" = "meta"
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError

ALIAS_FILE = "judgescope.aliases.toml"

# Namespaces of model makers in front of their own models: an API router's provider (Inspect AI
# "openai/gpt-4o", promptfoo "openai:gpt-4o") or the maker's Hugging Face organisation.
MAKER_NAMESPACES = (
    "openai",
    "anthropic",
    "google",
    "mistral",
    "mistralai",
    "meta",
    "meta-llama",
    "xai",
    "deepseek",
    "deepseek-ai",
    "qwen",
    "microsoft",
    "tiiuae",
    "cohere",
)
_MAKER = re.compile(
    r"^(?:" + "|".join(re.escape(n) for n in MAKER_NAMESPACES) + r")[/:]"
    r"(?:(?:chat|completion|messages|responses)[/:])?(?=[^/:\s])",
    re.IGNORECASE,
)
_AZURE_35 = re.compile(r"^gpt[-_ ]?35(?=[-_ ]turbo)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s_\-]+")
# the meta key that keeps a renamed field's raw value
RAW_KEYS = {"judge": "raw_judge", "model": "raw_model", "model_a": "raw_model_a", "model_b": "raw_model_b"}


def name_key(name: str) -> str:
    """The spelling-insensitive key of a name: case-folded, without '-', '_' or spaces ('GPT-4' -> 'gpt4')."""
    return _SEPARATORS.sub("", name.strip().casefold())


def rewrite(name: str) -> str:
    """The built-in rewrites (maker namespace, Azure's gpt-35): the same model's usual name."""
    text = name.strip()
    stripped = _MAKER.sub("", text, count=1)
    if stripped != text and "/" in stripped and ":" not in text:
        stripped = text  # "meta/llama/x": more than a namespace, keep it
    if _AZURE_35.match(stripped):  # gpt-35-turbo (Azure), gpt35_turbo_instruct (AlpacaEval): OpenAI's spelling
        return re.sub(r"[_ ]", "-", _AZURE_35.sub("gpt-3.5", stripped, count=1))
    return stripped


@dataclass
class Identities:
    """User aliases (alias key -> canonical name) and family patterns, plus the built-in rules."""

    aliases: dict[str, str] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    _cache: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path | None = None, *, required: bool = False) -> Identities:
        """Read a TOML alias file; no file (or path None) gives the built-in rules only."""
        if path is None:
            return cls()
        path = Path(path).expanduser()
        if not path.is_file():
            if required:
                raise UserError(f"alias file {path} does not exist")
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: not a readable TOML alias file ({exc})") from None
        unknown = set(data) - {"aliases", "families"}
        if unknown:
            raise UserError(
                f"{path}: unknown section(s) {', '.join(sorted(unknown))}; expected [aliases] and [families]"
            )
        aliases: dict[str, str] = {}
        for key, value in (data.get("aliases") or {}).items():
            if isinstance(value, str) and value.strip():
                aliases[name_key(key)] = value.strip()
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                aliases[name_key(key)] = key.strip()
                for v in value:
                    aliases[name_key(v)] = key.strip()
            else:
                raise UserError(f"{path}: alias {key!r} must be a name or a list of names, got {value!r}")
        families = {}
        for key, value in (data.get("families") or {}).items():
            if not isinstance(value, str):
                raise UserError(f"{path}: family of {key!r} must be a name, got {value!r}")
            families[key] = value
        return cls(aliases, families, str(path))

    def canonical(self, name: str | None) -> str | None:
        """The name's identity without a workspace: a user alias, else the built-in rewrites."""
        if name is None:
            return None
        text = str(name).strip()
        if not text:
            return name
        hit = self._cache.get(text)
        if hit is None:
            hit = self.aliases.get(name_key(text))
            if hit is None:
                new = rewrite(text)
                hit = self.aliases.get(name_key(new), new)
            if len(self._cache) < 100_000:
                self._cache[text] = hit
        return hit

    def resolve(self, names: Iterable[str], known: Iterable[str] = ()) -> dict[str, str]:
        """raw name -> canonical name for every name that changes. `known` are the names already stored
        (their spelling wins for names that differ only in case and separators), then first come first served."""
        spelling: dict[str, str] = {}
        for k in known:
            if k:
                spelling.setdefault(name_key(k), k)
        out: dict[str, str] = {}
        for raw in names:
            if raw is None or not str(raw).strip():
                continue
            new = self.canonical(raw) or raw
            final = spelling.setdefault(name_key(new), new)
            if final != raw:
                out[raw] = final
        return out

    def family_map(self, extra: dict[str, str] | None = None) -> dict[str, str] | None:
        merged = {**self.families, **(extra or {})}
        return merged or None


DEFAULT = Identities()


def for_workspace(workspace_path: str | Path | None, explicit: str | Path | Identities | None = None) -> Identities:
    """The identities for a workspace: an explicit file or object, else judgescope.aliases.toml beside it."""
    if isinstance(explicit, Identities):
        return explicit
    if explicit is not None:
        return Identities.load(explicit, required=True)
    if workspace_path is None:
        return DEFAULT
    return Identities.load(Path(workspace_path).expanduser().resolve().parent / ALIAS_FILE)


# ---- applying identities to the flat frames of an import --------------------------------------------------
def stored_names(con) -> list[str]:
    """Judge and model names already in the workspace (this import's earlier batches included), oldest first."""
    rows = con.execute("""
        SELECT name FROM (
            SELECT j.judge AS name, min(r.created_at) AS t FROM judgments j LEFT JOIN runs r USING (run_id) GROUP BY 1
            UNION ALL
            SELECT s.model, min(r.created_at) FROM responses s LEFT JOIN items i USING (item_id)
            LEFT JOIN runs r ON r.run_id = i.run_id GROUP BY 1)
        WHERE name IS NOT NULL GROUP BY name ORDER BY min(t) NULLS LAST, name""").fetchall()
    return [r[0] for r in rows]


def _with_raw(meta: Any, raws: dict[str, str]) -> str:
    try:
        obj = json.loads(meta) if isinstance(meta, str) and meta else {}
    except json.JSONDecodeError:
        obj = {"meta": meta}
    if not isinstance(obj, dict):
        obj = {"meta": obj}
    for k, v in raws.items():
        obj.setdefault(k, v)
    return json.dumps(obj, ensure_ascii=False, default=str, sort_keys=True)


def apply(con, identities: Identities, *frames):
    """Canonical judge/model names in each polars frame (None passes through); renamed fields keep their raw
    value in `meta` where the frame has one. Returns the frames in the same order."""
    import polars as pl

    cols = [c for c in RAW_KEYS]
    names: list[str] = []
    for df in frames:
        if df is None or df.height == 0:
            continue
        for c in cols:
            if c in df.columns:
                names.extend(df.get_column(c).cast(pl.String).drop_nulls().unique(maintain_order=True).to_list())
    if not names:
        return frames
    mapping = identities.resolve(dict.fromkeys(names), stored_names(con))
    if not mapping:
        return frames
    out = []
    for df in frames:
        if df is None or df.height == 0:
            out.append(df)
            continue
        present = [c for c in cols if c in df.columns]
        changed = (
            pl.any_horizontal([pl.col(c).cast(pl.String).is_in(list(mapping)) for c in present])
            if present
            else pl.lit(False)
        )
        if "meta" in df.columns and present:
            df = df.with_row_index("_idx")
            hit = df.filter(changed.fill_null(False))
            if hit.height:
                metas = []
                for row in hit.select(["meta", *present]).iter_rows(named=True):
                    raws = {RAW_KEYS[c]: row[c] for c in present if row[c] in mapping}
                    metas.append(_with_raw(row["meta"], raws))
                update = pl.DataFrame({"_idx": hit["_idx"], "_meta": pl.Series(metas, dtype=pl.String)})
                df = (
                    df.join(update, on="_idx", how="left")
                    .with_columns(pl.coalesce("_meta", pl.col("meta").cast(pl.String)).alias("meta"))
                    .drop("_meta")
                )
            df = df.sort("_idx").drop("_idx")
        df = df.with_columns([pl.col(c).cast(pl.String).replace(mapping).alias(c) for c in present])
        out.append(df)
    return tuple(out)

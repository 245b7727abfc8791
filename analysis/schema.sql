-- judgescope workspace schema, version 1. See docs/data-model.md.
-- Ids are deterministic md5 hashes; uniqueness is kept by the writer's anti-joins rather than
-- PRIMARY KEY indexes, which made a million-row import several times slower.
CREATE TABLE IF NOT EXISTS workspace_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    source_format VARCHAR NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR,
    created_at TIMESTAMP NOT NULL,
    n_source_rows BIGINT NOT NULL,
    n_ingested BIGINT NOT NULL,
    n_already_present BIGINT NOT NULL,
    n_rejected BIGINT NOT NULL,
    params JSON
);

CREATE TABLE IF NOT EXISTS items (
    item_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    prompt VARCHAR,
    reference VARCHAR,
    category VARCHAR,
    meta JSON
);

CREATE TABLE IF NOT EXISTS responses (
    response_id VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    model VARCHAR,
    text VARCHAR,
    n_chars INTEGER
);

CREATE TABLE IF NOT EXISTS judgments (
    judgment_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    judge VARCHAR NOT NULL,
    protocol VARCHAR NOT NULL CHECK (protocol IN ('pointwise', 'pairwise')),
    criterion VARCHAR,
    response_id VARCHAR,
    response_a VARCHAR,
    response_b VARCHAR,
    shown_first VARCHAR CHECK (shown_first IN ('a', 'b')),
    verdict VARCHAR CHECK (verdict IN ('a', 'b', 'tie')),
    score DOUBLE,
    scale_min DOUBLE,
    scale_max DOUBLE,
    score_norm DOUBLE,
    critique VARCHAR,
    raw_output VARCHAR,
    parse_status VARCHAR NOT NULL CHECK (parse_status IN ('ok', 'unparsed', 'missing')),
    template VARCHAR,
    sample INTEGER NOT NULL DEFAULT 0,
    probe VARCHAR,
    parent_judgment_id VARCHAR,
    source_key VARCHAR NOT NULL,
    source_line BIGINT,
    meta JSON
);

CREATE TABLE IF NOT EXISTS labels (
    label_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    response_id VARCHAR,
    response_a VARCHAR,
    response_b VARCHAR,
    annotator VARCHAR NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('human', 'gold')),
    criterion VARCHAR,
    score DOUBLE,
    scale_min DOUBLE,
    scale_max DOUBLE,
    score_norm DOUBLE,
    verdict VARCHAR CHECK (verdict IN ('a', 'b', 'tie')),
    meta JSON
);

CREATE TABLE IF NOT EXISTS criteria (
    run_id VARCHAR NOT NULL,
    criterion VARCHAR NOT NULL,
    description VARCHAR,
    scale_min DOUBLE,
    scale_max DOUBLE,
    levels JSON,
    PRIMARY KEY (run_id, criterion)
);

CREATE TABLE IF NOT EXISTS rejects (
    reject_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    line BIGINT,
    "column" VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR
);

-- One row per judgment with the item, the evaluated response(s) and their models joined in.
-- Every filter compiles to a WHERE clause over this view (alias j).
CREATE OR REPLACE VIEW judgment_view AS
SELECT
    jd.*,
    it.dataset,
    it.category,
    it.prompt,
    it.reference,
    it.meta AS item_meta,
    r.model AS model,
    ra.model AS model_a,
    rb.model AS model_b,
    r.n_chars AS n_chars,
    ra.n_chars AS n_chars_a,
    rb.n_chars AS n_chars_b
FROM judgments jd
JOIN items it USING (item_id)
LEFT JOIN responses r ON r.response_id = jd.response_id
LEFT JOIN responses ra ON ra.response_id = jd.response_a
LEFT JOIN responses rb ON rb.response_id = jd.response_b;

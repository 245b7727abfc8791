-- judgescope workspace schema, version 3. See docs/data-model.md.
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
    meta JSON,
    -- copied from the item and the response(s) at import (write-once), so that filters and aggregates
    -- over judgments need no join
    dataset VARCHAR,
    category VARCHAR,
    model VARCHAR,
    model_a VARCHAR,
    model_b VARCHAR,
    n_chars INTEGER,
    n_chars_a INTEGER,
    n_chars_b INTEGER
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

-- One row per judgment with its item's text joined in. Every filter compiles to a WHERE clause over
-- this view (alias j).
CREATE OR REPLACE VIEW judgment_view AS
SELECT jd.*, it.prompt, it.reference, it.meta AS item_meta
FROM judgments jd
JOIN items it USING (item_id);

-- ---- derived: issue discovery (schema version 2) -------------------------------------------------
CREATE TABLE IF NOT EXISTS embeddings (
    text_hash VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL
);

CREATE TABLE IF NOT EXISTS issue_sets (
    issue_set_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    filter VARCHAR NOT NULL,
    params JSON NOT NULL,
    stats JSON,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS issue_set_members (  -- the judgments an issue set looked at (its instances)
    issue_set_id VARCHAR NOT NULL,
    judgment_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS segments (
    issue_set_id VARCHAR NOT NULL,
    segment_id VARCHAR NOT NULL,
    judgment_id VARCHAR NOT NULL,
    ord INTEGER NOT NULL,
    text VARCHAR NOT NULL,
    masked VARCHAR,
    kind VARCHAR NOT NULL,          -- the cue rules' reading: problem, praise, verdict, neutral, task
    used BOOLEAN NOT NULL,           -- clustered
    response_id VARCHAR,             -- the response it counts for or against (pairwise: the slot it names), or NULL
    about VARCHAR                    -- self (a statement about response_id), contrast (a reason the other won), each
                                     -- (a failure stated of both: one row per response, the second's ord + 1,000,000)
);

CREATE TABLE IF NOT EXISTS issue_set_units (  -- the responses an issue set's judgments judged, with their outcome
    issue_set_id VARCHAR NOT NULL,
    judgment_id VARCHAR NOT NULL,
    response_id VARCHAR,
    model VARCHAR,
    outcome DOUBLE,                  -- normalised score, or 1 / 0.5 / 0 for preferred / tie / not preferred
    failing BOOLEAN                  -- NULL: the outcome cannot say (a tie, no score or verdict)
);

CREATE TABLE IF NOT EXISTS issues (
    issue_set_id VARCHAR NOT NULL,
    issue_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    keywords VARCHAR[],
    description VARCHAR,
    origin VARCHAR NOT NULL,         -- cluster, taxonomy, merge, split
    status VARCHAR NOT NULL,         -- active, merged, dropped
    rank INTEGER,
    kind VARCHAR NOT NULL DEFAULT 'issue',   -- issue or strength
    category VARCHAR,                -- a lexicon category key (correctness, code, …)
    named_by VARCHAR                 -- lexicon, phrase, llm, taxonomy, user
);

CREATE TABLE IF NOT EXISTS segment_issues (
    issue_set_id VARCHAR NOT NULL,
    segment_id VARCHAR NOT NULL,
    issue_id VARCHAR NOT NULL,
    similarity DOUBLE,
    how VARCHAR NOT NULL             -- cluster, reassigned, taxonomy
);

CREATE TABLE IF NOT EXISTS coords (
    issue_set_id VARCHAR NOT NULL,
    segment_id VARCHAR NOT NULL,
    x DOUBLE NOT NULL,
    y DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS issue_marks (   -- a reader's check of one example: does it have the issue? (version 4)
    issue_set_id VARCHAR NOT NULL,
    issue_id VARCHAR NOT NULL,
    judgment_id VARCHAR NOT NULL,
    fits BOOLEAN NOT NULL,           -- true: the judgment has the issue; false: it does not
    who VARCHAR NOT NULL,
    marked_at TIMESTAMP NOT NULL,
    note VARCHAR
);

CREATE TABLE IF NOT EXISTS issue_events (
    issue_set_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    happened_at TIMESTAMP NOT NULL,
    action VARCHAR NOT NULL,         -- created, auto-merge, rename, merge, split, drop
    detail JSON
);

CREATE TABLE IF NOT EXISTS llm_calls (
    request_hash VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    request JSON NOT NULL,
    response JSON,
    tokens_in INTEGER,
    tokens_out INTEGER,
    latency_s DOUBLE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS llm_failures (     -- requests a judge run gave up on (retried again on a re-run)
    request_hash VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    error VARCHAR NOT NULL,          -- never holds the API key
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

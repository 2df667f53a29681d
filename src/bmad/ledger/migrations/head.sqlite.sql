-- The ledger's schema at the head revision, for a new SQLite file (bmad/ledger/sqlite_head.py).
-- It equals what `alembic upgrade head` creates; tests/ledger/test_sqlite_head.py compares them.
-- Statements end with a semicolon at the end of a line.

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE releases (
    id INTEGER NOT NULL,
    service VARCHAR(63) NOT NULL,
    environment VARCHAR(63) NOT NULL,
    version VARCHAR(64) NOT NULL,
    dirty BOOLEAN NOT NULL,
    commit_time DATETIME,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_release UNIQUE (service, environment, version)
);

CREATE TABLE phase_runs (
    id INTEGER NOT NULL,
    release_id INTEGER NOT NULL,
    phase VARCHAR(16) NOT NULL,
    attempt INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    started_at DATETIME NOT NULL,
    finished_at DATETIME,
    forced_reason TEXT,
    metrics JSON NOT NULL,
    artifacts JSON NOT NULL,
    message TEXT NOT NULL,
    evidence_dir TEXT,
    owner VARCHAR(200),
    pid INTEGER,
    host VARCHAR(255),
    chain_seq INTEGER,
    prev_hash VARCHAR(64),
    hash VARCHAR(64),
    actor VARCHAR(200),
    ci_run_url TEXT,
    ci_trigger VARCHAR(64),
    PRIMARY KEY (id),
    FOREIGN KEY(release_id) REFERENCES releases (id),
    UNIQUE (chain_seq)
);

CREATE INDEX ix_phase_runs_release_phase ON phase_runs (release_id, phase);

CREATE TABLE check_results (
    id INTEGER NOT NULL,
    phase_run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    check_id VARCHAR(200) NOT NULL,
    title TEXT NOT NULL,
    status VARCHAR(8) NOT NULL,
    duration_seconds FLOAT NOT NULL,
    data JSON NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(phase_run_id) REFERENCES phase_runs (id)
);

CREATE INDEX ix_check_results_phase_run_id ON check_results (phase_run_id);

CREATE TABLE rollbacks (
    id INTEGER NOT NULL,
    release_id INTEGER NOT NULL,
    from_version VARCHAR(64) NOT NULL,
    to_version VARCHAR(64),
    reason TEXT NOT NULL,
    detected_at DATETIME NOT NULL,
    recovered_at DATETIME,
    mttr_seconds FLOAT,
    manual BOOLEAN NOT NULL,
    chain_seq INTEGER,
    prev_hash VARCHAR(64),
    hash VARCHAR(64),
    PRIMARY KEY (id),
    FOREIGN KEY(release_id) REFERENCES releases (id),
    UNIQUE (chain_seq)
);

CREATE INDEX ix_rollbacks_release_id ON rollbacks (release_id);

CREATE TABLE locks (
    service VARCHAR(63) NOT NULL,
    environment VARCHAR(63) NOT NULL,
    owner VARCHAR(200) NOT NULL,
    pid INTEGER NOT NULL,
    host VARCHAR(255) NOT NULL,
    acquired_at DATETIME NOT NULL,
    lease_until DATETIME NOT NULL,
    heartbeat_at DATETIME NOT NULL,
    PRIMARY KEY (service, environment)
);

CREATE TABLE chain_head (
    id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    hash VARCHAR(64) NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE phase_spans (
    id INTEGER NOT NULL,
    phase_run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    kind VARCHAR(32) NOT NULL,
    label TEXT NOT NULL,
    started_at DATETIME NOT NULL,
    finished_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(phase_run_id) REFERENCES phase_runs (id)
);

CREATE INDEX ix_phase_spans_phase_run_id ON phase_spans (phase_run_id);

CREATE TABLE notifications (
    id INTEGER NOT NULL,
    release_id INTEGER NOT NULL,
    event VARCHAR(32) NOT NULL,
    title TEXT NOT NULL,
    channel VARCHAR(200) NOT NULL,
    channel_type VARCHAR(16) NOT NULL,
    sent_at DATETIME NOT NULL,
    delivered BOOLEAN NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(release_id) REFERENCES releases (id)
);

CREATE INDEX ix_notifications_release_id ON notifications (release_id);

-- Budgets for the managers' dashboard: per ente, year and area di utenza, in euro cents,
-- with who set each figure and when. Setting a year's budget replaces its rows.
CREATE TABLE budgets (
    ente TEXT NOT NULL REFERENCES enti (istat),
    year INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    area_utenza TEXT NOT NULL CHECK (area_utenza IN ('famiglia_minori', 'disabili', 'dipendenze', 'anziani',
        'immigrati_nomadi', 'poverta_disagio_adulti', 'multiutenza')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    set_by BIGINT NOT NULL REFERENCES users (id),
    set_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ente, year, area_utenza)
);

//! Settings: defaults, then `mosaico.toml` (if present or named), then environment
//! variables (`MOSAICO_*`), then command-line flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Mosaico's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Working folder for generated samples and secrets (`data`).
    pub data_dir: PathBuf,
    /// Warehouse location: a folder or an object-store URL (default `<data_dir>/warehouse`).
    pub warehouse: Option<String>,
    /// The real reference data (`data-samples/reference`).
    pub reference_dir: PathBuf,
    /// Published counts below this are suppressed (default 5).
    pub suppression_threshold: u64,
    /// File holding the pseudonymisation secret (default `<data_dir>/secrets/pseudonym.key`);
    /// `MOSAICO_PSEUDONYM_KEY` takes precedence. Never inside the warehouse.
    pub pseudonym_key_file: Option<PathBuf>,
    /// The case database: `sqlite://path` or `postgres://…` (default: `cases.db` in
    /// the data folder).
    pub case_database: Option<String>,
    /// Whether session cookies carry `Secure` (default true; `mosaico demo`, which
    /// serves plain HTTP on loopback, turns it off unless set here).
    pub secure_cookies: Option<bool>,
    /// What `mosaico ingest all` loads: source → file (a folder for `territory`).
    pub ingest: Option<std::collections::BTreeMap<String, PathBuf>>,
    /// The catalogue of targets, a TOML file like `analytics/targets.toml` (default: the
    /// built-in one); `MOSAICO_TARGETS` takes precedence.
    pub targets: Option<PathBuf>,
    /// Co-payment rules per service, a TOML file like `domain/copay.toml` (default: the
    /// built-in one).
    pub copay_rules: Option<PathBuf>,
    /// Limits of the analysts' SQL endpoint (`[sql]`).
    pub sql: SqlConfig,
}

/// The `[sql]` table: limits of `/api/v1/sql`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqlConfig {
    /// A query planned and run longer than this is stopped (default 30;
    /// `MOSAICO_SQL_TIMEOUT_SECS`).
    pub timeout_secs: u64,
    /// The engine's memory for one query, in MiB (default 512; no spilling to disk;
    /// `MOSAICO_SQL_MEMORY_MIB`).
    pub memory_mib: u64,
    /// The most rows a result may have (default 1,000,000; `MOSAICO_SQL_MAX_ROWS`).
    pub max_rows: u64,
}

impl Default for SqlConfig {
    fn default() -> Self {
        let d = crate::sql::Limits::default();
        Self {
            timeout_secs: d.timeout.as_secs(),
            memory_mib: (d.memory_bytes >> 20) as u64,
            max_rows: d.max_rows as u64,
        }
    }
}

impl SqlConfig {
    /// The limits the endpoint applies.
    pub fn limits(&self) -> crate::sql::Limits {
        crate::sql::Limits {
            timeout: std::time::Duration::from_secs(self.timeout_secs),
            memory_bytes: usize::try_from(self.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            max_rows: usize::try_from(self.max_rows).unwrap_or(usize::MAX),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            warehouse: None,
            reference_dir: PathBuf::from(mosaico_ingest::reference::DEFAULT_DIR),
            suppression_threshold: mosaico_analytics::DEFAULT_THRESHOLD,
            pseudonym_key_file: None,
            case_database: None,
            secure_cookies: None,
            ingest: None,
            targets: None,
            copay_rules: None,
            sql: SqlConfig::default(),
        }
    }
}

/// A configuration problem, naming the file or variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Loads the layered configuration. `file` must exist if given; otherwise
    /// `./mosaico.toml` is read when present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = file.map(Path::to_owned).or_else(|| Some(PathBuf::from("mosaico.toml")).filter(|p| p.exists()));
        let mut cfg = match path {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse { path, message: e.to_string() })?
            }
            None => Config::default(),
        };
        if let Ok(v) = std::env::var("MOSAICO_DATA_DIR") {
            cfg.data_dir = v.into();
        }
        if let Ok(v) = std::env::var("MOSAICO_WAREHOUSE") {
            cfg.warehouse = Some(v);
        }
        if let Ok(v) = std::env::var("MOSAICO_REFERENCE_DIR") {
            cfg.reference_dir = v.into();
        }
        if let Ok(v) = std::env::var("MOSAICO_TARGETS") {
            cfg.targets = Some(v.into());
        }
        if let Ok(v) = std::env::var("MOSAICO_CASE_DATABASE") {
            cfg.case_database = Some(v);
        }
        if let Ok(v) = std::env::var("MOSAICO_SECURE_COOKIES") {
            cfg.secure_cookies = Some(match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "MOSAICO_SECURE_COOKIES",
                        message: format!("'{v}' is not true or false"),
                    });
                }
            });
        }
        for (name, slot) in [
            ("MOSAICO_SQL_TIMEOUT_SECS", &mut cfg.sql.timeout_secs),
            ("MOSAICO_SQL_MEMORY_MIB", &mut cfg.sql.memory_mib),
            ("MOSAICO_SQL_MAX_ROWS", &mut cfg.sql.max_rows),
        ] {
            if let Ok(v) = std::env::var(name) {
                *slot = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError::Env {
                    name,
                    message: format!("'{v}' is not a whole number above 0"),
                })?;
            }
        }
        if let Ok(v) = std::env::var("MOSAICO_SUPPRESSION_THRESHOLD") {
            cfg.suppression_threshold = v.parse().map_err(|_| ConfigError::Env {
                name: "MOSAICO_SUPPRESSION_THRESHOLD",
                message: format!("'{v}' is not a whole number"),
            })?;
        }
        Ok(cfg)
    }

    /// The sources `mosaico ingest all` loads, from the `[ingest]` table.
    pub fn ingest_sources(&self) -> anyhow::Result<Vec<(String, PathBuf)>> {
        let Some(map) = self.ingest.as_ref().filter(|m| !m.is_empty()) else {
            anyhow::bail!(
                "no sources to ingest: list them in mosaico.toml, e.g.\n\n[ingest]\nterritory = \"data-samples/reference\"\ncrosswalk = \"data-samples/reference/istat_sezioni2011_to_nil2012.csv\"\ncensus = \"data-samples/reference/istat_censimento2011_sezioni_milano.csv\"\nregistry = \"data/sample/registry.csv\""
            );
        };
        crate::ingest::ordered(&map.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>())
    }

    /// The catalogue of targets: the configured file, or the built-in one.
    pub fn catalogue(&self) -> anyhow::Result<mosaico_analytics::targets::Catalogue> {
        use anyhow::Context as _;
        use mosaico_analytics::targets::Catalogue;
        match &self.targets {
            None => Ok(Catalogue::built_in()?),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
                Ok(Catalogue::parse(&text, &path.display().to_string())?)
            }
        }
    }

    /// The co-payment rules: the configured file, checked, or the built-in ones.
    pub fn copay_rules(&self) -> anyhow::Result<mosaico_domain::copay::Rules> {
        use anyhow::Context as _;
        use mosaico_domain::copay::Rules;
        match &self.copay_rules {
            None => Ok(Rules::builtin()),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
                Rules::from_toml(&text).with_context(|| path.display().to_string())
            }
        }
    }

    /// The case database URL.
    pub fn case_database_url(&self) -> String {
        self.case_database.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("cases.db").display()))
    }

    /// The warehouse location.
    pub fn warehouse_location(&self) -> String {
        self.warehouse.clone().unwrap_or_else(|| self.data_dir.join("warehouse").display().to_string())
    }

    /// The reference folder; when the configured relative path does not exist
    /// (running from another folder), the one beside the sources is used.
    pub fn reference_dir(&self) -> PathBuf {
        if self.reference_dir.exists() || self.reference_dir.is_absolute() {
            return self.reference_dir.clone();
        }
        let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&self.reference_dir);
        if beside.exists() { beside } else { self.reference_dir.clone() }
    }

    /// The pseudonymisation key: `MOSAICO_PSEUDONYM_KEY`, else the key file,
    /// created with 32 random bytes on first use.
    pub fn pseudonym_key(&self) -> anyhow::Result<mosaico_ingest::pseudonym::PseudonymKey> {
        use anyhow::Context as _;
        if let Ok(v) = std::env::var("MOSAICO_PSEUDONYM_KEY") {
            return mosaico_ingest::pseudonym::PseudonymKey::new(v.into_bytes()).context("MOSAICO_PSEUDONYM_KEY");
        }
        let path =
            self.pseudonym_key_file.clone().unwrap_or_else(|| self.data_dir.join("secrets").join("pseudonym.key"));
        if !path.exists() {
            let mut bytes = vec![0u8; 32];
            use std::io::Read as _;
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut bytes))
                .context("reading random bytes for a new pseudonymisation key")?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
            }
            std::fs::write(&path, hex::encode(&bytes)).with_context(|| path.display().to_string())?;
            tracing::info!(path = %path.display(), "created a new pseudonymisation key");
        }
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        mosaico_ingest::pseudonym::PseudonymKey::new(text.trim().as_bytes().to_vec())
            .with_context(|| path.display().to_string())
    }
}

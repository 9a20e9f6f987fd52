//! `mosaico ingest` as a user runs it: every configured source at once, dry runs,
//! progress on a terminal and in a log, a run killed midway, and memory that does not
//! grow with the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `mosaico` with a data folder and warehouse of its own in `dir`.
fn mosaico(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mosaico"));
    c.current_dir(dir)
        .env("MOSAICO_DATA_DIR", dir.join("data"))
        .env("MOSAICO_REFERENCE_DIR", repo().join("data-samples/reference"))
        .env("MOSAICO_PSEUDONYM_KEY", "a test secret of enough bytes")
        .env_remove("MOSAICO_WAREHOUSE")
        .env_remove("MOSAICO_LOG");
    c
}

fn run(c: &mut Command) -> Output {
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sql(dir: &Path, q: &str) -> String {
    let o = run(mosaico(dir).args(["sql", q, "--format", "csv"]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout).lines().nth(1).unwrap_or_default().to_owned()
}

#[test]
fn ingest_all_takes_every_configured_source_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(mosaico(d).args(["ingest", "all"]));
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("[ingest]"), "{}", text(&o.stderr));

    let reference = repo().join("data-samples/reference");
    let sample = repo().join("data-samples/milano-5k");
    let config = format!(
        "[ingest]\nterritory = {:?}\ncrosswalk = {:?}\ncensus = {:?}\nregistry = {:?}\nisee = {:?}\nfacilities = {:?}\ncases = {:?}\ninterventions = {:?}\n",
        reference,
        reference.join("istat_sezioni2011_to_nil2012.csv"),
        reference.join("istat_censimento2011_sezioni_milano.csv"),
        sample.join("registry.csv"),
        sample.join("isee.csv"),
        sample.join("facilities.csv"),
        sample.join("cases.csv"),
        sample.join("interventions.csv"),
    );
    std::fs::write(d.join("mosaico.toml"), config).unwrap();
    let o = run(mosaico(d).args(["ingest", "all", "--quiet"]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let order: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        order,
        ["territory", "crosswalk", "census", "registry", "isee", "facilities", "cases", "interventions"],
        "{out}"
    );
    assert_eq!(out.matches("[loaded]").count(), 8, "{out}");
    assert_eq!(sql(d, "select count(*) from population"), "5000");
    assert_eq!(sql(d, "select sum(p1) from census_sections"), "1242123");
    assert_eq!(sql(d, "select count(*) from ingest_runs"), "8");

    let o = run(mosaico(d).args(["ingest", "all", "--quiet"]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).matches("[unchanged]").count(), 8, "{}", text(&o.stdout));
    assert_eq!(sql(d, "select count(*) from ingest_runs"), "8");

    // A typo in a source name gets the nearest one.
    let o = run(mosaico(d).args(["ingest", "registy", "x.csv"]));
    assert!(text(&o.stderr).contains("unknown source 'registy' (did you mean 'registry'?)"), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("registry       civil-registry export"), "{}", text(&o.stderr));
}

#[test]
fn a_dry_run_reports_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = d.join("isee.csv");
    std::fs::write(
        &bad,
        "protocollo,id_famiglia,codice_fiscale_dichiarante,tipo_isee,valore_isee,data_presentazione,data_scadenza\n\
         P1,F1,,ordinario,100,2026-03-01,2026-12-31\nP2,F2,,ordinario,-1,2026-03-01,2026-12-31\n",
    )
    .unwrap();
    let o = run(mosaico(d).args(["ingest", "isee"]).arg(&bad).arg("--dry-run"));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("[dry_run]") && out.contains("read 2 · loaded 1 · quarantined 1 (out_of_range 1)"), "{out}");
    assert!(out.contains("line 3, column 'valore_isee': out_of_range: -1 is outside 0..=10000000"), "{out}");
    assert!(!d.join("data/warehouse").exists(), "a dry run created the warehouse");
}

#[test]
fn a_terminal_gets_a_progress_bar_and_a_log_gets_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let registry = repo().join("data-samples/milano-5k/registry.csv");
    // Not a terminal: log lines on standard error.
    let o = run(mosaico(d).args(["ingest", "registry"]).arg(&registry));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("reading") && err.contains("registry") && err.contains("read") && !err.contains('\r'),
        "{err}"
    );
    // A terminal (a pseudo-terminal from util-linux `script`): a bar drawn in place.
    let line = format!(
        "{} --warehouse {} ingest registry {} --dry-run",
        env!("CARGO_BIN_EXE_mosaico"),
        d.join("wh2").display(),
        registry.display()
    );
    let o = run(mosaico(d).args(["--version"]));
    assert!(o.status.success());
    let o = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(d)
        .env("MOSAICO_PSEUDONYM_KEY", "a test secret of enough bytes")
        .env("MOSAICO_REFERENCE_DIR", repo().join("data-samples/reference"))
        .output()
        .expect("util-linux `script` for a pseudo-terminal");
    let tty = text(&o.stdout);
    assert!(tty.contains("\rregistry [=========================] 100%  5000 rows"), "{tty:?}");
}

/// A registry of `persons` generated into `dir`.
fn registry(dir: &Path, persons: u64) -> PathBuf {
    let out = dir.join(format!("sample-{persons}"));
    let o = run(mosaico(dir)
        .args(["samples", "generate", "--interventions", "1", "--persons"])
        .arg(persons.to_string())
        .arg("--out")
        .arg(&out));
    assert!(o.status.success(), "{}", text(&o.stderr));
    out.join("registry.csv")
}

/// Runs an ingest and returns its peak resident memory in KiB. glibc's adaptive mmap
/// threshold keeps freed buffers of a long stream resident (RSS then grows with the
/// file even though nothing holds the rows); pinning the threshold measures what the
/// program holds.
fn peak_kib(dir: &Path, file: &Path) -> u64 {
    let mut child = mosaico(dir)
        .env("MALLOC_MMAP_THRESHOLD_", "131072")
        .args(["--warehouse"])
        .arg(dir.join(format!("wh-{}", file.metadata().unwrap().len())))
        .args(["ingest", "registry"])
        .arg(file)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status)
            && let Some(kb) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = peak.max(kb.split_whitespace().nth(1).unwrap().parse().unwrap());
        }
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success());
            return peak;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_run_leaves_the_previous_version_and_a_rerun_completes_and_memory_stays_flat() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let small = repo().join("data-samples/milano-5k/registry.csv");
    let o = run(mosaico(d).args(["ingest", "registry"]).arg(&small));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let big = registry(d, 400_000);

    // Kill a run once its journal is written and it is writing data.
    let mut child = mosaico(d).args(["ingest", "registry"]).arg(&big).arg("--quiet").spawn().unwrap();
    let journal = d.join("data/warehouse/_mosaico/run.json");
    let started = Instant::now();
    while !journal.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(journal.exists(), "the run ended before it could be killed");
    assert_eq!(sql(d, "select count(*) from population"), "5000", "readers must see the previous version");

    let o = run(mosaico(d).args(["ingest", "registry"]).arg(&big).arg("--quiet"));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("[loaded]"), "{}", text(&o.stdout));
    assert_eq!(sql(d, "select count(*) from population"), "400000");
    assert!(!journal.exists());

    // Streaming: doubling the file (past the first files, when the writer's buffers
    // have reached their size) must grow what the run holds by less than the file grew.
    // Holding the rows in Arrow would take more than the file (two 32-character keys and
    // eleven columns a row); streaming holds bounded chunks and batches, the Parquet
    // files being written (up to 8 MiB each) and, for duplicate keys, 16 bytes a row.
    let half = d.join("half.csv");
    let content = std::fs::read_to_string(&big).unwrap();
    let lines: Vec<&str> = content.lines().collect();
    std::fs::write(&half, lines[..=200_000].join("\n") + "\n").unwrap();
    let (small_size, big_size) = (half.metadata().unwrap().len() / 1024, big.metadata().unwrap().len() / 1024);
    let (small_peak, big_peak) = (peak_kib(d, &half), peak_kib(d, &big));
    let grew = big_peak.saturating_sub(small_peak);
    eprintln!("peak {small_peak} → {big_peak} KiB for {small_size} → {big_size} KiB of input");
    assert!(
        grew < big_size - small_size,
        "memory grew by {grew} KiB for {} KiB more input ({small_peak} → {big_peak} KiB)",
        big_size - small_size
    );
}

//! The warehouse on a Ballista cluster: a scheduler and two executors, each a
//! `mosaico-cluster` process on loopback, answer the territorial queries exactly as the
//! embedded engine does, and both executors do part of the work.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::cmp::Ordering;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, UInt64Type};
use datafusion::arrow::record_batch::RecordBatch;
use mosaico_ingest::load::load_sample;
use mosaico_ingest::pipeline::{self, Ingest, Status};
use mosaico_ingest::pseudonym::PseudonymKey;
use mosaico_warehouse::{AsOf, Warehouse};

const BIN: &str = env!("CARGO_BIN_EXE_mosaico-cluster");
/// How long a node may take to start and register.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed 5,000-person sample over the real territory.
async fn warehouse(dir: &Path) -> Warehouse {
    let wh = Warehouse::open(&dir.display().to_string()).unwrap();
    let key = PseudonymKey::new(b"a test secret of enough bytes".to_vec()).unwrap();
    let reference = repo().join("data-samples/reference");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let ingest = Ingest::new(wh.clone(), key, reference.clone(), today);
    let territory = ingest.run_territory(&reference, pipeline::Options::default()).await.unwrap();
    assert_eq!(territory.status, Status::Loaded, "{territory}");
    let sample = repo().join("data-samples/milano-5k");
    let runs = load_sample(&ingest, &sample, pipeline::Options::default()).await.unwrap();
    assert!(runs.iter().all(|r| r.status == Status::Loaded), "{runs:#?}");
    wh
}

/// A process of the cluster, with its output in a file.
struct Node {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Node {
    fn spawn(name: &str, dir: &Path, args: &[String]) -> Node {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .args(args)
            .env("MOSAICO_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {BIN}: {e}"));
        Node { name: name.to_owned(), child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of its output, for error messages.
    fn tail(&self) -> String {
        let out = self.output();
        let lines: Vec<&str> = out.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited ({status}):\n{}", self.name, self.tail())),
            _ => None,
        }
    }
}

/// A scheduler and two executors; killed when dropped, a failed test included.
struct Cluster {
    nodes: Vec<Node>,
    scheduler_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

/// `n` distinct ports free on loopback now (each held until all are found).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// The scheduler's `/readyz` body, if it answers.
fn readyz(port: u16) -> Option<String> {
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

/// Executors registered, from `ready: 2 executors registered` or `not ready: 0/1 …`.
fn executors(body: &str) -> Option<usize> {
    let rest = &body[body.find("ready: ")? + "ready: ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

impl Cluster {
    /// Starts the cluster, trying fresh ports again if a node cannot bind its own.
    fn start() -> Cluster {
        let mut errors = Vec::new();
        for _ in 0..3 {
            match Cluster::try_start() {
                Ok(cluster) => return cluster,
                Err(e) => errors.push(e),
            }
        }
        panic!("the cluster did not start:\n{}", errors.join("\n---\n"));
    }

    fn try_start() -> Result<Cluster, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let ports = free_ports(5);
        let s = ports[0].to_string();
        let mut cluster = Cluster { nodes: Vec::new(), scheduler_port: ports[0], _dir: dir };
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        cluster.nodes.push(Node::spawn("scheduler", &path, &args(&["scheduler", "--bind", "127.0.0.1", "--port", &s])));
        cluster.wait_for(0)?;
        for (i, (flight, grpc)) in [(ports[1], ports[2]), (ports[3], ports[4])].into_iter().enumerate() {
            let work = path.join(format!("executor-{i}"));
            let node = Node::spawn(
                &format!("executor-{i}"),
                &path,
                &args(&[
                    "executor",
                    "--scheduler-port",
                    &s,
                    "--port",
                    &flight.to_string(),
                    "--grpc-port",
                    &grpc.to_string(),
                    "--concurrency",
                    "2",
                    "--work-dir",
                    &work.display().to_string(),
                ]),
            );
            cluster.nodes.push(node);
        }
        cluster.wait_for(2)?;
        Ok(cluster)
    }

    /// Waits until the scheduler answers with at least `n` executors registered.
    fn wait_for(&mut self, n: usize) -> Result<(), String> {
        let start = Instant::now();
        let mut last = String::from("no answer");
        while start.elapsed() < START_TIMEOUT {
            if let Some(e) = self.nodes.iter_mut().find_map(Node::exited) {
                return Err(e);
            }
            if let Some(body) = readyz(self.scheduler_port) {
                if executors(&body).is_some_and(|k| k >= n) {
                    return Ok(());
                }
                last = body;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let logs: Vec<String> = self.nodes.iter().map(|n| format!("{}:\n{}", n.name, n.tail())).collect();
        Err(format!(
            "after {} s the scheduler at 127.0.0.1:{} has not {n} executors (last /readyz: {}):\n{}",
            START_TIMEOUT.as_secs(),
            self.scheduler_port,
            last.trim(),
            logs.join("\n")
        ))
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }

    /// Tasks each executor logged running.
    fn tasks(&self) -> Vec<(String, usize)> {
        self.nodes
            .iter()
            .filter(|n| n.name.starts_with("executor"))
            .map(|n| (n.name.clone(), n.output().lines().filter(|l| l.contains("Execute task")).count()))
            .collect()
    }
}

/// One value, compared across engines whatever the Arrow type it came in.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Int(i128),
    Float(f64),
    Text(String),
}

fn compare(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    match (a, b) {
        (Null, Null) => Ordering::Equal,
        (Null, _) => Ordering::Less,
        (_, Null) => Ordering::Greater,
        (Int(x), Int(y)) => x.cmp(y),
        (Float(x), Float(y)) => x.total_cmp(y),
        (Text(x), Text(y)) => x.cmp(y),
        (x, y) => format!("{x:?}").cmp(&format!("{y:?}")),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => compare(a, b) == Ordering::Equal,
    }
}

/// The rows, sorted, with every value in a comparable form.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for b in batches {
        let columns: Vec<Vec<Value>> = b.columns().iter().map(|c| values(c.as_ref())).collect();
        for i in 0..b.num_rows() {
            out.push(columns.iter().map(|c| c[i].clone()).collect::<Vec<_>>());
        }
    }
    out.sort_by(|a, b| a.iter().zip(b).map(|(x, y)| compare(x, y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal));
    out
}

fn values(col: &dyn Array) -> Vec<Value> {
    let t = col.data_type();
    let (kind, target) = if t.is_signed_integer() {
        ('i', DataType::Int64)
    } else if t.is_unsigned_integer() {
        ('u', DataType::UInt64)
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        ('f', DataType::Float64)
    } else {
        ('s', DataType::Utf8)
    };
    let c = cast(col, &target).unwrap();
    (0..c.len())
        .map(|i| {
            if c.is_null(i) {
                return Value::Null;
            }
            match kind {
                'i' => Value::Int(i128::from(c.as_primitive::<Int64Type>().value(i))),
                'u' => Value::Int(i128::from(c.as_primitive::<UInt64Type>().value(i))),
                'f' => Value::Float(c.as_primitive::<Float64Type>().value(i)),
                _ => Value::Text(c.as_string::<i32>().value(i).to_owned()),
            }
        })
        .collect()
}

fn assert_same(name: &str, embedded: &[RecordBatch], cluster: &[RecordBatch]) -> usize {
    let (e, c) = (rows(embedded), rows(cluster));
    assert!(!e.is_empty(), "{name}: the embedded engine gives no rows");
    assert_eq!(e.len(), c.len(), "{name}: {} rows embedded, {} on the cluster", e.len(), c.len());
    for (i, (re, rc)) in e.iter().zip(&c).enumerate() {
        assert!(
            re.len() == rc.len() && re.iter().zip(rc).all(|(a, b)| same(a, b)),
            "{name}: row {i} differs:\n  embedded {re:?}\n  cluster  {rc:?}"
        );
    }
    // The same columns, and the same types but for string views.
    let schema = |b: &[RecordBatch]| b.first().map(|b| mosaico_distributed::without_views(&b.schema()));
    let (se, sc) = (schema(embedded).unwrap(), schema(cluster).unwrap());
    let fields = |s: &datafusion::arrow::datatypes::Schema| {
        s.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect::<Vec<_>>()
    };
    assert_eq!(fields(&se), fields(&sc), "{name}: the columns differ");
    e.len()
}

/// The territorial queries: residents by area and cell, age bands, facility places,
/// spending. Each mixes joins, `h3_parent` and aggregates whose partial results
/// travel between executors.
const QUERIES: &[(&str, &str)] = &[
    ("every resident, column by column", "SELECT * FROM population"),
    (
        "residents per NIL",
        "SELECT c.nil_id, c.nil_name, count(*) AS residents
         FROM population p JOIN cells c ON c.cell = p.h3_10 AND c.res = 10
         GROUP BY c.nil_id, c.nil_name",
    ),
    (
        "persons per res-9 cell",
        "SELECT h3_parent(h3_10, 9) AS cell, h3_to_string(h3_parent(h3_10, 9)) AS hex, count(*) AS persons,
                avg(age) AS mean_age
         FROM population WHERE h3_10 IS NOT NULL GROUP BY 1, 2",
    ),
    (
        "persons per res-9 cell and its NIL",
        "SELECT c.cell, c.nil_id, c.municipio, count(*) AS persons
         FROM population p JOIN cells c ON c.cell = h3_parent(p.h3_10, 9) AND c.res = 9
         GROUP BY 1, 2, 3",
    ),
    (
        "persons per municipio by age band",
        "SELECT municipio,
                CASE WHEN age < 18 THEN '0-17' WHEN age < 65 THEN '18-64' WHEN age < 75 THEN '65-74' ELSE '75+' END AS band,
                count(*) AS persons, sum(CASE WHEN \"foreign\" THEN 1 ELSE 0 END) AS foreigners
         FROM population GROUP BY 1, 2",
    ),
    (
        "facility places by type per municipio",
        "SELECT municipio, facility_type, count(*) AS facilities, sum(capacity) AS places,
                avg(daily_fee_eur) AS mean_daily_fee
         FROM facilities GROUP BY 1, 2",
    ),
    (
        "facility places per res-9 cell",
        "SELECT h3_parent(f.h3_10, 9) AS cell, sum(f.capacity) AS places, max(h3_cell_area_km2(h3_parent(f.h3_10, 9))) AS km2
         FROM facilities f WHERE f.h3_10 IS NOT NULL GROUP BY 1",
    ),
    (
        "spending by area di utenza per NIL",
        "SELECT p.nil_id, i.area_utenza, count(*) AS interventions, sum(i.amount_eur) AS amount,
                sum(i.quota_ente_eur) AS quota_ente, sum(i.quota_utente_eur) AS quota_utente
         FROM interventions i
         JOIN cases k ON k.case_id = i.case_id
         JOIN population p ON p.person_key = k.person_key
         GROUP BY 1, 2",
    ),
    (
        "spending by area di utenza per comune",
        "SELECT p.comune_istat, i.area_utenza, i.spending_type, sum(i.amount_eur) AS amount, count(DISTINCT k.case_id) AS cases
         FROM interventions i
         JOIN cases k ON k.case_id = i.case_id
         JOIN population p ON p.person_key = k.person_key
         GROUP BY 1, 2, 3",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn territorial_queries_give_the_same_results_on_two_executors() {
    let dir = tempfile::tempdir().unwrap();
    let wh = warehouse(&dir.path().join("warehouse")).await;
    // A table without rows (a source that has had none yet).
    let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
        datafusion::arrow::datatypes::Field::new("nil_id", DataType::Utf8, true),
        datafusion::arrow::datatypes::Field::new("h3_10", DataType::UInt64, true),
    ]));
    wh.write_table("nothing_yet", vec![RecordBatch::new_empty(schema)]).await.unwrap();
    let files = wh.table_files(&AsOf::Latest).await.unwrap();
    assert_eq!(files.iter().find(|t| t.name == "nothing_yet").map(|t| t.files.len()), Some(0));
    let cluster = Cluster::start();

    let ctx = mosaico_distributed::connect(&cluster.url(), &wh, &AsOf::Latest).await.unwrap();
    let embedded = wh.session(&AsOf::Latest).await.unwrap();

    // Every table has the embedded engine's columns and types (strings as Utf8): H3
    // cells, UInt64 in the Parquet files, are the Delta log's Int64 on both.
    let fields = |s: &datafusion::arrow::datatypes::Schema| {
        let s = mosaico_distributed::without_views(s);
        s.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect::<Vec<_>>()
    };
    for name in wh.tables().await.unwrap() {
        let e = embedded.table(name.as_str()).await.unwrap().schema().as_arrow().clone();
        let c = ctx.table(name.as_str()).await.unwrap().schema().as_arrow().clone();
        assert_eq!(fields(&e), fields(&c), "table {name}");
        // And the same rows, empty tables (no files) included.
        let count = format!("SELECT count(*) FROM {name}");
        let e = rows(&embedded.sql(&count).await.unwrap().collect().await.unwrap());
        let c = rows(&ctx.sql(&count).await.unwrap().collect().await.unwrap());
        assert!(same(&e[0][0], &c[0][0]), "table {name}: {e:?} rows embedded, {c:?} on the cluster");
        eprintln!("{name}: {:?} rows, the same schema and count on both engines", e[0][0]);
    }
    let none = ctx.sql("SELECT nil_id, h3_parent(h3_10, 9) AS cell FROM nothing_yet").await.unwrap();
    let none = none.collect().await.unwrap();
    assert_eq!(none.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    let population = embedded.table("population").await.unwrap().schema().as_arrow().clone();
    assert_eq!(population.field_with_name("h3_10").unwrap().data_type(), &DataType::Int64);
    for (name, sql) in QUERIES {
        let expected = embedded.sql(sql).await.unwrap().collect().await.unwrap();
        let got = match ctx.sql(sql).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        };
        let got = got.unwrap_or_else(|e| panic!("{name} on the cluster: {e}\n{:?}", cluster.tasks()));
        let n = assert_same(name, &expected, &got);
        eprintln!("{name}: {n} rows, the same on both engines");
    }

    // The work went to both executors.
    let tasks = cluster.tasks();
    assert!(tasks.len() == 2 && tasks.iter().all(|(_, n)| *n > 0), "tasks per executor: {tasks:?}");
    eprintln!("tasks per executor: {tasks:?}");

    // And the command line's client gives the same count.
    let out = Command::new(BIN)
        .args([
            "sql",
            "--scheduler",
            &cluster.url(),
            "--warehouse",
            &dir.path().join("warehouse").display().to_string(),
        ])
        .args([
            "--format",
            "csv",
            "SELECT count(*) AS residents FROM population p JOIN cells c ON c.cell = p.h3_10 AND c.res = 10",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "mosaico-cluster sql: {}", String::from_utf8_lossy(&out.stderr));
    let expected = rows(
        &wh.query("SELECT count(*) FROM population p JOIN cells c ON c.cell = p.h3_10 AND c.res = 10", &AsOf::Latest)
            .await
            .unwrap(),
    );
    let Value::Int(n) = expected[0][0] else { panic!("{expected:?}") };
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("residents\n{n}\n"));
}

#[test]
fn readyz_bodies_are_read() {
    assert_eq!(executors("ready: 2 executors registered\n"), Some(2));
    assert_eq!(executors("not ready: 0/1 executors registered\n"), Some(0));
    assert_eq!(executors("404"), None);
}

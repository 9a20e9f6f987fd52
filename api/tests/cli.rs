//! The `mosaico` binary, run as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

fn mosaico(args: &[&str]) -> Output {
    let f = common::fixture();
    Command::new(env!("CARGO_BIN_EXE_mosaico"))
        .arg("--warehouse")
        .arg(f.warehouse_path())
        .args(args)
        .env_remove("MOSAICO_WAREHOUSE")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn sql_counts_the_generated_population() {
    let o = mosaico(&["sql", "select count(*) from population"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("| {} ", common::fixture().summary.persons)), "{}", stdout(&o));
}

#[test]
fn sql_writes_csv_json_and_parquet() {
    let q = "select count(*) as n, min(age) as youngest from population";
    let o = mosaico(&["sql", q, "--format", "csv"]);
    let n = common::fixture().summary.persons;
    assert!(stdout(&o).starts_with(&format!("n,youngest\n{n},")), "{}", stdout(&o));
    let o = mosaico(&["sql", q, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["n"], n);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.parquet");
    let o = mosaico(&["sql", q, "--format", "parquet", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = std::fs::File::open(&out).unwrap();
    let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 1);
}

#[test]
fn sql_errors_show_the_engine_message_and_fail() {
    let o = mosaico(&["sql", "select * from nowhere"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("table 'mosaico.public.nowhere' not found"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    let o = mosaico(&["sql", "selec 1"]);
    assert!(stderr(&o).contains("sql parser error"), "{}", stderr(&o));
    let o = mosaico(&["sql", "select 1", "--as-of", "99"]);
    assert!(stderr(&o).contains("has no version 99"), "{}", stderr(&o));
    let o = mosaico(&["sql", "select 1", "--as-of", "last week"]);
    assert!(stderr(&o).contains("as-of 'last week'"), "{}", stderr(&o));
}

#[test]
fn sql_reads_h3_functions_against_the_reference() {
    let o = mosaico(&["sql", "select h3_to_string(h3_parent(h3_cell(45.4642, 9.19, 10), 7)) as p", "--format", "csv"]);
    assert_eq!(stdout(&o), "p\n871f99cddffffff\n");
}

#[test]
fn samples_generate_writes_the_five_sources() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mosaico"))
        .args(["samples", "generate", "--seed", "9", "--persons", "300", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["registry.csv", "isee.csv", "facilities.csv", "cases.csv", "interventions.csv", "manifest.json"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let lines = std::fs::read_to_string(dir.path().join("registry.csv")).unwrap().lines().count();
    assert_eq!(lines, 301);
}

#[test]
fn load_refuses_a_projected_geojson_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    std::fs::create_dir(&reference).unwrap();
    for f in std::fs::read_dir(common::reference_dir()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, reference.join(f.file_name().unwrap())).unwrap();
    }
    // The Comune's Municipi in RDN2008 / UTM 32N, under the name of the WGS84 file.
    let utm = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data-real/municipi_9_rdn2008_utm32.geojson");
    std::fs::copy(utm, reference.join("municipi_9_wgs84.geojson")).unwrap();
    let sample = dir.path().join("sample");
    let o = Command::new(env!("CARGO_BIN_EXE_mosaico"))
        .args(["samples", "generate", "--persons", "100", "--out"])
        .arg(&sample)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_mosaico"))
        .arg("--warehouse")
        .arg(dir.path().join("wh"))
        .arg("load")
        .arg(&sample)
        .env("MOSAICO_REFERENCE_DIR", &reference)
        .env("MOSAICO_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("municipi_9_wgs84.geojson") && e.contains("not WGS84"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(!dir.path().join("wh").join("population").exists(), "a table was written before the error");
}

#[test]
fn admin_sets_up_an_ambito_and_a_user_who_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], password: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mosaico"));
        c.args(args).env("MOSAICO_DATA_DIR", dir.path()).env_remove("MOSAICO_CASE_DATABASE");
        match password {
            Some(p) => c.env("MOSAICO_NEW_PASSWORD", p),
            None => c.env_remove("MOSAICO_NEW_PASSWORD"),
        };
        c.output().unwrap()
    };
    let o = run(
        &[
            "admin",
            "add-ambito",
            "NORD",
            "Ambito Nord",
            "--ente",
            "15209=Sesto San Giovanni",
            "--ente",
            "015077=Cinisello",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ambito NORD (Ambito Nord): 2 enti"));
    let o = run(
        &["admin", "add-user", "elena", "--name", "Elena Neri", "--role", "social_worker", "--ente", "015209"],
        Some("lunga-password-1"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Refusals name what is wrong.
    let o =
        run(&["admin", "add-user", "x", "--name", "X", "--role", "boss", "--ente", "015209"], Some("lunga-password-1"));
    assert!(
        !o.status.success() && stderr(&o).contains("--role 'boss': expected one of social_worker"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &["admin", "add-user", "ugo", "--name", "Ugo", "--role", "planner", "--ente", "099999"],
        Some("lunga-password-1"),
    );
    assert!(!o.status.success() && stderr(&o).contains("ente: '099999' is not set up"), "{}", stderr(&o));
    let o = run(&["admin", "add-user", "ida", "--name", "Ida", "--role", "planner", "--ambito", "NORD"], Some("corta"));
    assert!(!o.status.success() && stderr(&o).contains("password: at least 10 characters"), "{}", stderr(&o));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("cases.db").display());
        let store = mosaico_case_app::Store::open(&url).await.unwrap();
        let s = store.login("elena", "lunga-password-1", "test").await.unwrap();
        assert_eq!(s.actor.enti, ["015209"]);
        assert!(store.login("elena", "wrong-password", "test").await.is_err());
    });
}

/// `mosaico locate` on the spopt San Francisco case, with its network distances given
/// as a costs file: the proven optimum of MCLP at 5,000 m and of the p-median, p = 4.
#[test]
fn locate_solves_the_spopt_san_francisco_case_from_files() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/spopt-sf");
    let dir = tempfile::tempdir().unwrap();
    let read = |f: &str| std::fs::read_to_string(golden.join(f)).unwrap();
    let unquote = |s: &str| s.trim_matches('"').to_owned();
    // Tract centres by NAME, store sites by NAME.
    let centres: std::collections::HashMap<String, (String, String)> =
        read("SF_demand_205_centroid_uniform_weight.csv")
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (unquote(f[3]), (f[11].to_owned(), f[10].to_owned()))
            })
            .collect();
    let mut candidates = String::from("id,lat,lon\n");
    for l in read("SF_store_site_16_longlat.csv").lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        candidates.push_str(&format!("{},{},{}\n", unquote(f[2]), f[4], f[3]));
    }
    let (mut costs, mut weights) = (String::from("demand_id,site_id,cost\n"), std::collections::BTreeMap::new());
    for l in read("SF_network_distance_candidateStore_16_censusTract_205_new.csv").lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        costs.push_str(&format!("{},{},{}\n", f[2], f[1], f[0]));
        weights.insert(f[2].to_owned(), f[3].to_owned());
    }
    let mut demand = String::from("id,lat,lon,weight\n");
    for (tract, w) in &weights {
        let (lat, lon) = centres.get(tract).cloned().unwrap_or(("0".into(), "0".into()));
        demand.push_str(&format!("{tract},{lat},{lon},{w}\n"));
    }
    let path = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let (d, c, k) = (path("demand.csv", &demand), path("candidates.csv", &candidates), path("costs.csv", &costs));
    let run = |model: &str, radius: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_mosaico"))
            .args([
                "locate",
                "--demand",
                &d,
                "--candidates",
                &c,
                "--costs",
                &k,
                "--model",
                model,
                "--p",
                "4",
                "--radius-km",
                radius,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let v = run("mclp", "5000");
    assert_eq!(v["sites"], serde_json::json!(["Store_2", "Store_11", "Store_12", "Store_15"]), "{v}");
    assert_eq!(v["objective"], 875_247.0);
    assert_eq!(v["exact"], true);
    assert_eq!(
        (v["points"].as_u64(), v["candidates"].as_u64(), v["pairs"].as_u64()),
        (Some(205), Some(16), Some(3280))
    );
    let v = run("pmedian", "5000");
    assert_eq!(v["sites"], serde_json::json!(["Store_2", "Store_11", "Store_12", "Store_15"]), "{v}");
    assert!((v["objective"].as_f64().unwrap() - 2_848_268_129.71).abs() < 0.01, "{v}");
    // A costs file naming a store that is not a candidate is refused, with the line.
    std::fs::write(&k, "demand_id,site_id,cost\n060816029.00,Store_99,12\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mosaico"))
        .args(["locate", "--demand", &d, "--candidates", &c, "--costs", &k, "--p", "2"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("line 2: no candidate has the id 'Store_99'"), "{}", stderr(&o));
}

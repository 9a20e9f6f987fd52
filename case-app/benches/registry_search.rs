//! Registry search over a large registry, on SQLite and on PostgreSQL: latency of
//! `Store::search_persons` (the code path of the search page and
//! `GET /api/v1/persons`), by name and by fiscal code.
//!
//! ```text
//! cargo bench -p mosaico-case-app --bench registry_search -- [--persons 1000000] [--queries 3000] [--pg URL]
//! ```
//!
//! PostgreSQL comes from `--pg` or `MOSAICO_TEST_PG_URL` (a schema `mosaico_bench` is
//! created and dropped). Persons are synthetic (names drawn from common Italian and
//! foreign surnames and names), imported with `Store::import_persons`; the queries mix
//! surname + given-name prefixes (either order), surnames alone and fiscal codes
//! (whole or a prefix), each asking for 20 results as the page does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use mosaico_case_app::input::PersonData;
use mosaico_case_app::{Actor, Role, Store};
use mosaico_domain::{FiscalCode, IstatCode, Sex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SURNAMES: &[&str] = &[
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Martinelli",
    "Vitale",
    "Lombardo",
    "Serra",
    "Coppola",
    "De Santis",
    "D'Angelo",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferri",
    "Fabbri",
    "Bianco",
    "Marini",
    "Grasso",
    "Valentini",
    "Messina",
    "Sala",
    "De Angelis",
    "Gatti",
    "Pellegrini",
    "Palumbo",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Cattaneo",
    "Morelli",
    "Amato",
    "Silvestri",
    "Mazza",
    "Testa",
    "Grassi",
    "Pellegrino",
    "Carbone",
    "Giuliani",
    "Benedetti",
    "Barone",
    "Rossetti",
    "Caputo",
    "Montanari",
    "Guerra",
    "Palmieri",
    "Bernardi",
    "Martino",
    "Fiore",
    "De Rosa",
    "Ferretti",
    "Bellini",
    "Basile",
    "Riva",
    "Donati",
    "Piras",
    "Vitali",
    "Battaglia",
    "Sartori",
    "Neri",
    "Costantini",
    "Milani",
    "Pagano",
    "Ruggiero",
    "Sorrentino",
    "D'Amico",
    "Orlando",
    "Damico",
    "Negri",
    "Hu",
    "Chen",
    "Wang",
    "Zhou",
    "Hossain",
    "Rahman",
    "Ahmed",
    "Ali",
    "Khan",
    "Santos",
    "Reyes",
    "Cruz",
    "Garcia",
    "Mendoza",
    "Popescu",
    "Ionescu",
    "Popa",
    "El Idrissi",
    "Benali",
    "Diallo",
    "Mohamed",
    "Ibrahim",
    "Fernando",
    "Perera",
    "Silva",
    "Kovalenko",
    "Shevchenko",
];
const NAMES_M: &[&str] = &[
    "Marco",
    "Giuseppe",
    "Giovanni",
    "Antonio",
    "Mario",
    "Luigi",
    "Francesco",
    "Andrea",
    "Luca",
    "Alessandro",
    "Roberto",
    "Stefano",
    "Paolo",
    "Angelo",
    "Giorgio",
    "Matteo",
    "Lorenzo",
    "Davide",
    "Simone",
    "Federico",
    "Riccardo",
    "Pietro",
    "Salvatore",
    "Vincenzo",
    "Carlo",
    "Franco",
    "Bruno",
    "Sergio",
    "Enrico",
    "Claudio",
    "Ahmed",
    "Mohamed",
    "Wei",
    "Jose",
    "Ion",
    "Rahim",
    "Samuel",
    "Omar",
    "Youssef",
    "Ivan",
];
const NAMES_F: &[&str] = &[
    "Maria",
    "Anna",
    "Giulia",
    "Francesca",
    "Sara",
    "Laura",
    "Chiara",
    "Paola",
    "Elena",
    "Valentina",
    "Alessandra",
    "Silvia",
    "Martina",
    "Federica",
    "Roberta",
    "Giovanna",
    "Rosa",
    "Angela",
    "Lucia",
    "Teresa",
    "Carla",
    "Franca",
    "Giuseppina",
    "Antonietta",
    "Elisa",
    "Sofia",
    "Aurora",
    "Alice",
    "Emma",
    "Ginevra",
    "Fatima",
    "Mei",
    "Ana",
    "Elena",
    "Ioana",
    "Nasrin",
    "Aisha",
    "Grace",
    "Olga",
    "Irina",
];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn people(n: usize, rng: &mut ChaCha8Rng) -> Vec<PersonData> {
    let milano = IstatCode::parse("015146").unwrap();
    let places = ["F205", "H501", "F839", "L219", "Z330", "Z210", "Z222", "Z129", "Z249", "A794"];
    let start = NaiveDate::from_ymd_opt(1925, 1, 1).unwrap();
    (0..n)
        .map(|_| {
            let sex = if rng.random_bool(0.51) { Sex::F } else { Sex::M };
            let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
            let given = if sex == Sex::F { NAMES_F } else { NAMES_M };
            let given = given[rng.random_range(0..given.len())];
            let birth = start + chrono::Duration::days(rng.random_range(0..36_500));
            let place = places[rng.random_range(0..places.len())];
            PersonData {
                fiscal_code: FiscalCode::compose(surname, given, birth, sex, place),
                surname: surname.to_owned(),
                given_name: given.to_owned(),
                sex,
                birth_date: birth,
                birth_place: place.to_owned(),
                citizenship: "Italia".to_owned(),
                residence_istat: milano.clone(),
                address: format!("Via {} {}", SURNAMES[rng.random_range(0..SURNAMES.len())], rng.random_range(1..200)),
                coords: Some((45.40 + rng.random::<f64>() * 0.14, 9.08 + rng.random::<f64>() * 0.20)),
                household_id: None,
                household_role: None,
            }
        })
        .collect()
}

async fn prepare(store: &Store) -> Actor {
    store.upsert_ambito("MI", "Milano", &[("015146", "Milano")]).await.unwrap();
    store.create_user("bench", "Bench", Role::SocialWorker, Ok("015146"), "bench-password").await.unwrap();
    store.login("bench", "bench-password", "bench").await.unwrap().actor
}

fn queries(people: &[PersonData], n: usize, rng: &mut ChaCha8Rng) -> Vec<(&'static str, String)> {
    (0..n)
        .map(|_| {
            let p = &people[rng.random_range(0..people.len())];
            let given3: String = p.given_name.chars().take(3).collect();
            match rng.random_range(0..8) {
                0..=2 => ("surname + name prefix", format!("{} {given3}", p.surname)),
                3 => ("name + surname prefix", format!("{} {}", p.given_name, &p.surname[..3.min(p.surname.len())])),
                4 => ("surname only", p.surname.clone()),
                5 | 6 => ("fiscal code", p.fiscal_code.as_str().to_owned()),
                _ => ("fiscal code prefix", p.fiscal_code.as_str()[..11].to_owned()),
            }
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(backend: &str, store: &Store, people: &[PersonData], nq: usize) {
    let actor = prepare(store).await;
    let t = Instant::now();
    let imported = store.import_persons(&actor, "015146", people).await.unwrap();
    let load = t.elapsed();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let qs = queries(people, nq, &mut rng);
    // Warm-up: the first queries read pages into the cache.
    for (_, q) in qs.iter().take(200) {
        store.search_persons(&actor, q, 20).await.unwrap();
    }
    let mut all = Vec::with_capacity(qs.len());
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut hits = 0usize;
    for (kind, q) in &qs {
        let t = Instant::now();
        let found = store.search_persons(&actor, q, 20).await.unwrap();
        let d = t.elapsed();
        hits += usize::from(!found.is_empty());
        all.push(d);
        by_kind.entry(kind).or_default().push(d);
    }
    all.sort();
    println!(
        "{backend:<8} persons {:>9}  import {:>6.1} s  queries {:>5}  found {:>5.1}%  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
        imported.created,
        load.as_secs_f64(),
        qs.len(),
        100.0 * hits as f64 / qs.len() as f64,
        pct(&all, 0.50),
        pct(&all, 0.95),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    for (kind, mut v) in by_kind {
        v.sort();
        println!("           {kind:<24} n {:>5}  p50 {:>6.2} ms  p99 {:>6.2} ms", v.len(), pct(&v, 0.5), pct(&v, 0.99));
    }
}

fn main() {
    let n: usize = arg("--persons").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let nq: usize = arg("--queries").and_then(|v| v.parse().ok()).unwrap_or(3000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let people = people(n, &mut rng);
        println!("registry search, {n} generated persons, {nq} queries of 20 results, one client");

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.unwrap();
        run("sqlite", &store, &people, nq).await;
        store.close().await;

        let pg = arg("--pg").or_else(|| std::env::var("MOSAICO_TEST_PG_URL").ok());
        match pg {
            None => eprintln!("postgres: skipped (give --pg URL or MOSAICO_TEST_PG_URL)"),
            Some(url) => {
                use sqlx::postgres::PgConnectOptions;
                let admin = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query("DROP SCHEMA IF EXISTS mosaico_bench CASCADE").execute(&admin).await.unwrap();
                sqlx::query("CREATE SCHEMA mosaico_bench").execute(&admin).await.unwrap();
                let opts = PgConnectOptions::from_str(&url).unwrap().options([("search_path", "mosaico_bench")]);
                let store = Store::open_postgres(opts).await.unwrap();
                run("postgres", &store, &people, nq).await;
                store.close().await;
                sqlx::query("DROP SCHEMA mosaico_bench CASCADE").execute(&admin).await.unwrap();
            }
        }
    });
}

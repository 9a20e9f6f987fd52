//! Word lists for the synthetic registry: names by origin, streets of Milan,
//! countries of citizenship with their cadastral (Belfiore) codes.

/// A group of origin, which sets the name pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Italian,
    EastEurope,
    NorthAfrica,
    SubSaharan,
    LatinAmerica,
    China,
    Philippines,
    SouthAsia,
    Other,
}

/// A country of citizenship: ISO code, Belfiore code, origin group,
/// continent index (0 Europe, 1 Africa, 2 America, 3 Asia, 4 Oceania) and weight
/// within its continent among Milan's foreign residents.
pub struct Country {
    pub iso: &'static str,
    pub belfiore: &'static str,
    pub origin: Origin,
    pub continent: usize,
    pub weight: u32,
}

pub const ITALY: Country =
    Country { iso: "IT", belfiore: "", origin: Origin::Italian, continent: 0, weight: 0 };

pub const COUNTRIES: &[Country] = &[
    Country { iso: "RO", belfiore: "Z129", origin: Origin::EastEurope, continent: 0, weight: 30 },
    Country { iso: "UA", belfiore: "Z138", origin: Origin::EastEurope, continent: 0, weight: 25 },
    Country { iso: "AL", belfiore: "Z100", origin: Origin::EastEurope, continent: 0, weight: 20 },
    Country { iso: "MD", belfiore: "Z140", origin: Origin::EastEurope, continent: 0, weight: 10 },
    Country { iso: "FR", belfiore: "Z110", origin: Origin::Other, continent: 0, weight: 8 },
    Country { iso: "EG", belfiore: "Z336", origin: Origin::NorthAfrica, continent: 1, weight: 45 },
    Country { iso: "MA", belfiore: "Z330", origin: Origin::NorthAfrica, continent: 1, weight: 25 },
    Country { iso: "SN", belfiore: "Z343", origin: Origin::SubSaharan, continent: 1, weight: 12 },
    Country { iso: "TN", belfiore: "Z352", origin: Origin::NorthAfrica, continent: 1, weight: 8 },
    Country { iso: "ER", belfiore: "Z368", origin: Origin::SubSaharan, continent: 1, weight: 5 },
    Country { iso: "NG", belfiore: "Z335", origin: Origin::SubSaharan, continent: 1, weight: 5 },
    Country { iso: "PE", belfiore: "Z611", origin: Origin::LatinAmerica, continent: 2, weight: 45 },
    Country { iso: "EC", belfiore: "Z605", origin: Origin::LatinAmerica, continent: 2, weight: 35 },
    Country { iso: "BR", belfiore: "Z602", origin: Origin::LatinAmerica, continent: 2, weight: 10 },
    Country { iso: "SV", belfiore: "Z506", origin: Origin::LatinAmerica, continent: 2, weight: 10 },
    Country { iso: "PH", belfiore: "Z216", origin: Origin::Philippines, continent: 3, weight: 35 },
    Country { iso: "CN", belfiore: "Z210", origin: Origin::China, continent: 3, weight: 30 },
    Country { iso: "LK", belfiore: "Z209", origin: Origin::SouthAsia, continent: 3, weight: 20 },
    Country { iso: "BD", belfiore: "Z249", origin: Origin::SouthAsia, continent: 3, weight: 10 },
    Country { iso: "PK", belfiore: "Z236", origin: Origin::SouthAsia, continent: 3, weight: 5 },
    Country { iso: "AU", belfiore: "Z700", origin: Origin::Other, continent: 4, weight: 1 },
];

/// Birthplaces of Italian residents born outside Milan: (Belfiore, comune).
pub const ITALIAN_BIRTHPLACES: &[(&str, &str)] = &[
    ("H501", "Roma"),
    ("F839", "Napoli"),
    ("G273", "Palermo"),
    ("A662", "Bari"),
    ("C351", "Catania"),
    ("L219", "Torino"),
    ("A794", "Bergamo"),
    ("B157", "Brescia"),
    ("F704", "Monza"),
    ("D969", "Genova"),
    ("A944", "Bologna"),
    ("H224", "Reggio Calabria"),
    ("L736", "Venezia"),
    ("D612", "Firenze"),
    ("F158", "Messina"),
    ("L049", "Taranto"),
];

pub const MILANO_BELFIORE: &str = "F205";

pub fn surnames(origin: Origin) -> &'static [&'static str] {
    match origin {
        Origin::Italian | Origin::Other => &[
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
            "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
            "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
            "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti",
            "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini",
            "Brambilla", "Sala", "Fumagalli", "Cattaneo", "Redaelli", "Galbiati", "Monti", "Mauri", "Riva", "Bassi",
        ],
        Origin::EastEurope => &[
            "Popescu", "Ionescu", "Popa", "Rusu", "Munteanu", "Shevchenko", "Kovalenko", "Bondarenko", "Hoxha", "Shehu",
            "Kola", "Leka", "Ceban", "Cojocaru", "Melnyk", "Tkachenko",
        ],
        Origin::NorthAfrica => &[
            "Mohamed", "Ahmed", "Ali", "Hassan", "Ibrahim", "Mahmoud", "El Amrani", "Benali", "Haddad", "Mansour",
            "Saleh", "Farouk", "Youssef", "Abdallah", "Trabelsi", "Ben Salem",
        ],
        Origin::SubSaharan => &["Diop", "Ndiaye", "Fall", "Sow", "Ba", "Okafor", "Okeke", "Tesfaye", "Ghebre", "Diallo", "Gueye", "Sarr"],
        Origin::LatinAmerica => &[
            "Garcia", "Rodriguez", "Lopez", "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres", "Flores", "Vargas",
            "Castillo", "Mendoza", "Quispe", "Huaman", "Silva", "Rojas",
        ],
        Origin::China => &["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhou", "Wu", "Hu", "Zhu", "Lin"],
        Origin::Philippines => &["Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Aquino", "Ramos", "Dela Cruz", "Villanueva", "Castro"],
        Origin::SouthAsia => &["Perera", "Fernando", "Silva", "Rahman", "Hossain", "Islam", "Khan", "Hussain", "Jayasinghe", "Kumara", "Ahmed", "Akter"],
    }
}

pub fn first_names(origin: Origin, male: bool) -> &'static [&'static str] {
    match (origin, male) {
        (Origin::Italian | Origin::Other, true) => &[
            "Giuseppe", "Giovanni", "Antonio", "Mario", "Luigi", "Francesco", "Angelo", "Vincenzo", "Pietro", "Salvatore",
            "Carlo", "Franco", "Domenico", "Bruno", "Paolo", "Michele", "Giorgio", "Aldo", "Sergio", "Luciano",
            "Marco", "Andrea", "Alessandro", "Luca", "Matteo", "Lorenzo", "Leonardo", "Davide", "Stefano", "Roberto",
            "Federico", "Riccardo", "Tommaso", "Gabriele", "Simone", "Edoardo",
        ],
        (Origin::Italian | Origin::Other, false) => &[
            "Maria", "Anna", "Giuseppina", "Rosa", "Angela", "Giovanna", "Teresa", "Lucia", "Carmela", "Caterina",
            "Francesca", "Antonietta", "Carla", "Elena", "Paola", "Laura", "Giulia", "Chiara", "Sara", "Martina",
            "Alessandra", "Silvia", "Valentina", "Federica", "Sofia", "Aurora", "Alice", "Ginevra", "Emma", "Giorgia",
            "Beatrice", "Elisa", "Marta", "Franca", "Luisa", "Ornella",
        ],
        (Origin::EastEurope, true) => &["Ion", "Andrei", "Mihai", "Vasile", "Oleksandr", "Andriy", "Ardit", "Erion", "Dmytro", "Florin", "Gheorghe", "Besnik"],
        (Origin::EastEurope, false) => &["Elena", "Ioana", "Maria", "Olena", "Natalia", "Irina", "Anjeza", "Elira", "Svetlana", "Oksana", "Daniela", "Mirela"],
        (Origin::NorthAfrica, true) => &["Mohamed", "Ahmed", "Mahmoud", "Youssef", "Omar", "Karim", "Hassan", "Mostafa", "Said", "Rachid", "Amr", "Khaled"],
        (Origin::NorthAfrica, false) => &["Fatima", "Aisha", "Mariam", "Nour", "Sara", "Amina", "Yasmine", "Khadija", "Salma", "Hoda", "Leila", "Rania"],
        (Origin::SubSaharan, true) => &["Mamadou", "Cheikh", "Moussa", "Ibrahima", "Chukwuemeka", "Tesfay", "Abdoulaye", "Ousmane", "Emeka", "Yonas"],
        (Origin::SubSaharan, false) => &["Awa", "Fatou", "Aminata", "Mariama", "Ngozi", "Chioma", "Helen", "Senait", "Khady", "Adama"],
        (Origin::LatinAmerica, true) => &["José", "Luis", "Carlos", "Juan", "Jorge", "Miguel", "Víctor", "Edwin", "Wilson", "Christian", "Diego", "Fernando"],
        (Origin::LatinAmerica, false) => &["María", "Rosa", "Ana", "Carmen", "Gladys", "Jessica", "Milagros", "Patricia", "Elizabeth", "Julia", "Norma", "Karina"],
        (Origin::China, true) => &["Wei", "Jun", "Hao", "Lei", "Jian", "Ming", "Qiang", "Bo", "Yong", "Chen"],
        (Origin::China, false) => &["Li", "Mei", "Xiu", "Ying", "Jing", "Yan", "Hui", "Lan", "Fang", "Xia"],
        (Origin::Philippines, true) => &["Jose", "Mark", "John", "Michael", "Ronaldo", "Rodel", "Jerome", "Ramon", "Arnel", "Noel"],
        (Origin::Philippines, false) => &["Maria", "Mary Grace", "Jocelyn", "Rowena", "Marites", "Analyn", "Jennifer", "Cristina", "Liza", "Rosalie"],
        (Origin::SouthAsia, true) => &["Mohammad", "Abdul", "Rahim", "Nuwan", "Chaminda", "Kamal", "Imran", "Sajid", "Ruwan", "Tariq"],
        (Origin::SouthAsia, false) => &["Nasrin", "Fatema", "Sumaiya", "Dilani", "Chathurika", "Nadeesha", "Ayesha", "Shirin", "Roksana", "Sanduni"],
    }
}

/// Streets of Milan, by toponym (the civic number is drawn).
pub const STREETS: &[&str] = &[
    "Via Padova", "Corso Buenos Aires", "Viale Monza", "Via Giambellino", "Via Lorenteggio", "Corso Lodi",
    "Via Ripamonti", "Viale Certosa", "Via Novara", "Corso Vercelli", "Via Washington", "Viale Papiniano",
    "Via Ravenna", "Via Mecenate", "Viale Ungheria", "Via dei Missaglia", "Via Gratosoglio", "Via Chiesa Rossa",
    "Via Meda", "Via Barona", "Via Inganni", "Via Forze Armate", "Via Gallarate", "Via Console Marcello",
    "Via Imbonati", "Via Val di Ledro", "Via Litta Modignani", "Via Comasina", "Viale Fulvio Testi", "Via Ornato",
    "Via Palmanova", "Via Feltre", "Via Rombon", "Viale Argonne", "Via Pacini", "Via Porpora", "Via Canaletto",
    "Viale Piave", "Corso di Porta Romana", "Via Torino", "Via Dante", "Corso Garibaldi", "Via Solferino",
    "Via Vittor Pisani", "Via Melchiorre Gioia", "Via Farini", "Via Cenisio", "Via Paolo Sarpi", "Via Procaccini",
    "Corso Sempione", "Via Mac Mahon", "Via Bovisasca", "Via Mambretti", "Via Quarto Oggiaro", "Via Zama",
    "Via Salomone", "Via Mompiani", "Viale Lucania", "Via Fabio Massimo", "Via Rogoredo", "Via San Dionigi",
    "Via Famagosta", "Via Faenza", "Via Santa Rita da Cascia", "Via Segneri", "Via Tolstoj", "Via Bisceglie",
    "Via Quarenghi", "Via Harar", "Via Novara", "Via Trenno", "Via Gulli", "Via Rembrandt", "Piazzale Selinunte",
    "Via Aretusa", "Via Civitavecchia", "Via Adriano", "Via Cascina dei Prati", "Via Sant'Elembardo", "Via Pitteri",
];

/// The conventional address of residents with no home (Milan's *via fittizia*).
pub const HOMELESS_ADDRESS: &str = "Via della Casa Comunale 1";

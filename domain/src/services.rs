//! The catalogue of social services and facility types: the codes a case records
//! its interventions with, and the ranges the synthetic comune draws from.

use crate::AreaUtenza;

/// ISTAT spending type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spending {
    /// Interventi e servizi.
    Services,
    /// Trasferimenti in denaro.
    Transfers,
    /// Strutture.
    Facilities,
}

impl Spending {
    /// Every kind of spending.
    pub const ALL: [Spending; 3] = [Spending::Services, Spending::Transfers, Spending::Facilities];

    pub fn code(self) -> &'static str {
        match self {
            Spending::Services => "interventi_servizi",
            Spending::Transfers => "trasferimenti_denaro",
            Spending::Facilities => "strutture",
        }
    }
}

/// A kind of social facility.
#[derive(Debug)]
pub struct FacilityType {
    pub code: &'static str,
    pub name: &'static str,
    pub area: AreaUtenza,
    /// Facilities of this type in the whole of Milan.
    pub in_milan: u32,
    pub capacity: (u32, u32),
    pub daily_fee: (f64, f64),
    /// Share of the fee paid by the health service (SSN/SSR), for health-social facilities.
    pub ssn_share: f64,
}

pub const FACILITY_TYPES: &[FacilityType] = &[
    FacilityType {
        code: "RSA",
        name: "Residenza Sanitaria Assistenziale",
        area: AreaUtenza::Anziani,
        in_milan: 60,
        capacity: (60, 180),
        daily_fee: (85.0, 130.0),
        ssn_share: 0.4,
    },
    FacilityType {
        code: "CDI",
        name: "Centro Diurno Integrato",
        area: AreaUtenza::Anziani,
        in_milan: 25,
        capacity: (20, 40),
        daily_fee: (30.0, 45.0),
        ssn_share: 0.35,
    },
    FacilityType {
        code: "CDD",
        name: "Centro Diurno Disabili",
        area: AreaUtenza::Disabili,
        in_milan: 30,
        capacity: (20, 30),
        daily_fee: (40.0, 60.0),
        ssn_share: 0.3,
    },
    FacilityType {
        code: "CSE",
        name: "Centro Socio Educativo",
        area: AreaUtenza::Disabili,
        in_milan: 30,
        capacity: (15, 30),
        daily_fee: (25.0, 40.0),
        ssn_share: 0.0,
    },
    FacilityType {
        code: "RSD",
        name: "Residenza Sanitaria Disabili",
        area: AreaUtenza::Disabili,
        in_milan: 12,
        capacity: (20, 60),
        daily_fee: (120.0, 180.0),
        ssn_share: 0.45,
    },
    FacilityType {
        code: "CSS",
        name: "Comunità Socio Sanitaria",
        area: AreaUtenza::Disabili,
        in_milan: 20,
        capacity: (8, 10),
        daily_fee: (90.0, 120.0),
        ssn_share: 0.3,
    },
    FacilityType {
        code: "CEM",
        name: "Comunità Educativa per Minori",
        area: AreaUtenza::FamigliaMinori,
        in_milan: 60,
        capacity: (8, 12),
        daily_fee: (100.0, 150.0),
        ssn_share: 0.0,
    },
    FacilityType {
        code: "NIDO",
        name: "Asilo Nido",
        area: AreaUtenza::FamigliaMinori,
        in_milan: 120,
        capacity: (30, 60),
        daily_fee: (20.0, 35.0),
        ssn_share: 0.0,
    },
    FacilityType {
        code: "DORM",
        name: "Centro di Accoglienza Notturna",
        area: AreaUtenza::PovertaDisagioAdulti,
        in_milan: 15,
        capacity: (40, 150),
        daily_fee: (15.0, 30.0),
        ssn_share: 0.0,
    },
    FacilityType {
        code: "CAS",
        name: "Centro di Accoglienza per Migranti",
        area: AreaUtenza::ImmigratiNomadi,
        in_milan: 20,
        capacity: (30, 100),
        daily_fee: (25.0, 40.0),
        ssn_share: 0.0,
    },
    FacilityType {
        code: "SERD",
        name: "Comunità Terapeutica Dipendenze",
        area: AreaUtenza::Dipendenze,
        in_milan: 8,
        capacity: (12, 30),
        daily_fee: (70.0, 100.0),
        ssn_share: 0.6,
    },
];

/// How a service is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Hour,
    Day,
    Meal,
    Month,
    OneOff,
}

impl Unit {
    /// Every unit.
    pub const ALL: [Unit; 5] = [Unit::Hour, Unit::Day, Unit::Meal, Unit::Month, Unit::OneOff];

    pub fn code(self) -> &'static str {
        match self {
            Unit::Hour => "ora",
            Unit::Day => "giorno",
            Unit::Meal => "pasto",
            Unit::Month => "mese",
            Unit::OneOff => "una_tantum",
        }
    }
}

/// A service that can be delivered to a case.
#[derive(Debug)]
pub struct Service {
    pub code: &'static str,
    pub name: &'static str,
    pub area: AreaUtenza,
    pub spending: Spending,
    pub unit: Unit,
    /// Quantity per month (the synthetic comune's range).
    pub monthly_qty: (u32, u32),
    pub unit_cost: (f64, f64),
    /// The facility type it is delivered in, if any (the unit cost is then the facility's daily fee).
    pub facility: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)] // a row of the catalogue table below
const fn svc(
    code: &'static str,
    name: &'static str,
    area: AreaUtenza,
    spending: Spending,
    unit: Unit,
    monthly_qty: (u32, u32),
    unit_cost: (f64, f64),
    facility: Option<&'static str>,
) -> Service {
    Service { code, name, area, spending, unit, monthly_qty, unit_cost, facility }
}

use AreaUtenza as A;
use Spending as S;
use Unit as U;

pub const SERVICES: &[Service] = &[
    svc("SAD", "Assistenza domiciliare", A::Anziani, S::Services, U::Hour, (8, 40), (20.0, 24.0), None),
    svc("PASTI", "Pasti a domicilio", A::Anziani, S::Services, U::Meal, (20, 31), (6.0, 9.0), None),
    svc("TELESOC", "Telesoccorso", A::Anziani, S::Services, U::Month, (1, 1), (15.0, 25.0), None),
    svc(
        "CDI",
        "Frequenza centro diurno integrato",
        A::Anziani,
        S::Facilities,
        U::Day,
        (8, 22),
        (0.0, 0.0),
        Some("CDI"),
    ),
    svc("RSA", "Ricovero in RSA", A::Anziani, S::Facilities, U::Day, (28, 31), (0.0, 0.0), Some("RSA")),
    svc("BUONO_ANZ", "Buono sociale anziani", A::Anziani, S::Transfers, U::Month, (1, 1), (200.0, 400.0), None),
    svc("SAD_DIS", "Assistenza domiciliare disabili", A::Disabili, S::Services, U::Hour, (10, 50), (21.0, 25.0), None),
    svc(
        "CDD",
        "Frequenza centro diurno disabili",
        A::Disabili,
        S::Facilities,
        U::Day,
        (15, 22),
        (0.0, 0.0),
        Some("CDD"),
    ),
    svc(
        "CSE",
        "Frequenza centro socio educativo",
        A::Disabili,
        S::Facilities,
        U::Day,
        (15, 22),
        (0.0, 0.0),
        Some("CSE"),
    ),
    svc("RSD", "Ricovero in RSD", A::Disabili, S::Facilities, U::Day, (28, 31), (0.0, 0.0), Some("RSD")),
    svc("TRASP", "Trasporto sociale", A::Disabili, S::Services, U::OneOff, (4, 20), (12.0, 25.0), None),
    svc("ADM", "Assistenza domiciliare minori", A::FamigliaMinori, S::Services, U::Hour, (6, 24), (22.0, 26.0), None),
    svc(
        "CEM",
        "Inserimento in comunità educativa",
        A::FamigliaMinori,
        S::Facilities,
        U::Day,
        (28, 31),
        (0.0, 0.0),
        Some("CEM"),
    ),
    svc("NIDO", "Retta asilo nido", A::FamigliaMinori, S::Facilities, U::Day, (18, 22), (0.0, 0.0), Some("NIDO")),
    svc(
        "CONTR_FAM",
        "Contributo economico famiglie",
        A::FamigliaMinori,
        S::Transfers,
        U::Month,
        (1, 1),
        (150.0, 500.0),
        None,
    ),
    svc(
        "CONTR_ECO",
        "Contributo economico adulti",
        A::PovertaDisagioAdulti,
        S::Transfers,
        U::Month,
        (1, 1),
        (150.0, 450.0),
        None,
    ),
    svc(
        "DORM",
        "Accoglienza notturna",
        A::PovertaDisagioAdulti,
        S::Facilities,
        U::Day,
        (10, 31),
        (0.0, 0.0),
        Some("DORM"),
    ),
    svc("SIL", "Inserimento lavorativo", A::PovertaDisagioAdulti, S::Services, U::Hour, (4, 16), (25.0, 30.0), None),
    svc("MEDIAZ", "Mediazione culturale", A::ImmigratiNomadi, S::Services, U::Hour, (2, 10), (25.0, 30.0), None),
    svc("CAS", "Accoglienza migranti", A::ImmigratiNomadi, S::Facilities, U::Day, (28, 31), (0.0, 0.0), Some("CAS")),
    svc(
        "SERD",
        "Inserimento in comunità terapeutica",
        A::Dipendenze,
        S::Facilities,
        U::Day,
        (28, 31),
        (0.0, 0.0),
        Some("SERD"),
    ),
    svc("SEGR", "Segretariato sociale", A::Multiutenza, S::Services, U::OneOff, (1, 2), (30.0, 30.0), None),
];

/// The services that answer an area.
pub fn services_for(area: AreaUtenza) -> impl Iterator<Item = &'static Service> {
    SERVICES.iter().filter(move |s| s.area == area)
}

/// The service with this code.
pub fn service(code: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.code == code)
}

//! Which enti a dashboard or report covers: the caller's scope, narrowed by `ente` or
//! `ambito`. Asking for an ente or ambito outside the scope (or that does not exist)
//! gets a 400 listing what the caller may ask for.

use mosaico_case_app::model::Ente;

use crate::auth::Signed;
use crate::{ApiError, AppState};

/// The enti a request covers.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The enti, by ISTAT code, with names and ambito.
    pub enti: Vec<Ente>,
    /// The ambito asked for, if any.
    pub ambito: Option<String>,
}

impl Scope {
    /// The ISTAT codes.
    pub fn codes(&self) -> Vec<String> {
        self.enti.iter().map(|e| e.istat.clone()).collect()
    }

    /// A name for headings: the ambito, the one ente, or the list of enti.
    pub fn label(&self) -> String {
        match (&self.ambito, self.enti.as_slice()) {
            (Some(a), _) => format!("ambito {a}"),
            (None, [one]) => one.name.clone(),
            (None, many) => many.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// Resolves `ente` / `ambito` (either, both or neither) within the caller's scope.
pub async fn resolve(
    state: &AppState,
    who: &Signed,
    ente: Option<&str>,
    ambito: Option<&str>,
) -> Result<Scope, ApiError> {
    let cases = state.inner.cases.as_ref().ok_or_else(ApiError::unauthorized)?;
    let all = cases.store.enti(&who.0.actor).await.map_err(|e| ApiError::internal(&e))?;
    let ente = ente.map(str::trim).filter(|s| !s.is_empty());
    let ambito = ambito.map(str::trim).filter(|s| !s.is_empty());
    if let Some(a) = ambito
        && !all.iter().any(|e| e.ambito == a)
    {
        let mut known: Vec<&str> = all.iter().map(|e| e.ambito.as_str()).collect();
        known.dedup();
        return Err(ApiError::bad_request(format!(
            "ambito: '{a}' is not an ambito in your scope; yours: {}",
            known.join(", ")
        )));
    }
    let enti: Vec<Ente> = all
        .iter()
        .filter(|e| ambito.is_none_or(|a| e.ambito == a) && ente.is_none_or(|x| e.istat == x))
        .cloned()
        .collect();
    if let Some(x) = ente
        && enti.is_empty()
    {
        let known: Vec<String> = all
            .iter()
            .filter(|e| ambito.is_none_or(|a| e.ambito == a))
            .map(|e| format!("{} ({})", e.istat, e.name))
            .collect();
        return Err(ApiError::bad_request(format!(
            "ente: '{x}' is not an ente in your scope{}; yours: {}",
            ambito.map(|a| format!(" within ambito {a}")).unwrap_or_default(),
            known.join(", ")
        )));
    }
    if enti.is_empty() {
        return Err(ApiError::forbidden("reports without an ente in scope"));
    }
    Ok(Scope { enti, ambito: ambito.map(str::to_owned) })
}

//! The directory of local services and referrals offered in the care and support planning
//! conversation ("more than medicine", `data/services.csv`). Refusals name the file and line.

use std::sync::OnceLock;

use crate::load::{field, invalid, metadata, records, required_text};
use crate::{Catalogue, CatalogueError};

pub const SERVICES_FILE: &str = "data/services.csv";

/// One service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDefinition {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Register ids the service suits; empty: anyone.
    pub for_registers: Vec<String>,
    pub description: String,
    pub how_to_refer: String,
    pub source: String,
}

impl ServiceDefinition {
    /// Whether the service suits someone on these registers.
    pub fn suits(&self, registers: &std::collections::BTreeSet<String>) -> bool {
        self.for_registers.is_empty() || self.for_registers.iter().any(|register| registers.contains(register))
    }
}

/// The directory compiled into this build.
pub fn services() -> Result<&'static [ServiceDefinition], &'static CatalogueError> {
    static SHARED: OnceLock<Result<Vec<ServiceDefinition>, CatalogueError>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let catalogue = Catalogue::shared().map_err(Clone::clone)?;
            load_services(catalogue, include_str!("../../../data/services.csv"))
        })
        .as_ref()
        .map(Vec::as_slice)
}

pub fn load_services(catalogue: &Catalogue, text: &str) -> Result<Vec<ServiceDefinition>, CatalogueError> {
    let file = SERVICES_FILE;
    let meta = metadata(file, text)?;
    for key in ["version", "source"] {
        if meta.get(key).is_none_or(|(value, _)| value.is_empty()) {
            return Err(invalid(file, 1, format!("missing `# {key}:` line")));
        }
    }
    let table = records(file, text, &["id", "name", "kind", "for", "description", "how_to_refer", "source"], &[])?;
    let mut services: Vec<ServiceDefinition> = Vec::new();
    for (line, record) in &table.rows {
        let line = *line;
        let id = required_text(file, line, record, 0, "id")?;
        if services.iter().any(|service| service.id == id) {
            return Err(invalid(file, line, format!("service `{id}` is listed twice")));
        }
        let kind = required_text(file, line, record, 2, "kind")?;
        if !["education", "rehabilitation", "lifestyle", "social", "mental_health"].contains(&kind) {
            return Err(invalid(file, line, format!("kind `{kind}` is not one of the documented kinds")));
        }
        let for_registers: Vec<String> = field(record, 3).split_whitespace().map(str::to_owned).collect();
        for register in &for_registers {
            if !catalogue.registers.iter().any(|known| &known.id == register) {
                return Err(invalid(file, line, format!("register `{register}` is not in data/registers.csv")));
            }
        }
        services.push(ServiceDefinition {
            id: id.to_owned(),
            name: required_text(file, line, record, 1, "name")?.to_owned(),
            kind: kind.to_owned(),
            for_registers,
            description: required_text(file, line, record, 4, "description")?.to_owned(),
            how_to_refer: required_text(file, line, record, 5, "how_to_refer")?.to_owned(),
            source: required_text(file, line, record, 6, "source")?.to_owned(),
        });
    }
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_loads_and_refuses_unknown_registers() {
        let services = services().unwrap();
        assert!(services.iter().any(|service| service.id == "pulmonary_rehab" && service.for_registers == ["copd"]));
        let catalogue = Catalogue::shared().unwrap();
        let bad =
            "# version: 1\n# source: t\nid,name,kind,for,description,how_to_refer,source\nx,X,lifestyle,gout,D,H,S\n";
        let error = load_services(catalogue, bad).unwrap_err().to_string();
        assert!(error.contains(SERVICES_FILE) && error.contains("gout"), "{error}");
    }
}

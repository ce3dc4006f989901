//! `schema`: table definitions generated from the vendored OCSF 1.8.0 schemas, for the SIEMs that
//! need their columns declared before the first event (Sentinel's custom table and DCR stream, the
//! Glue tables Firehose converts to Parquet with for Security Lake).

use std::io::Write;

use anyhow::Context;

/// What to print.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Target {
    /// The Sentinel DCR stream's columns, the custom table's columns and the DCR's
    /// transformation (`{"stream": [{"name", "type"}…], "table": […], "transformKql": …}`;
    /// `infra/azure/sentinel.json`).
    Sentinel,
    /// The Glue table columns of one OCSF class (`[{"Name", "Type"}…]`), as Firehose reads them
    /// to write Parquet for Amazon Security Lake.
    Glue {
        /// The OCSF `class_uid` (e.g. 6003).
        #[arg(long = "class")]
        class_uid: u32,
        /// `1.3.0`: only the attributes OCSF 1.3.0 has, for events the sink rewrites to it
        /// (`FIREHOSE_OCSF_VERSION=1.3.0`, the Security Lake route).
        #[arg(long)]
        ocsf_version: Option<String>,
    },
    /// The CloudFormation stack of the Security Lake route (`infra/security-lake.yaml`): per
    /// class, its Glue table and a Firehose stream writing Parquet under its custom source.
    SecurityLake,
}

/// Prints the definition of `target` on standard output.
pub fn run(target: Target) -> anyhow::Result<()> {
    let text = match target {
        Target::Sentinel => {
            let table = audit_relay::sinks::sentinel::table::table().map_err(anyhow::Error::msg)?;
            serde_json::to_string_pretty(&table).context("serialize the table")?
        }
        Target::Glue { class_uid, ocsf_version } => {
            use audit_relay::sinks::firehose::Version;
            let version = match ocsf_version.as_deref() {
                None | Some("1.8.0") => None,
                Some(text) => {
                    Some(Version::parse(text).with_context(|| format!("OCSF {text}: only 1.3.0 or 1.8.0"))?)
                }
            };
            let columns = audit_relay::sinks::firehose::glue::columns(class_uid, version)
                .map_err(anyhow::Error::msg)?;
            serde_json::to_string_pretty(&columns).context("serialize the columns")?
        }
        Target::SecurityLake => crate::security_lake::render().map_err(anyhow::Error::msg)?,
    };
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use audit_relay::sinks::sentinel::table::{table, Column};

    /// The deployable Azure template of the custom table and its data collection rule.
    const TEMPLATE: &str = include_str!("../../infra/azure/sentinel.json");

    fn pairs(list: &Value) -> Vec<(String, String)> {
        list.as_array()
            .expect("a column list")
            .iter()
            .map(|c| {
                (c["name"].as_str().unwrap().to_string(), c["type"].as_str().unwrap().to_ascii_lowercase())
            })
            .collect()
    }

    fn resource<'a>(template: &'a Value, kind: &str) -> &'a Value {
        template["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    }

    #[test]
    fn the_azure_template_declares_exactly_the_generated_columns() {
        let template: Value = serde_json::from_str(TEMPLATE).expect("sentinel.json is JSON");
        let expected = table().unwrap();
        let list = |columns: Vec<Column>| -> Vec<(String, String)> {
            columns.into_iter().map(|c| (c.name, c.kind.to_string())).collect()
        };

        let table = resource(&template, "Microsoft.OperationalInsights/workspaces/tables");
        assert_eq!(pairs(&table["properties"]["schema"]["columns"]), list(expected.table), "table columns");

        let dcr = resource(&template, "Microsoft.Insights/dataCollectionRules");
        assert_eq!(dcr["kind"], "Direct", "a DCR with its own logs ingestion endpoint");
        let declarations = dcr["properties"]["streamDeclarations"].as_object().unwrap();
        assert_eq!(declarations.len(), 1);
        let (stream, declaration) = declarations.iter().next().unwrap();
        assert_eq!(stream, "Custom-AuditRelay_CL", "the sink's SENTINEL_STREAM default");
        assert_eq!(pairs(&declaration["columns"]), list(expected.stream), "stream columns");
        let flow = &dcr["properties"]["dataFlows"][0];
        assert_eq!(flow["streams"], serde_json::json!([stream]));
        assert_eq!(flow["transformKql"], expected.transform_kql.as_str());
        assert!(flow["outputStream"].as_str().unwrap().contains("Custom-"), "{}", flow["outputStream"]);

        // The app may only send to this rule: Monitoring Metrics Publisher on the DCR.
        let role = resource(&template, "Microsoft.Authorization/roleAssignments");
        assert_eq!(
            template["variables"]["monitoringMetricsPublisher"],
            "3913510d-42f4-4e42-8a64-420c390055eb"
        );
        let role_id = role["properties"]["roleDefinitionId"].as_str().unwrap();
        assert!(role_id.contains("roleDefinitions', variables('monitoringMetricsPublisher')"), "{role_id}");
        assert!(role["scope"].as_str().unwrap().contains("Microsoft.Insights/dataCollectionRules"));
        // The output is the sink's SIEM_URL.
        let url = template["outputs"]["siemUrl"]["value"].as_str().unwrap();
        assert!(
            url.contains("logsIngestion")
                && url.contains("immutableId")
                && url.contains("api-version=2023-01-01"),
            "{url}"
        );
    }

    #[test]
    fn every_parameter_the_template_uses_is_declared() {
        let template: Value = serde_json::from_str(TEMPLATE).unwrap();
        let declared = template["parameters"].as_object().unwrap();
        let mut rest = TEMPLATE;
        let mut used = std::collections::BTreeSet::new();
        while let Some(at) = rest.find("parameters('") {
            let name_start = at + "parameters('".len();
            let name_end = rest[name_start..].find('\'').unwrap() + name_start;
            let name = &rest[name_start..name_end];
            assert!(declared.contains_key(name), "parameters('{name}') is not declared");
            used.insert(name.to_string());
            rest = &rest[name_end..];
        }
        let declared: std::collections::BTreeSet<String> = declared.keys().cloned().collect();
        assert_eq!(used, declared, "every parameter is used");
        // Expressions open and close.
        for value in TEMPLATE.split('"').filter(|s| s.starts_with('[')) {
            assert!(value.ends_with(']'), "{value}");
            assert_eq!(value.matches('(').count(), value.matches(')').count(), "{value}");
        }
    }
}

//! The policy that turns what each sample file of one structured container gave into that
//! container's columns: read samples are merged ([`super::merge`]), a failed sample is
//! reported and skipped, a format without a reader stops inference (only the partition
//! columns are sent), and a container with no column at all is not published.
//!
//! Pure: results in, a decision out; the caller records it in the run's status.

use super::merge;
use super::Error;
use crate::entity::Column;

/// What one sample gave: its key and its columns, or why not.
pub type SampleResult = (String, Result<Vec<Column>, Error>);

/// The decision for one structured container.
#[derive(Debug)]
pub struct ContainerColumns {
    /// The columns, partition columns first; `None` when no container is to be published.
    pub columns: Option<Vec<Column>>,
    /// Samples that could not be read or parsed, with their error, in sample order.
    pub failed: Vec<(String, Error)>,
    /// The format whose reader is not built, when that stopped inference.
    pub not_built: Option<String>,
    /// Warnings about the container: its samples disagree, or none has a column.
    pub warnings: Vec<String>,
}

/// Decides the columns of container `name` from its partition columns and its samples'
/// results (best sample first).
pub fn container_columns(
    name: &str,
    partition_columns: Vec<Column>,
    samples: Vec<SampleResult>,
) -> ContainerColumns {
    let mut out = ContainerColumns {
        columns: None,
        failed: vec![],
        not_built: None,
        warnings: vec![],
    };
    let mut read = Vec::new();
    for (key, r) in samples {
        match r {
            Ok(cols) => read.push((key, cols)),
            Err(Error::NotBuilt { format }) => {
                out.not_built = Some(format);
                break;
            }
            Err(e) => out.failed.push((key, e)),
        }
    }
    let mut all = partition_columns;
    if let Some((first, _)) = read.first() {
        let first = first.clone();
        let merged = merge::merge(read);
        if !merged.disagreeing.is_empty() {
            out.warnings.push(format!(
                "the sample files of {name} disagree on the schema: {} differ from {first}; columns merged (union by name, INT with FLOAT is FLOAT, other conflicts STRING)",
                merged.disagreeing.join(", "),
            ));
        }
        if merged.columns.is_empty() && all.is_empty() {
            out.warnings.push(format!(
                "no columns found in the sample of {name}; no container"
            ));
            return out;
        }
        all.extend(merged.columns);
    } else if !out.failed.is_empty() && all.is_empty() {
        return out;
    }
    out.columns = Some(all);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupt(key: &str) -> Error {
        Error::Store(crate::store::Error {
            kind: crate::store::ErrorKind::Corrupt,
            op: "GetObject",
            bucket: "b".into(),
            key: Some(key.into()),
            message: "bad".into(),
            source: None,
        })
    }

    #[test]
    fn samples_are_merged_after_the_partition_columns() {
        let d = container_columns(
            "t",
            vec![Column::new("year", "INT")],
            vec![
                ("t/a.csv".into(), Ok(vec![Column::new("x", "INT")])),
                ("t/b.csv".into(), Ok(vec![Column::new("x", "FLOAT")])),
            ],
        );
        let names: Vec<_> = d
            .columns
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.data_type))
            .collect();
        assert_eq!(
            names,
            [("year".into(), "INT".into()), ("x".into(), "FLOAT".into())]
        );
        assert!(d.warnings[0].contains("t/b.csv differ from t/a.csv"));
    }

    #[test]
    fn a_failed_sample_is_reported_and_the_others_used() {
        let d = container_columns(
            "t",
            vec![],
            vec![
                ("t/a.csv".into(), Err(corrupt("t/a.csv"))),
                ("t/b.csv".into(), Ok(vec![Column::new("x", "INT")])),
            ],
        );
        assert_eq!(d.failed.len(), 1);
        assert_eq!(d.columns.unwrap().len(), 1);
    }

    #[test]
    fn nothing_to_publish_without_columns() {
        let failed = container_columns("t", vec![], vec![("k".into(), Err(corrupt("k")))]);
        assert!(failed.columns.is_none());
        let empty = container_columns("t", vec![], vec![("k".into(), Ok(vec![]))]);
        assert!(empty.columns.is_none());
        assert!(empty.warnings[0].contains("no columns found"));
        // Partition columns alone still make a container.
        let partitions = container_columns(
            "t",
            vec![Column::new("dt", "DATE")],
            vec![("k".into(), Err(corrupt("k")))],
        );
        assert_eq!(partitions.columns.unwrap().len(), 1);
    }

    #[test]
    fn a_format_without_reader_stops_inference() {
        let d = container_columns(
            "t",
            vec![],
            vec![(
                "k".into(),
                Err(Error::NotBuilt {
                    format: "MF4".into(),
                }),
            )],
        );
        assert_eq!(d.not_built.as_deref(), Some("MF4"));
        assert_eq!(d.columns.unwrap().len(), 0);
    }
}

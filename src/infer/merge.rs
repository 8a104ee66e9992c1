//! Merging the schemas of several sample files of one container (`s3meta.sampleFiles`).
//!
//! The rule, deterministic and written once: columns are the union by name, in first-seen
//! order (samples taken best first: newest, ties by key); a column seen with the same
//! `dataType` keeps its first description; INT with FLOAT becomes the FLOAT one; any other
//! disagreement becomes STRING (without children). The files whose columns differ from the
//! first file's are named, so that the caller can warn once.

use crate::entity::Column;

/// The merged columns and the keys of the files that disagree with the first one.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The union of the columns.
    pub columns: Vec<Column>,
    /// Keys of the samples whose columns (names or types) differ from the first sample's.
    pub disagreeing: Vec<String>,
}

fn same_shape(a: &[Column], b: &[Column]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && x.data_type == y.data_type
                && x.array_data_type == y.array_data_type
                && same_shape(
                    x.children.as_deref().unwrap_or_default(),
                    y.children.as_deref().unwrap_or_default(),
                )
        })
}

fn widen(a: &Column, b: &Column) -> Column {
    if a.data_type == b.data_type && a.array_data_type == b.array_data_type {
        return a.clone();
    }
    match (a.data_type.as_str(), b.data_type.as_str()) {
        ("INT", "FLOAT") => b.clone(),
        ("FLOAT", "INT") => a.clone(),
        _ => {
            let mut c = Column::new(&a.name, "STRING");
            c.display_name = a.display_name.clone();
            c.data_type_display = Some("STRING".into());
            c.description = a.description.clone();
            c
        }
    }
}

/// Merges `(key, columns)` of each sample, best sample first.
pub fn merge(samples: Vec<(String, Vec<Column>)>) -> Merged {
    let mut it = samples.into_iter();
    let Some((_, first)) = it.next() else {
        return Merged {
            columns: vec![],
            disagreeing: vec![],
        };
    };
    let mut columns = first.clone();
    let mut disagreeing = Vec::new();
    for (key, cols) in it {
        if !same_shape(&first, &cols) {
            disagreeing.push(key);
        }
        for c in cols {
            match columns.iter_mut().find(|x| x.name == c.name) {
                Some(x) => *x = widen(x, &c),
                None => columns.push(c),
            }
        }
    }
    Merged {
        columns,
        disagreeing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(spec: &[(&str, &str)]) -> Vec<Column> {
        spec.iter().map(|(n, t)| Column::new(n, t)).collect()
    }

    #[test]
    fn union_in_first_seen_order_with_widening() {
        let m = merge(vec![
            ("a.csv".into(), cols(&[("id", "INT"), ("x", "INT")])),
            ("b.csv".into(), cols(&[("id", "INT"), ("x", "INT")])),
            (
                "c.csv".into(),
                cols(&[("x", "FLOAT"), ("y", "DATE"), ("id", "BOOLEAN")]),
            ),
        ]);
        let got: Vec<_> = m
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str()))
            .collect();
        assert_eq!(got, vec![("id", "STRING"), ("x", "FLOAT"), ("y", "DATE")]);
        assert_eq!(m.disagreeing, vec!["c.csv".to_string()]);
    }
}

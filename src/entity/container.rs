//! Building [`Container`] values: one constructor per kind of container the connector
//! publishes (bucket, structured, unstructured path or archive, folder, file, archive
//! member), so that `prefix`, `sourceUrl` and `fullPath` are derived in one place each.
//!
//! Pure: names, paths and URLs in, containers out.

use super::{child_fqn, full_path, Column, Console, Container, DataModel, S3Tag};

/// One bucket, as its containers see it: its name, its FQN and how console URLs are built.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    /// Bucket name.
    pub name: &'a str,
    /// The bucket container's FQN.
    pub fqn: &'a str,
    /// The console its `sourceUrl`s point at.
    pub console: &'a Console,
}

impl Bucket<'_> {
    /// A container of this bucket under `parent_fqn`, at `path` inside the bucket, with only
    /// what every kind shares: the kinds below set their own size, columns, formats and tags.
    fn child(&self, parent_fqn: &str, name: String, path: &str, source_url: String) -> Container {
        Container {
            fqn: child_fqn(parent_fqn, &name),
            name,
            parent_fqn: Some(parent_fqn.to_string()),
            data_model: None,
            prefix: format!("/{path}"),
            number_of_objects: None,
            size: None,
            file_formats: vec![],
            tags: vec![],
            source_url,
            full_path: full_path(self.name, path),
            description: None,
        }
    }

    /// The bucket's own container; object count and size start at 0 (CloudWatch fills them).
    pub fn container(&self) -> Container {
        Container {
            name: self.name.to_string(),
            fqn: self.fqn.to_string(),
            parent_fqn: None,
            data_model: None,
            prefix: "/".into(),
            number_of_objects: Some(0.0),
            size: Some(0.0),
            file_formats: vec![],
            tags: vec![],
            source_url: self.console.bucket_url(self.name),
            full_path: full_path(self.name, ""),
            description: None,
        }
    }

    /// A structured container (literal path, depth-discovered folder or glob table root),
    /// child of the bucket.
    pub fn structured(
        &self,
        name: String,
        data_model: DataModel,
        file_formats: Vec<&'static str>,
    ) -> Container {
        let url = self.console.folder_url(self.name, &name);
        let path = name.clone();
        Container {
            data_model: Some(data_model),
            file_formats,
            ..self.child(self.fqn, name, &path, url)
        }
    }

    /// An open table (Delta, Iceberg, Hudi) at its root folder, child of the bucket: a
    /// structured container whose `description` says the format, its version and its
    /// partitioning (`Delta Lake table, version 12; partitioned by region`).
    ///
    /// Why a description: `CreateContainerRequest` has no field for a table format, and
    /// `fileFormats` (an enum) has no value for one; a tag such as `TableFormat.Delta` would
    /// need a classification the server may not have (it refuses an unknown tag FQN). A
    /// description is accepted by every server and shown on the container's page.
    pub fn table(
        &self,
        name: String,
        data_model: DataModel,
        file_formats: Vec<&'static str>,
        description: String,
    ) -> Container {
        Container {
            description: Some(description),
            ..self.structured(name, data_model, file_formats)
        }
    }

    /// A literal unstructured path, or an archive's own container (reference §5.6, §5.8),
    /// child of the bucket. `size` is known for an object, `None` for a folder.
    pub fn unstructured(&self, name: String, size: Option<u64>) -> Container {
        let url = if size.is_some() {
            self.console.object_url(self.name, &name)
        } else {
            self.console.folder_url(self.name, &name)
        };
        let path = name.clone();
        Container {
            size: size.map(|s| s as f64),
            ..self.child(self.fqn, name, &path, url)
        }
    }

    /// A folder of an `unstructuredFormats` entry, child of `parent_fqn`.
    ///
    /// DIFF(spec §6.3, §13 #12): a `/`-path prefix and a well-formed sourceUrl; the
    /// reference writes an `s3://` URI into `prefix`.
    pub fn folder(&self, parent_fqn: String, name: String, path: &str) -> Container {
        let url = self.console.folder_url(self.name, path);
        self.child(&parent_fqn, name, path, url)
    }

    /// A file of an `unstructuredFormats` entry, child of `parent_fqn`, with its S3 tags.
    pub fn file(
        &self,
        parent_fqn: String,
        name: String,
        key: &str,
        size: u64,
        tags: Vec<S3Tag>,
    ) -> Container {
        let url = self.console.object_url(self.name, key);
        Container {
            size: Some(size as f64),
            tags,
            ..self.child(&parent_fqn, name, key, url)
        }
    }

    /// A file member of an archive (reference §5.8), child of the archive's container:
    /// `path` is its path inside the archive, `columns` those of its own content.
    pub fn archive_member(
        &self,
        archive: &Container,
        name: String,
        path: &str,
        size: u64,
        columns: Option<Vec<Column>>,
        file_formats: Vec<&'static str>,
    ) -> Container {
        let inner = format!("{}/{path}", archive.name);
        let url = self.console.object_url(self.name, &archive.name);
        Container {
            data_model: columns.filter(|c| !c.is_empty()).map(|columns| DataModel {
                is_partitioned: false,
                columns,
            }),
            size: Some(size as f64),
            file_formats,
            ..self.child(&archive.fqn, name, &inner, url)
        }
    }
}

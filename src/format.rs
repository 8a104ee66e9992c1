//! The file formats s3meta knows, in one place: how a manifest spells each one, which file
//! extensions name it, the server's `fileFormats` values for it, whether it is an archive or
//! wrapped in a compression, and which kind of reader types it.
//!
//! Every fact about a format sits in one `match` ([`Format`]'s private `spec`), and the
//! readers dispatch on [`Reader`] without a catch-all arm, so a new format is one variant
//! plus one reader, and forgetting either is a compile error rather than a silent "not
//! built". A `structureFormat` this module does not know is still carried as written
//! ([`StructureFormat`]), so that messages name it as the user spelled it.
//!
//! Three values are s3meta's own, not the reference's: `delta`, `iceberg` and `hudi` name
//! an open table format ([`TableFormat`]); such a folder is read from the table's metadata
//! (`src/table`), and so is a `parquet` folder that holds a table's marker.
//!
//! This module is vocabulary shared by manifest, plan, infer and entity: it reads nothing and
//! knows nothing of readers beyond their kind. The OpenMetadata test server keeps its own
//! independent lists on purpose (a stand-in built from these tables could not catch their
//! mistakes).

use std::fmt;

/// Declares [`Format`] and [`Format::ALL`] from one list, so that a variant cannot be left
/// out of `ALL` (and so of parsing by spelling or extension).
macro_rules! formats {
    ($($(#[$doc:meta])* $variant:ident,)*) => {
        /// A file format s3meta knows by name (a manifest `structureFormat`, or a file
        /// extension). Its facts are its methods.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Format {
            $($(#[$doc])* $variant,)*
        }

        impl Format {
            /// Every format, in declaration order.
            pub const ALL: &'static [Format] = &[$(Format::$variant,)*];
        }
    };
}

formats! {
    /// Apache Parquet (`parquet`, `pq`, `pqt`, `parq`, `parquet.snappy`).
    Parquet,
    /// Comma-separated text (`csv`).
    Csv,
    /// Gzip-compressed CSV (`csv.gz`).
    CsvGz,
    /// Tab-separated text (`tsv`).
    Tsv,
    /// A JSON document or JSON Lines (`json`).
    Json,
    /// JSON Lines (`jsonl`).
    JsonLines,
    /// Gzip-compressed JSON (`json.gz`, `jsonl.gz`).
    JsonGz,
    /// JSON inside a zip (`json.zip`, `jsonl.zip`).
    JsonZip,
    /// Avro object container files (`avro`).
    Avro,
    /// ASAM MDF4 measurement files (`MF4`): known to the server, no reader yet.
    Mf4,
    /// A zip archive (`zip`).
    Zip,
    /// A tar archive (`tar`).
    Tar,
    /// A gzip-compressed tar archive (`tar.gz`, `tgz`).
    TarGz,
    /// A 7-Zip archive (`7z`): not opened.
    SevenZip,
    /// A RAR archive (`rar`): not opened.
    Rar,
    /// A Delta Lake table (`delta`; s3meta only, the reference has no such value).
    Delta,
    /// An Apache Iceberg table (`iceberg`; s3meta only).
    Iceberg,
    /// An Apache Hudi table (`hudi`; s3meta only).
    Hudi,
}

/// An open table format: a folder whose schema is in the table's own metadata (its log,
/// metadata files or timeline), not in any one data file. Whatever the manifest's
/// `structureFormat`, a folder holding the format's marker is read as the table
/// (`src/table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableFormat {
    /// Delta Lake: `_delta_log/`.
    Delta,
    /// Apache Iceberg: `metadata/*.metadata.json`.
    Iceberg,
    /// Apache Hudi: `.hoodie/`.
    Hudi,
}

impl TableFormat {
    /// The format's name as a description line gives it.
    pub fn title(self) -> &'static str {
        match self {
            TableFormat::Delta => "Delta Lake",
            TableFormat::Iceberg => "Apache Iceberg",
            TableFormat::Hudi => "Apache Hudi",
        }
    }

    /// Its `structureFormat` value.
    pub fn structure_format(self) -> &'static str {
        match self {
            TableFormat::Delta => "delta",
            TableFormat::Iceberg => "iceberg",
            TableFormat::Hudi => "hudi",
        }
    }

    /// The folder, directly under the table root, that holds the table's metadata.
    pub fn metadata_folder(self) -> &'static str {
        match self {
            TableFormat::Delta => "_delta_log",
            TableFormat::Iceberg => "metadata",
            TableFormat::Hudi => ".hoodie",
        }
    }
}

/// How a format's content is typed. `infer` has one reader per kind and matches on this
/// without a catch-all arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The parquet footer.
    Parquet,
    /// The Avro header's writer schema.
    Avro,
    /// Delimited text; the separator used when the manifest gives none.
    Delimited(u8),
    /// A JSON document or JSON Lines.
    Json,
    /// A zip archive, through its central directory.
    Zip,
    /// A tar archive, streamed.
    Tar {
        /// The tar stream is gzip-compressed.
        gzip: bool,
    },
    /// An archive whose members are not read: only its own container is built.
    Unopened,
    /// No reader yet: the container gets its partition columns only.
    NotBuilt,
    /// An open table format: the folder is read as one table, never as samples.
    Table(TableFormat),
}

impl Reader {
    /// True for the archive readers (reference §5.8): the object is a container of members,
    /// not a table.
    pub fn is_archive(self) -> bool {
        match self {
            Reader::Zip | Reader::Tar { .. } | Reader::Unopened => true,
            Reader::Parquet
            | Reader::Avro
            | Reader::Delimited(_)
            | Reader::Json
            | Reader::NotBuilt
            | Reader::Table(_) => false,
        }
    }
}

/// A compression around a format's content, which the server lists after the content's
/// own `fileFormats` value (`csv.gz` → `[csv, gz]`).
///
/// Which bytes are decompressed is decided by each object's key, not by this (a `csv` entry
/// may hold `.csv.gz` files, and `json` may hold `.json.zip` files), as the reference does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// gzip (`gz`).
    Gzip,
    /// A one-member zip (`zip`).
    Zip,
}

impl Wrapper {
    /// The server's `FileFormat` value.
    pub fn file_format(self) -> &'static str {
        match self {
            Wrapper::Gzip => "gz",
            Wrapper::Zip => "zip",
        }
    }
}

/// Everything known about one format.
struct Spec {
    /// The canonical manifest spelling.
    name: &'static str,
    /// Other manifest spellings.
    aliases: &'static [&'static str],
    /// File-name endings (with their dot, lower case) that name the format.
    extensions: &'static [&'static str],
    /// The server's `FileFormat` value for the content, if it has one.
    file_format: Option<&'static str>,
    /// A compression around the content.
    wrapper: Option<Wrapper>,
    /// How the content is typed.
    reader: Reader,
}

/// The spec of a table format's `structureFormat` value.
fn table(name: &'static str, format: TableFormat) -> Spec {
    Spec {
        name,
        aliases: &[],
        extensions: &[],
        file_format: Some("parquet"),
        wrapper: None,
        reader: Reader::Table(format),
    }
}

impl Format {
    /// The one table. The compressed spellings have no extension of their own: a file's
    /// compression is read from its key (`.csv.gz` is a gzip-compressed `.csv`). `MF4` is
    /// known by manifest only, never by extension, so an `.mf4` archive member gets no format.
    fn spec(self) -> Spec {
        use Reader as R;
        match self {
            Format::Parquet => Spec {
                name: "parquet",
                aliases: &["pq", "pqt", "parq", "parquet.snappy"],
                extensions: &[".parquet", ".pq", ".pqt", ".parq"],
                file_format: Some("parquet"),
                wrapper: None,
                reader: R::Parquet,
            },
            Format::Csv => Spec {
                name: "csv",
                aliases: &[],
                extensions: &[".csv"],
                file_format: Some("csv"),
                wrapper: None,
                reader: R::Delimited(b','),
            },
            Format::CsvGz => Spec {
                name: "csv.gz",
                aliases: &[],
                extensions: &[],
                file_format: Some("csv"),
                wrapper: Some(Wrapper::Gzip),
                reader: R::Delimited(b','),
            },
            Format::Tsv => Spec {
                name: "tsv",
                aliases: &[],
                extensions: &[".tsv"],
                file_format: Some("tsv"),
                wrapper: None,
                reader: R::Delimited(b'\t'),
            },
            Format::Json => Spec {
                name: "json",
                aliases: &[],
                extensions: &[".json"],
                file_format: Some("json"),
                wrapper: None,
                reader: R::Json,
            },
            Format::JsonLines => Spec {
                name: "jsonl",
                aliases: &[],
                extensions: &[".jsonl"],
                file_format: Some("json"),
                wrapper: None,
                reader: R::Json,
            },
            Format::JsonGz => Spec {
                name: "json.gz",
                aliases: &["jsonl.gz"],
                extensions: &[],
                file_format: Some("json"),
                wrapper: Some(Wrapper::Gzip),
                reader: R::Json,
            },
            Format::JsonZip => Spec {
                name: "json.zip",
                aliases: &["jsonl.zip"],
                extensions: &[],
                file_format: Some("json"),
                wrapper: Some(Wrapper::Zip),
                reader: R::Json,
            },
            Format::Avro => Spec {
                name: "avro",
                aliases: &[],
                extensions: &[".avro"],
                file_format: Some("avro"),
                wrapper: None,
                reader: R::Avro,
            },
            Format::Mf4 => Spec {
                name: "MF4",
                aliases: &[],
                extensions: &[],
                file_format: Some("MF4"),
                wrapper: None,
                reader: R::NotBuilt,
            },
            Format::Zip => Spec {
                name: "zip",
                aliases: &[],
                extensions: &[".zip"],
                file_format: None,
                wrapper: None,
                reader: R::Zip,
            },
            Format::Tar => Spec {
                name: "tar",
                aliases: &[],
                extensions: &[".tar"],
                file_format: None,
                wrapper: None,
                reader: R::Tar { gzip: false },
            },
            Format::TarGz => Spec {
                name: "tar.gz",
                aliases: &["tgz"],
                extensions: &[".tar.gz", ".tgz"],
                file_format: None,
                wrapper: None,
                reader: R::Tar { gzip: true },
            },
            Format::SevenZip => Spec {
                name: "7z",
                aliases: &[],
                extensions: &[".7z"],
                file_format: None,
                wrapper: None,
                reader: R::Unopened,
            },
            Format::Rar => Spec {
                name: "rar",
                aliases: &[],
                extensions: &[".rar"],
                file_format: None,
                wrapper: None,
                reader: R::Unopened,
            },
            // The table formats' data files are parquet (Delta always; Iceberg and Hudi
            // by default), and `fileFormats` says so. They have no extension: a folder is
            // a table by its marker, not by its files' names.
            Format::Delta => table("delta", TableFormat::Delta),
            Format::Iceberg => table("iceberg", TableFormat::Iceberg),
            Format::Hudi => table("hudi", TableFormat::Hudi),
        }
    }

    /// The open table format this names, if it is one.
    pub fn table(self) -> Option<TableFormat> {
        match self.reader() {
            Reader::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The canonical manifest spelling (`parquet`, `csv.gz`, `MF4`, `tar.gz`, …).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Every manifest spelling of the format, the canonical one first.
    pub fn spellings(self) -> impl Iterator<Item = &'static str> {
        let spec = self.spec();
        std::iter::once(spec.name).chain(spec.aliases.iter().copied())
    }

    /// The file-name endings that name the format (lower case, with their dot).
    pub fn extensions(self) -> &'static [&'static str] {
        self.spec().extensions
    }

    /// How the format's content is typed.
    pub fn reader(self) -> Reader {
        self.spec().reader
    }

    /// True for the archive formats of reference §5.8 (`zip`, `tar`, `tar.gz`/`tgz`, `7z`,
    /// `rar`).
    pub fn is_archive(self) -> bool {
        self.reader().is_archive()
    }

    /// The compression around the content (`csv.gz`, `json.zip`), if any.
    pub fn wrapper(self) -> Option<Wrapper> {
        self.spec().wrapper
    }

    /// The server's `FileFormat` value for the content alone (`jsonl` → `json`), if any.
    pub fn file_format(self) -> Option<&'static str> {
        self.spec().file_format
    }

    /// The server's `fileFormats` values (ACCEPTANCE "fileFormats come from structureFormat
    /// alone"): the content's value, then the wrapper's. Empty for archives, which the
    /// server lists without one.
    ///
    /// DIFF(spec §13 #8): the reference crashes the rest of the bucket on `csv.gz`, `jsonl`,
    /// `pq`, …; we map them (`csv.gz` → `[csv, gz]`).
    pub fn file_formats(self) -> Vec<&'static str> {
        self.file_format()
            .into_iter()
            .chain(self.wrapper().map(Wrapper::file_format))
            .collect()
    }

    /// The `fileFormats` of an archive member of this format: its own name when the server
    /// knows the format by that name, none otherwise (`jsonl` is `json` to the server), as
    /// the reference does.
    pub fn member_file_formats(self) -> Vec<&'static str> {
        let own = self.file_formats();
        if own == [self.name()] {
            own
        } else {
            vec![]
        }
    }

    /// The format a manifest's `structureFormat` names, if s3meta knows it.
    ///
    /// Data formats match exactly, as the reference's `SupportedTypes` enum does (`CSV` is
    /// not `csv`, and `MF4` is upper case); archive formats match in any case, as its archive
    /// check lower-cases them (reference §5.8).
    pub fn from_manifest(spelling: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| {
            f.spellings()
                .any(|s| s == spelling || (f.is_archive() && s.eq_ignore_ascii_case(spelling)))
        })
    }

    /// The format a file name's ending names (case-insensitive): `a/b.PQ` → parquet,
    /// `x.tgz` → tar.gz, `x.jsonl` → JSON Lines. Archives included.
    pub fn from_extension(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.extensions().iter().any(|e| name.ends_with(e)))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A manifest's `structureFormat` as written, with the [`Format`] it names when s3meta knows
/// it. The spelling travels with it: sample files are preferred by it (`.pq`), and messages
/// name the format as the user wrote it (`'xml' is not a valid SupportedTypes`, `tgz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureFormat {
    spelling: String,
    format: Option<Format>,
}

impl StructureFormat {
    /// Parses a `structureFormat`; an unknown one is kept as text.
    pub fn new(spelling: impl Into<String>) -> StructureFormat {
        let spelling = spelling.into();
        let format = Format::from_manifest(&spelling);
        StructureFormat { spelling, format }
    }

    /// The text as the manifest wrote it.
    pub fn as_str(&self) -> &str {
        &self.spelling
    }

    /// The format it names, if s3meta knows it.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// True when it names an archive format.
    pub fn is_archive(&self) -> bool {
        self.format.is_some_and(Format::is_archive)
    }

    /// The server's `fileFormats` values; none for a format s3meta does not know.
    pub fn file_formats(&self) -> Vec<&'static str> {
        self.format.map(Format::file_formats).unwrap_or_default()
    }

    /// The open table format it names (`delta`, `iceberg`, `hudi`), if any.
    pub fn table(&self) -> Option<TableFormat> {
        self.format.and_then(Format::table)
    }
}

impl From<&str> for StructureFormat {
    fn from(s: &str) -> Self {
        StructureFormat::new(s)
    }
}

impl fmt::Display for StructureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelling)
    }
}

impl<'de> serde::Deserialize<'de> for StructureFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(StructureFormat::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// Every manifest spelling, written by hand: (spelling, format).
    const SPELLINGS: &[(&str, Format)] = &[
        ("parquet", Format::Parquet),
        ("pq", Format::Parquet),
        ("pqt", Format::Parquet),
        ("parq", Format::Parquet),
        ("parquet.snappy", Format::Parquet),
        ("csv", Format::Csv),
        ("csv.gz", Format::CsvGz),
        ("tsv", Format::Tsv),
        ("json", Format::Json),
        ("jsonl", Format::JsonLines),
        ("json.gz", Format::JsonGz),
        ("jsonl.gz", Format::JsonGz),
        ("json.zip", Format::JsonZip),
        ("jsonl.zip", Format::JsonZip),
        ("avro", Format::Avro),
        ("MF4", Format::Mf4),
        ("zip", Format::Zip),
        ("tar", Format::Tar),
        ("tar.gz", Format::TarGz),
        ("tgz", Format::TarGz),
        ("7z", Format::SevenZip),
        ("rar", Format::Rar),
        ("delta", Format::Delta),
        ("iceberg", Format::Iceberg),
        ("hudi", Format::Hudi),
    ];

    #[test]
    fn every_manifest_spelling_names_its_format() {
        for (spelling, format) in SPELLINGS {
            assert_eq!(Format::from_manifest(spelling), Some(*format), "{spelling}");
        }
        let all: Vec<(&str, Format)> = Format::ALL
            .iter()
            .flat_map(|f| f.spellings().map(move |s| (s, *f)))
            .collect();
        assert_eq!(all, SPELLINGS.to_vec(), "the table and the tests disagree");
    }

    #[test]
    fn data_formats_match_exactly_and_archives_in_any_case() {
        for s in [
            "CSV", "Parquet", "mf4", "JSONL", "csv.GZ", "xml", "", " csv",
        ] {
            assert_eq!(Format::from_manifest(s), None, "{s}");
        }
        assert_eq!(Format::from_manifest("ZIP"), Some(Format::Zip));
        assert_eq!(Format::from_manifest("Tar.Gz"), Some(Format::TarGz));
        assert_eq!(Format::from_manifest("TGZ"), Some(Format::TarGz));
        assert_eq!(Format::from_manifest("7Z"), Some(Format::SevenZip));
        assert_eq!(Format::from_manifest("RAR"), Some(Format::Rar));
    }

    #[test]
    fn only_the_archive_formats_are_archives() {
        let archives: Vec<&str> = Format::ALL
            .iter()
            .filter(|f| f.is_archive())
            .map(|f| f.name())
            .collect();
        assert_eq!(archives, ["zip", "tar", "tar.gz", "7z", "rar"]);
    }

    #[test]
    fn file_formats_follow_the_acceptance_table() {
        let expected: &[(&str, &[&str])] = &[
            ("parquet", &["parquet"]),
            ("pq", &["parquet"]),
            ("pqt", &["parquet"]),
            ("parq", &["parquet"]),
            ("parquet.snappy", &["parquet"]),
            ("csv", &["csv"]),
            ("csv.gz", &["csv", "gz"]),
            ("tsv", &["tsv"]),
            ("json", &["json"]),
            ("jsonl", &["json"]),
            ("json.gz", &["json", "gz"]),
            ("jsonl.gz", &["json", "gz"]),
            ("json.zip", &["json", "zip"]),
            ("jsonl.zip", &["json", "zip"]),
            ("avro", &["avro"]),
            ("MF4", &["MF4"]),
            ("zip", &[]),
            ("tar", &[]),
            ("tar.gz", &[]),
            ("tgz", &[]),
            ("7z", &[]),
            ("rar", &[]),
            ("delta", &["parquet"]),
            ("iceberg", &["parquet"]),
            ("hudi", &["parquet"]),
        ];
        for (spelling, values) in expected {
            assert_eq!(
                StructureFormat::new(*spelling).file_formats(),
                values.to_vec(),
                "{spelling}"
            );
        }
        assert!(StructureFormat::new("xml").file_formats().is_empty());
        assert!(StructureFormat::new("CSV").file_formats().is_empty());
    }

    #[test]
    fn a_member_lists_its_format_only_under_its_own_name() {
        let got: Vec<(Format, Vec<&str>)> = [
            Format::Parquet,
            Format::Csv,
            Format::Tsv,
            Format::Json,
            Format::JsonLines,
            Format::Avro,
        ]
        .into_iter()
        .map(|f| (f, f.member_file_formats()))
        .collect();
        assert_eq!(
            got,
            vec![
                (Format::Parquet, vec!["parquet"]),
                (Format::Csv, vec!["csv"]),
                (Format::Tsv, vec!["tsv"]),
                (Format::Json, vec!["json"]),
                (Format::JsonLines, vec![]),
                (Format::Avro, vec!["avro"]),
            ]
        );
    }

    #[test]
    fn every_extension_names_its_format() {
        let expected: &[(&str, Format)] = &[
            ("a/b.parquet", Format::Parquet),
            ("a/b.pq", Format::Parquet),
            ("a/b.pqt", Format::Parquet),
            ("a/b.parq", Format::Parquet),
            ("a/b.csv", Format::Csv),
            ("a/b.tsv", Format::Tsv),
            ("a/b.json", Format::Json),
            ("a/b.jsonl", Format::JsonLines),
            ("a/b.avro", Format::Avro),
            ("a/b.zip", Format::Zip),
            ("a/b.tar", Format::Tar),
            ("a/b.tar.gz", Format::TarGz),
            ("a/b.tgz", Format::TarGz),
            ("a/b.7z", Format::SevenZip),
            ("a/b.rar", Format::Rar),
        ];
        for (name, format) in expected {
            assert_eq!(Format::from_extension(name), Some(*format), "{name}");
        }
        let table: usize = Format::ALL.iter().map(|f| f.extensions().len()).sum();
        assert_eq!(table, expected.len(), "the table and the tests disagree");
    }

    #[test]
    fn extensions_ignore_case_and_need_their_dot() {
        assert_eq!(Format::from_extension("A/B.PQ"), Some(Format::Parquet));
        assert_eq!(Format::from_extension("x.TGZ"), Some(Format::TarGz));
        assert_eq!(Format::from_extension(".csv"), Some(Format::Csv));
        for name in [
            "csv",
            "a/b.txt",
            "a/b.csv.gz",
            "a/b.mf4",
            "a/b.parquet.crc",
            "b.gz",
        ] {
            assert_eq!(Format::from_extension(name), None, "{name}");
        }
    }

    #[test]
    fn each_extension_and_spelling_belongs_to_one_format() {
        for f in Format::ALL {
            for e in f.extensions() {
                assert_eq!(Format::from_extension(e), Some(*f), "{e}");
            }
            for s in f.spellings() {
                assert_eq!(Format::from_manifest(s), Some(*f), "{s}");
            }
        }
    }

    #[test]
    fn readers_follow_the_format() {
        assert_eq!(Format::Tsv.reader(), Reader::Delimited(b'\t'));
        assert_eq!(Format::CsvGz.reader(), Reader::Delimited(b','));
        assert_eq!(Format::JsonZip.reader(), Reader::Json);
        assert_eq!(Format::TarGz.reader(), Reader::Tar { gzip: true });
        assert_eq!(Format::Tar.reader(), Reader::Tar { gzip: false });
        assert_eq!(Format::Rar.reader(), Reader::Unopened);
        assert_eq!(Format::Mf4.reader(), Reader::NotBuilt);
        assert_eq!(Format::Delta.table(), Some(TableFormat::Delta));
        for t in [TableFormat::Delta, TableFormat::Iceberg, TableFormat::Hudi] {
            assert_eq!(StructureFormat::new(t.structure_format()).table(), Some(t));
        }
        assert_eq!(Format::Iceberg.table(), Some(TableFormat::Iceberg));
        assert_eq!(Format::Hudi.table(), Some(TableFormat::Hudi));
        assert_eq!(Format::Parquet.table(), None);
        assert_eq!(
            StructureFormat::new("hudi").table(),
            Some(TableFormat::Hudi)
        );
        // Data formats match exactly: `Delta` is not a value.
        assert_eq!(StructureFormat::new("Delta").table(), None);
    }

    #[test]
    fn an_unknown_structure_format_keeps_its_spelling() {
        let s = StructureFormat::new("xml");
        assert_eq!((s.as_str(), s.format()), ("xml", None));
        assert_eq!(s.to_string(), "xml");
        let s: StructureFormat = serde_json::from_str("\"pq\"").unwrap();
        assert_eq!((s.as_str(), s.format()), ("pq", Some(Format::Parquet)));
        assert!(StructureFormat::new("TGZ").is_archive());
        assert!(!StructureFormat::new("csv").is_archive());
    }

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_manifest(f.name()), Some(*f));
            assert_eq!(StructureFormat::new(f.name()).format(), Some(*f));
            assert_eq!(f.to_string(), f.name());
        }
    }
}

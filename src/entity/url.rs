//! `sourceUrl` and `fullPath` (reference §6.4). Nothing is URL-encoded, as in the reference.

/// How console URLs are built: AWS's console with the bucket's region, or a custom console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Console {
    /// `https://s3.console.aws.amazon.com/…?region=<region>`.
    Aws {
        /// The bucket's region.
        region: String,
    },
    /// `consoleEndpointURL`, trailing `/` removed.
    Custom {
        /// Base URL.
        base: String,
    },
}

impl Console {
    /// A custom console from `consoleEndpointURL`.
    pub fn custom(base: &str) -> Console {
        Console::Custom {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The URL of a bucket.
    pub fn bucket_url(&self, bucket: &str) -> String {
        match self {
            Console::Aws { region } => {
                format!("https://s3.console.aws.amazon.com/s3/buckets/{bucket}?region={region}&tab=objects")
            }
            Console::Custom { base } => format!("{base}/{bucket}/"),
        }
    }

    /// The URL of a folder (`prefix` without slashes at its ends; a trailing `/` is added).
    pub fn folder_url(&self, bucket: &str, prefix: &str) -> String {
        match self {
            Console::Aws { region } => format!(
                "https://s3.console.aws.amazon.com/s3/buckets/{bucket}?region={region}&prefix={prefix}/&showversions=false"
            ),
            Console::Custom { base } => format!("{base}/{bucket}/{prefix}/"),
        }
    }

    /// The URL of a single object.
    ///
    /// DIFF(spec §6.3, §13 #12): the reference adds a trailing `/` to file URLs too, which
    /// points the console at an empty folder; ours points at the object.
    pub fn object_url(&self, bucket: &str, key: &str) -> String {
        match self {
            Console::Aws { region } => format!(
                "https://s3.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}"
            ),
            Console::Custom { base } => format!("{base}/{bucket}/{key}"),
        }
    }
}

/// `s3://` + bucket + (`/` + path when there is one), slashes trimmed.
pub fn full_path(bucket: &str, path: &str) -> String {
    let b = bucket.trim_matches('/');
    let p = path.trim_matches('/');
    if p.is_empty() {
        format!("s3://{b}")
    } else {
        format!("s3://{b}/{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_console_urls_match_the_reference() {
        let c = Console::Aws {
            region: "us-east-1".into(),
        };
        assert_eq!(
            c.bucket_url("b"),
            "https://s3.console.aws.amazon.com/s3/buckets/b?region=us-east-1&tab=objects"
        );
        assert_eq!(
            c.folder_url("om-test-bucket", "transactions"),
            "https://s3.console.aws.amazon.com/s3/buckets/om-test-bucket?region=us-east-1&prefix=transactions/&showversions=false"
        );
    }

    #[test]
    fn custom_console_urls_match_the_reference() {
        let c = Console::custom("http://minio:9001/browser/");
        assert_eq!(c.bucket_url("b"), "http://minio:9001/browser/b/");
        assert_eq!(c.folder_url("b", "x/y"), "http://minio:9001/browser/b/x/y/");
    }

    #[test]
    fn full_path_trims_slashes() {
        assert_eq!(full_path("b", ""), "s3://b");
        assert_eq!(full_path("b", "/x/y/"), "s3://b/x/y");
    }
}

//! Listing at scale: the shared bucket listing gives the same catalog as per-entry listings
//! with fewer requests, and the output is deterministic.

use crate::support::{parquet_id_name, Lake};
use pretty_assertions::assert_eq;

fn lake() -> Lake {
    let lake = Lake::new();
    let pq = parquet_id_name();
    let b = "demo";
    lake.put(
        b,
        "openmetadata.json",
        include_str!("data/openmetadata.json"),
    );
    lake.put(b, "transactions/2024.csv", "id,amount\n1,2.5\n");
    lake.put(b, "transactions/2023.csv", "id,amount,note\n1,2.5,x\n");
    lake.put(b, "transactions_old/x.csv", "id\n1\n");
    lake.put(b, "transactions_semicolon/t.csv", "id;amount\n1;2.5\n");
    lake.put(b, "cities/State=CA/part-0.parquet", &pq);
    lake.put(b, "cities/State=NY/part-0.parquet", &pq);
    lake.put(b, "cities/_SUCCESS", "");
    lake.put(b, "cities_multiple/Year=2024/State=CA/part-0.parquet", &pq);
    lake.put(b, "athena_service/db_a/t1/f.parquet", &pq);
    lake.put(b, "athena_service/db_a/t2/f.parquet", &pq);
    lake.put(b, "athena_service/db_b/t3/f.parquet", &pq);
    lake.put(b, "events_json/e.json", "{\"a\": 1}\n");
    lake.put(b, "docs/solution.pdf", "%PDF-1.4 twelve");
    lake.put(b, "images/a.png", "png");
    lake.put(b, "images/sub/b.png", "png!");
    lake.put(b, "images_old/z.png", "png");
    lake.put(b, "raw_drop/x.bin", "bin");
    lake
}

fn requests(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("S3 requests: "))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in:\n{stdout}"))
}

#[test]
fn a_file_sink_written_twice_from_the_same_lake_is_byte_identical() {
    let lake = lake();
    let yaml = lake.config("", "");
    let first = lake.ingest(&yaml);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let a = std::fs::read(lake.catalog_path()).unwrap();
    let second = lake.ingest(&yaml);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let b = std::fs::read(lake.catalog_path()).unwrap();
    assert!(!a.is_empty());
    assert!(a == b, "the two catalogs differ");
}

#[test]
fn one_listing_of_the_bucket_gives_the_same_catalog_as_one_listing_per_entry() {
    let lake = lake();
    let shared = lake.ingest(&lake.config("", ""));
    assert_eq!(shared.code, 0, "{}", shared.stderr);
    let per_entry_yaml = format!("{}s3meta:\n  bucketListingCap: 0\n", lake.config("", ""));
    let per_entry = lake.ingest(&per_entry_yaml);
    assert_eq!(per_entry.code, 0, "{}", per_entry.stderr);
    assert_eq!(shared.catalog, per_entry.catalog);
    // The example manifest's 9 entries each list or HEAD; shared, the bucket is listed once
    // (one page).
    let (s, p) = (requests(&shared.stdout), requests(&per_entry.stdout));
    assert!(s + 6 <= p, "shared listing: {s} requests, per entry: {p}");
}

#[test]
fn a_large_listing_split_by_folders_equals_the_sequential_one() {
    let lake = Lake::new();
    // 2,300 keys under `big/` (three pages), in four folders, plus keys at its own level.
    for f in 0..4 {
        for i in 0..575 {
            lake.put("wide", &format!("big/t{f}/part-{i:04}.csv"), "a\n1\n");
        }
    }
    lake.put("wide", "big/readme.txt", "x");
    lake.put("wide", "big/zz.csv", "a\n1\n");
    lake.put("wide", "other/x.csv", "a\n1\n");
    let store = lake.store();
    let keys = |l: s3meta::store::Listing| l.objects.into_iter().map(|o| o.key).collect::<Vec<_>>();
    let (seq, split, cut_seq, cut_split) = lake.block_on(async {
        (
            store.list_all("wide", "big/", 100_000).await.unwrap(),
            store.list_split("wide", "big/", 100_000, 4).await.unwrap(),
            store.list_all("wide", "big/", 1_500).await.unwrap(),
            store.list_split("wide", "big/", 1_500, 4).await.unwrap(),
        )
    });
    assert_eq!(seq.objects.len(), 2_302);
    assert!(!split.truncated);
    assert_eq!(keys(split), keys(seq));
    assert!(cut_seq.truncated && cut_split.truncated);
    assert_eq!(
        keys(cut_split),
        keys(cut_seq),
        "the same first keys under a limit"
    );

    // Through a glob entry: four tables and the level's own file.
    lake.put(
        "wide",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "big/**/*.csv", "structureFormat": "csv"}]}"#,
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.fqns(),
        vec![
            "svc.wide",
            "svc.wide.big/t0",
            "svc.wide.big/t1",
            "svc.wide.big/t2",
            "svc.wide.big/t3",
            // `big/zz.csv` sits at the level itself: its table root is `big`, seen last
            "svc.wide.big",
        ]
    );
}

/// Keys in the order a fold receives them after merging, and the most any one part held.
#[derive(Default)]
struct Keys(Vec<String>);

impl s3meta::plan::listing::Fold for Keys {
    fn add(&mut self, o: s3meta::store::ObjectMeta) {
        self.0.push(o.key);
    }
    fn merge(&mut self, later: Self) {
        self.0.extend(later.0);
    }
}

#[test]
fn a_folded_listing_split_at_every_level_takes_the_keys_of_the_sequential_one_in_order() {
    use s3meta::plan::listing::fold_split;
    let lake = Lake::new();
    // 3 years x 4 days x 300 keys: each year is two pages, so it is split again by day.
    for y in 0..3 {
        for d in 0..4 {
            for i in 0..300 {
                lake.put(
                    "deep",
                    &format!("ev/year={y}/day={d}/p-{i:04}.json"),
                    "{}\n",
                );
            }
        }
    }
    lake.put("deep", "ev/year=1.txt", "x");
    let store = lake.store();
    let new = Keys::default;
    let (all, folded, cut_seq, cut, one) = lake.block_on(async {
        (
            store.list_all("deep", "ev/", 100_000).await.unwrap(),
            fold_split(&*store, "deep", "ev/", 100_000, 4, &new)
                .await
                .unwrap(),
            store.list_all("deep", "ev/", 1_700).await.unwrap(),
            fold_split(&*store, "deep", "ev/", 1_700, 4, &new)
                .await
                .unwrap(),
            fold_split(&*store, "deep", "ev/", 100_000, 1, &new)
                .await
                .unwrap(),
        )
    });
    let keys = |l: s3meta::store::Listing| l.objects.into_iter().map(|o| o.key).collect::<Vec<_>>();
    let all = keys(all);
    assert_eq!(all.len(), 3_601);
    assert!(!folded.truncated);
    assert_eq!(folded.listed, 3_601);
    assert_eq!(folded.fold.0, all, "every key once, in key order");
    assert_eq!(one.fold.0, all, "width 1: page after page");
    assert!(cut_seq.truncated && cut.truncated);
    assert_eq!(cut.listed, 1_700);
    assert_eq!(
        cut.fold.0,
        keys(cut_seq),
        "the same first keys under a limit"
    );
}

/// Under a limit, a split listing stops listing once the parts before hold the limit: the
/// first keys are the sequential listing's, and the parts after them are never asked for.
#[test]
fn a_split_listing_under_a_limit_lists_no_part_past_it() {
    use s3meta::plan::listing::fold_split;
    let lake = Lake::new();
    // 30 days x 40 keys: two pages, split into 30 folders of one page each.
    for d in 0..30 {
        for i in 0..40 {
            lake.put("days", &format!("ev/day={d:02}/p-{i:02}.json"), "{}\n");
        }
    }
    let store = lake.store();
    let new = Keys::default;
    let requests = || store.request_counts().map_or(0, |c| c.requests);
    let (cut_seq, cut, sent, full, full_sent) = lake.block_on(async {
        let cut_seq = store.list_all("days", "ev/", 100).await.unwrap();
        let before = requests();
        let cut = fold_split(&*store, "days", "ev/", 100, 4, &new)
            .await
            .unwrap();
        let sent = requests() - before;
        let before = requests();
        let full = fold_split(&*store, "days", "ev/", 100_000, 4, &new)
            .await
            .unwrap();
        (cut_seq, cut, sent, full, requests() - before)
    });
    assert!(cut.truncated);
    assert_eq!(cut.listed, 100);
    let first: Vec<String> = cut_seq.objects.into_iter().map(|o| o.key).collect();
    assert_eq!(
        cut.fold.0, first,
        "the same first keys as the sequential listing"
    );
    assert_eq!(full.listed, 1_200);
    // The whole prefix costs its first page, the level and the 30 folders; the cut one its
    // first page, the level, a window of folders (4, then one more per folder done) and
    // the last folder's first page again.
    assert!(full_sent >= 32, "the whole prefix: {full_sent} requests");
    assert!(sent <= 10, "a limit of 100 keys sent {sent} requests");
}

/// A glob whose table root holds an open table (`lake/` holds a file and `lake/events` is a
/// Delta table): the page-by-page fold cannot split that root, so the expansion lists again
/// holding every key. Its containers are the ones the shared bucket listing gives.
#[test]
fn a_table_inside_a_glob_root_is_listed_again_and_gives_the_held_listings_catalog() {
    let lake = Lake::new();
    let pq = parquet_id_name();
    let glob = r#"{"dataPath": "lake/**/*.parquet", "structureFormat": "parquet"}"#;
    for (bucket, entries) in [
        ("alone", format!(r#"{{"entries": [{glob}]}}"#)),
        // A second entry that needs a listing: the bucket is listed once and held.
        (
            "paired",
            format!(
                r#"{{"entries": [{glob}, {{"dataPath": "other", "structureFormat": "csv"}}]}}"#
            ),
        ),
    ] {
        lake.put(bucket, "openmetadata.json", &entries);
        lake.put(bucket, "lake/root.parquet", &pq);
        lake.put(bucket, "lake/users/u.parquet", &pq);
        lake.put(bucket, "lake/events/part-0.parquet", &pq);
        lake.put(
            bucket,
            "lake/events/_delta_log/00000000000000000000.json",
            concat!(
                r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#,
                "\n",
                r#"{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{}}}"#,
                "\n"
            ),
        );
        lake.put(bucket, "other/a.csv", "x\n1\n");
    }
    let run = lake.ingest_with_env(&lake.config("", ""), &[("RUST_LOG", "s3meta=debug")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("a table lies inside a glob's table root; listing again with every key held"),
        "the fold gave way:\n{}",
        run.stderr
    );
    let under = |bucket: &str| -> Vec<(String, String)> {
        let prefix = format!("svc.{bucket}.lake");
        run.catalog
            .iter()
            .filter(|l| l["entity"] == "container")
            .filter(|l| l["fqn"].as_str().unwrap().starts_with(&prefix))
            .map(|l| {
                let mut request = l["request"].clone();
                // The hash covers the bucket's name, as every path does; the rest must match.
                request.as_object_mut().unwrap().remove("sourceHash");
                let text = request.to_string().replace(bucket, "BUCKET");
                request = serde_json::from_str(&text).unwrap();
                (
                    l["fqn"].as_str().unwrap().replacen(bucket, "BUCKET", 1),
                    request.to_string(),
                )
            })
            .collect()
    };
    let alone = under("alone");
    assert!(
        alone.iter().any(|(f, _)| f == "svc.BUCKET.lake/events"),
        "the Delta table is a container: {alone:#?}"
    );
    assert_eq!(alone, under("paired"));
}

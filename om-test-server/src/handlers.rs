//! Routing and the handlers. One fallback handler routes by hand on the decoded path
//! segments, so that FQNs holding `/` (sent raw or as `%2F`) reach the `/name/{fqn}` routes.

use crate::validate::{self as v, quote};
use crate::{lock, Entity, Logged, Shared, State as Store};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// An answer: status, JSON body, extra headers.
pub(crate) struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

type Result<T> = std::result::Result<T, Reply>;

impl From<String> for Reply {
    fn from(message: String) -> Reply {
        bad(message)
    }
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        headers: vec![],
    }
}

fn error(status: u16, message: impl Into<String>) -> Reply {
    reply(status, json!({"code": status, "message": message.into()}))
}

fn bad(message: impl Into<String>) -> Reply {
    error(400, message)
}

fn not_found(what: &str, key: &str) -> Reply {
    error(404, format!("{what} instance for {key} not found"))
}

fn changed(status: u16, body: Value, change: &str) -> Reply {
    Reply {
        status,
        body,
        headers: vec![("X-OpenMetadata-Change", change.to_string())],
    }
}

fn bump(version: f64) -> f64 {
    ((version * 10.0).round() + 1.0) / 10.0
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(x) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn path_decode(s: &str) -> String {
    // `+` is literal in a path.
    percent_decode(&s.replace('+', "%2B"))
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The single entry point.
pub(crate) async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !sh.opts.latency.is_zero() {
        tokio::time::sleep(sh.opts.latency).await;
    }
    let raw = uri.path();
    let path = raw.strip_prefix("/api").unwrap_or(raw).to_string();
    let query = uri.query().map(str::to_string);
    let json_body: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let header_map: std::collections::BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();

    let r = if let Some(f) = fault(&sh, method.as_str(), &path) {
        f
    } else if !body.is_empty() && json_body.is_none() {
        bad("Unable to process JSON")
    } else if path != "/v1/system/version" && !authorised(&sh, &headers) {
        let msg = if headers.contains_key("authorization") {
            "Not Authorized! Token verification failed"
        } else {
            "Not Authorized! Token not present"
        };
        error(401, msg)
    } else {
        let q = query_map(query.as_deref());
        route(&sh, &method, &path, &q, json_body.as_ref())
    };

    lock(&sh.log).push(Logged {
        method: method.to_string(),
        path,
        query,
        body: json_body,
        status: r.status,
        user_agent: header_map.get("user-agent").cloned(),
        headers: header_map,
    });
    let mut b = Response::builder()
        .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    for (k, val) in r.headers {
        b = b.header(k, val);
    }
    b.body(Body::from(r.body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn fault(sh: &Shared, method: &str, path: &str) -> Option<Reply> {
    let mut faults = lock(&sh.faults);
    faults.retain(|f| f.times > 0);
    let f = faults.iter_mut().find(|f| {
        f.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && f.path.as_deref().is_none_or(|p| path.starts_with(p))
    })?;
    f.seen += 1;
    if !f.seen.is_multiple_of(f.every) {
        return None;
    }
    f.times -= 1;
    let mut r = error(f.status, format!("injected fault {}", f.status));
    if let Some(s) = f.retry_after {
        r.headers.push(("Retry-After", s.to_string()));
    }
    Some(r)
}

fn authorised(sh: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == format!("Bearer {}", sh.opts.token))
}

fn route(
    sh: &Shared,
    method: &Method,
    path: &str,
    q: &HashMap<String, String>,
    body: Option<&Value>,
) -> Reply {
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(path_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let need_body = || body.ok_or_else(|| bad("a JSON body is required"));
    let res: Result<Reply> = (|| match (method.as_str(), s.as_slice()) {
        ("GET", ["v1", "system", "version"]) => Ok(reply(
            200,
            json!({"version": sh.opts.version, "revision": "om-test-server", "timestamp": 0}),
        )),
        ("GET", ["v1", "services", "storageServices", "name", rest @ ..]) => {
            let st = sh.state();
            let e = st
                .services
                .get(&rest.join("/"))
                .ok_or_else(|| not_found("storageService", &rest.join("/")))?;
            Ok(reply(200, service_json(e)))
        }
        ("GET", ["v1", "services", "storageServices", id]) => {
            let st = sh.state();
            let e = st
                .services
                .values()
                .find(|e| e.id == *id)
                .ok_or_else(|| not_found("storageService", id))?;
            Ok(reply(200, service_json(e)))
        }
        ("PUT", ["v1", "services", "storageServices"]) => put_service(sh, need_body()?),
        ("PUT", ["v1", "containers"]) => put_container(sh, need_body()?),
        ("GET", ["v1", "containers"]) => list_containers(sh, q),
        ("GET", ["v1", "containers", "name", rest @ ..]) => {
            let st = sh.state();
            let fqn = rest.join("/");
            let e = st
                .containers
                .get(&fqn)
                .filter(|e| !e.deleted || q.get("include").is_some_and(|i| i != "non-deleted"))
                .ok_or_else(|| not_found("container", &fqn))?;
            Ok(reply(200, container_json(&st, e)))
        }
        ("DELETE", ["v1", "containers", "deleteStale"]) => delete_stale(sh, need_body()?),
        ("DELETE", ["v1", "containers", "async", id]) | ("DELETE", ["v1", "containers", id]) => {
            delete_container(sh, id, q)
        }
        ("GET", ["v1", "containers", id]) => {
            let st = sh.state();
            let e = st
                .container_by_id(id)
                .ok_or_else(|| not_found("container", id))?;
            Ok(reply(200, container_json(&st, e)))
        }
        ("PUT", ["v1", "classifications"]) => put_classification(sh, need_body()?),
        ("GET", ["v1", "classifications", "name", rest @ ..]) => {
            let st = sh.state();
            let e = st
                .classifications
                .get(&rest.join("/"))
                .ok_or_else(|| not_found("classification", &rest.join("/")))?;
            Ok(reply(200, plain_json(e)))
        }
        ("PUT", ["v1", "tags"]) => put_tag(sh, need_body()?),
        ("GET", ["v1", "tags", "name", rest @ ..]) => {
            let st = sh.state();
            let e = st
                .tags
                .get(&rest.join("/"))
                .ok_or_else(|| not_found("tag", &rest.join("/")))?;
            Ok(reply(200, plain_json(e)))
        }
        ("PUT", ["v1", "services", "ingestionPipelines", "progress", rest @ .., run]) => {
            let fqn = rest.join("/");
            let mut st = sh.state();
            if !st.pipelines.contains_key(&fqn) {
                return Err(not_found("ingestionPipeline", &fqn));
            }
            st.progress
                .push(json!({"pipeline": fqn, "runId": run, "event": body.cloned()}));
            sh.dirty.store(true, Ordering::SeqCst);
            Ok(reply(200, json!({})))
        }
        ("PUT", ["v1", "services", "ingestionPipelines", rest @ .., "pipelineStatus"]) => {
            put_pipeline_status(sh, &rest.join("/"), need_body()?)
        }
        ("GET", ["v1", "services", "ingestionPipelines", rest @ .., "pipelineStatus", run]) => {
            let st = sh.state();
            let fqn = rest.join("/");
            st.pipeline_statuses
                .get(&fqn)
                .and_then(|l| l.iter().find(|s| s["runId"] == *run))
                .map(|s| reply(200, s.clone()))
                .ok_or_else(|| not_found("pipelineStatus", run))
        }
        ("GET", ["v1", "services", "ingestionPipelines", "name", rest @ ..]) => {
            let st = sh.state();
            let fqn = rest.join("/");
            let e = st
                .pipelines
                .get(&fqn)
                .ok_or_else(|| not_found("ingestionPipeline", &fqn))?;
            Ok(reply(200, pipeline_json(&st, e)))
        }
        ("GET", ["v1", "services", "ingestionPipelines"]) => {
            let st = sh.state();
            let items: Vec<&Entity> = st
                .pipelines
                .values()
                .filter(|p| {
                    q.get("pipelineType")
                        .is_none_or(|t| p.request["pipelineType"] == *t.as_str())
                })
                .collect();
            page(&items, q, |e| pipeline_json(&st, e))
        }
        ("PUT", ["v1", "services", "ingestionPipelines"]) => put_pipeline(sh, need_body()?),
        ("GET", ["v1", "services", "testConnectionDefinitions", "name", rest @ ..]) => {
            if rest.join("/") != "S3.testConnectionDefinition" {
                return Err(not_found("testConnectionDefinition", &rest.join("/")));
            }
            Ok(reply(200, test_connection_definition()))
        }
        ("GET", ["v1", "search", "fieldQuery"]) => Ok(field_query(sh, q)),
        _ => Err(error(404, "HTTP 404 Not Found")),
    })();
    res.unwrap_or_else(|e| e)
}

fn reference(e: &Entity, kind: &str) -> Value {
    json!({"id": e.id, "type": kind, "name": e.name, "fullyQualifiedName": e.fqn, "deleted": e.deleted})
}

fn with_identity(e: &Entity) -> Map<String, Value> {
    let mut m = e.request.as_object().cloned().unwrap_or_default();
    m.insert("id".into(), json!(e.id));
    m.insert("name".into(), json!(e.name));
    m.insert("fullyQualifiedName".into(), json!(e.fqn));
    m.insert("version".into(), json!(e.version));
    m.insert("deleted".into(), json!(e.deleted));
    m
}

fn plain_json(e: &Entity) -> Value {
    Value::Object(with_identity(e))
}

fn service_json(e: &Entity) -> Value {
    plain_json(e)
}

fn container_json(st: &Store, e: &Entity) -> Value {
    let mut m = with_identity(e);
    if let Some(svc) = e.owner.as_ref().and_then(|s| st.services.get(s)) {
        m.insert("service".into(), reference(svc, "storageService"));
    }
    m.remove("parent");
    if let Some(p) = e.parent.as_ref().and_then(|p| st.container_by_id(p)) {
        m.insert("parent".into(), reference(p, "container"));
    }
    Value::Object(m)
}

fn pipeline_json(st: &Store, e: &Entity) -> Value {
    let mut m = with_identity(e);
    if let Some(svc) = e.owner.as_ref().and_then(|s| st.services.get(s)) {
        m.insert("service".into(), reference(svc, "storageService"));
    }
    Value::Object(m)
}

fn put_service(sh: &Shared, body: &Value) -> Result<Reply> {
    let what = "CreateStorageServiceRequest";
    let m = v::object(body, what)?.clone();
    v::known_keys(&m, v::SERVICE_KEYS, what).map_err(bad)?;
    let name = v::required_str(&m, "name", what).map_err(bad)?.to_string();
    v::entity_name(&name, what).map_err(bad)?;
    let st_type = v::required_str(&m, "serviceType", what).map_err(bad)?;
    if !["S3", "ADLS", "GCS", "CustomStorage"].contains(&st_type) {
        return Err(bad(format!(
            "{what}.serviceType: `{st_type}` is not a StorageServiceType"
        )));
    }
    if let Some(c) = m.get("connection") {
        let c = v::object(c, "connection").map_err(bad)?;
        v::known_keys(c, &["config"], "connection").map_err(bad)?;
    }
    let fqn = quote(&name);
    let mut st = sh.state();
    sh.dirty.store(true, Ordering::SeqCst);
    Ok(upsert(
        &mut st.services,
        fqn,
        name,
        body,
        None,
        service_json,
    ))
}

fn put_container(sh: &Shared, body: &Value) -> Result<Reply> {
    let what = "CreateContainerRequest";
    let m = v::object(body, what).map_err(bad)?;
    v::known_keys(m, v::CONTAINER_KEYS, what).map_err(bad)?;
    let name = v::required_str(m, "name", what).map_err(bad)?.to_string();
    v::entity_name(&name, what).map_err(bad)?;
    let service = v::required_str(m, "service", what)
        .map_err(bad)?
        .to_string();
    for k in [
        "prefix",
        "sourceUrl",
        "fullPath",
        "displayName",
        "description",
    ] {
        v::optional(m, k, what, Value::is_string, "a string").map_err(bad)?;
    }
    for k in ["numberOfObjects", "size"] {
        v::optional(m, k, what, Value::is_number, "a number").map_err(bad)?;
    }
    if let Some(h) =
        v::optional(m, "sourceHash", what, Value::is_string, "a string").map_err(bad)?
    {
        let n = h.as_str().unwrap_or_default().chars().count();
        if n == 0 || n > 32 {
            return Err(bad(format!(
                "{what}.sourceHash: size must be between 1 and 32"
            )));
        }
    }
    if let Some(dm) = m.get("dataModel") {
        v::data_model(dm).map_err(bad)?;
    }
    if let Some(ff) = m.get("fileFormats") {
        v::file_formats(ff).map_err(bad)?;
    }
    let tag_fqns = match m.get("tags") {
        Some(t) => v::tag_labels(t).map_err(bad)?,
        None => vec![],
    };

    let mut st = sh.state();
    let svc = st
        .services
        .get(&service)
        .cloned()
        .ok_or_else(|| not_found("storageService", &service))?;
    for t in &tag_fqns {
        if !st.tags.contains_key(t) {
            return Err(not_found("tag", t));
        }
    }
    let parent = match m.get("parent") {
        None => None,
        Some(p) => {
            let (id, kind) = v::reference(p, "parent").map_err(bad)?;
            if kind != "container" {
                return Err(bad(format!(
                    "parent.type: expected `container`, found `{kind}`"
                )));
            }
            let pe = st
                .container_by_id(id)
                .cloned()
                .ok_or_else(|| not_found("container", id))?;
            if pe.owner.as_deref() != Some(svc.fqn.as_str()) {
                return Err(bad(format!(
                    "parent {} belongs to another service than {}",
                    pe.fqn, svc.fqn
                )));
            }
            Some(pe)
        }
    };
    let fqn = format!(
        "{}.{}",
        parent.as_ref().map_or(&svc.fqn, |p| &p.fqn),
        quote(&name)
    );
    sh.dirty.store(true, Ordering::SeqCst);
    let parent_id = parent.map(|p| p.id);
    if let Some(e) = st.containers.get_mut(&fqn) {
        let same_hash = body.get("sourceHash").is_some()
            && e.request.get("sourceHash") == body.get("sourceHash");
        if !e.deleted && (same_hash || e.request == *body) {
            let e = e.clone();
            return Ok(changed(200, container_json(&st, &e), "entityNoChange"));
        }
        e.version = bump(e.version);
        e.request = body.clone();
        e.deleted = false;
        e.parent = parent_id;
        let e = e.clone();
        return Ok(changed(200, container_json(&st, &e), "entityUpdated"));
    }
    let e = Entity {
        id: new_id(),
        name,
        fqn: fqn.clone(),
        version: 0.1,
        deleted: false,
        request: body.clone(),
        parent: parent_id,
        owner: Some(svc.fqn),
    };
    st.container_ids.insert(e.id.clone(), fqn.clone());
    st.containers.insert(fqn, e.clone());
    Ok(changed(201, container_json(&st, &e), "entityCreated"))
}

fn page<F: Fn(&Entity) -> Value>(
    items: &[&Entity],
    q: &HashMap<String, String>,
    render: F,
) -> Result<Reply> {
    let limit: usize = match q.get("limit") {
        None => 10,
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| bad(format!("limit: expected 1 to 1000000, found `{l}`")))?,
    };
    let after = match q.get("after") {
        None => None,
        Some(a) => Some(unhex(a).ok_or_else(|| bad(format!("after: invalid cursor `{a}`")))?),
    };
    let rest: Vec<&&Entity> = items
        .iter()
        .filter(|e| after.as_ref().is_none_or(|a| e.fqn.as_str() > a.as_str()))
        .collect();
    let data: Vec<Value> = rest.iter().take(limit).map(|e| render(e)).collect();
    let mut paging = json!({"total": items.len()});
    if rest.len() > limit {
        paging["after"] = json!(hex(&rest[limit - 1].fqn));
    }
    Ok(reply(200, json!({"data": data, "paging": paging})))
}

fn list_containers(sh: &Shared, q: &HashMap<String, String>) -> Result<Reply> {
    let st = sh.state();
    let include = q
        .get("include")
        .map(String::as_str)
        .unwrap_or("non-deleted");
    let items: Vec<&Entity> = st
        .containers
        .values()
        .filter(|c| {
            q.get("service")
                .is_none_or(|s| c.owner.as_deref() == Some(s.as_str()))
        })
        .filter(|c| match include {
            "all" => true,
            "deleted" => c.deleted,
            _ => !c.deleted,
        })
        .collect();
    page(&items, q, |e| container_json(&st, e))
}

fn descendants(st: &Store, fqn: &str) -> Vec<String> {
    let prefix = format!("{fqn}.");
    st.containers
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

fn remove(st: &mut Store, fqns: &[String], hard: bool) {
    for f in fqns {
        if hard {
            if let Some(e) = st.containers.remove(f) {
                st.container_ids.remove(&e.id);
            }
        } else if let Some(e) = st.containers.get_mut(f) {
            if !e.deleted {
                e.deleted = true;
                e.version = bump(e.version);
            }
        }
    }
}

fn delete_stale(sh: &Shared, body: &Value) -> Result<Reply> {
    if sh.opts.delete_stale_404 {
        return Err(error(404, "HTTP 404 Not Found"));
    }
    let what = "BulkDeleteStaleRequest";
    let m = v::object(body, what).map_err(bad)?;
    v::known_keys(m, v::DELETE_STALE_KEYS, what).map_err(bad)?;
    let scope = v::required_str(m, "scopeFqn", what).map_err(bad)?;
    let kind = v::required_str(m, "scopeEntityType", what).map_err(bad)?;
    if kind != "service" {
        return Err(bad(format!(
            "{what}.scopeEntityType: only `service` is supported for containers, found `{kind}`"
        )));
    }
    let seen: BTreeSet<&str> = match m.get("seenFqns") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(bad(format!("{what}.seenFqns: expected an array"))),
    };
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    let (dry, hard, recursive) = (flag("dryRun"), flag("hardDelete"), flag("recursive"));
    let mut st = sh.state();
    if !st.services.contains_key(scope) {
        return Err(not_found("storageService", scope));
    }
    let stale: Vec<String> = st
        .containers
        .values()
        .filter(|c| {
            c.owner.as_deref() == Some(scope) && !c.deleted && !seen.contains(c.fqn.as_str())
        })
        .map(|c| c.fqn.clone())
        .collect();
    let mut all: BTreeSet<String> = stale.iter().cloned().collect();
    if recursive {
        for f in &stale {
            all.extend(
                descendants(&st, f)
                    .into_iter()
                    .filter(|d| !st.containers[d].deleted),
            );
        }
    }
    let all: Vec<String> = all.into_iter().collect();
    if !dry {
        remove(&mut st, &all, hard);
        sh.dirty.store(true, Ordering::SeqCst);
    }
    // The real server's `BulkOperationResult` (the Python client validates it with
    // extra=forbid, so no other key may appear): one success entry per deleted FQN.
    let done: Vec<Value> = all
        .iter()
        .map(|f| json!({"request": f, "status": 200}))
        .collect();
    Ok(reply(
        200,
        json!({
            "dryRun": dry,
            "status": "success",
            "numberOfRowsProcessed": all.len(),
            "numberOfRowsPassed": all.len(),
            "numberOfRowsFailed": 0,
            "successRequest": done,
        }),
    ))
}

fn delete_container(sh: &Shared, id: &str, q: &HashMap<String, String>) -> Result<Reply> {
    let recursive = q.get("recursive").is_some_and(|v| v == "true");
    let hard = q.get("hardDelete").is_some_and(|v| v == "true");
    let mut st = sh.state();
    let e = st
        .container_by_id(id)
        .cloned()
        .ok_or_else(|| not_found("container", id))?;
    let kids: Vec<String> = descendants(&st, &e.fqn)
        .into_iter()
        .filter(|d| !st.containers[d].deleted || hard)
        .collect();
    if !kids.is_empty() && !recursive {
        return Err(bad(format!(
            "Entity container {} has children and cannot be deleted unless recursive",
            e.fqn
        )));
    }
    let mut all = vec![e.fqn.clone()];
    all.extend(kids);
    remove(&mut st, &all, hard);
    sh.dirty.store(true, Ordering::SeqCst);
    let out = st
        .containers
        .get(&e.fqn)
        .map(|e| container_json(&st, e))
        .unwrap_or_else(|| plain_json(&e));
    Ok(reply(200, out))
}

/// Create-or-update by FQN: the same body is a no-op, another body bumps the version (and
/// revives a soft-deleted entity), a new FQN is created. `render` is the answer's shape.
fn upsert(
    map: &mut std::collections::BTreeMap<String, Entity>,
    fqn: String,
    name: String,
    body: &Value,
    owner: Option<String>,
    render: fn(&Entity) -> Value,
) -> Reply {
    match map.get_mut(&fqn) {
        Some(e) if e.request == *body && !e.deleted => changed(200, render(e), "entityNoChange"),
        Some(e) => {
            e.version = bump(e.version);
            e.request = body.clone();
            e.deleted = false;
            changed(200, render(e), "entityUpdated")
        }
        None => {
            let e = Entity {
                id: new_id(),
                name,
                fqn: fqn.clone(),
                version: 0.1,
                deleted: false,
                request: body.clone(),
                parent: None,
                owner,
            };
            let out = render(&e);
            map.insert(fqn, e);
            changed(201, out, "entityCreated")
        }
    }
}

fn put_classification(sh: &Shared, body: &Value) -> Result<Reply> {
    let what = "CreateClassification";
    let m = v::object(body, what).map_err(bad)?;
    v::known_keys(m, v::CLASSIFICATION_KEYS, what).map_err(bad)?;
    let name = v::required_str(m, "name", what).map_err(bad)?.to_string();
    v::entity_name(&name, what).map_err(bad)?;
    v::required_str(m, "description", what).map_err(bad)?;
    let mut st = sh.state();
    sh.dirty.store(true, Ordering::SeqCst);
    Ok(upsert(
        &mut st.classifications,
        name.clone(),
        name,
        body,
        None,
        plain_json,
    ))
}

fn put_tag(sh: &Shared, body: &Value) -> Result<Reply> {
    let what = "CreateTag";
    let m = v::object(body, what).map_err(bad)?;
    v::known_keys(m, v::TAG_KEYS, what).map_err(bad)?;
    let name = v::required_str(m, "name", what).map_err(bad)?.to_string();
    v::entity_name(&name, what).map_err(bad)?;
    v::required_str(m, "description", what).map_err(bad)?;
    let class = v::required_str(m, "classification", what)
        .map_err(bad)?
        .to_string();
    let mut st = sh.state();
    if !st.classifications.contains_key(&class) {
        return Err(not_found("classification", &class));
    }
    let fqn = format!("{}.{}", quote(&class), quote(&name));
    sh.dirty.store(true, Ordering::SeqCst);
    Ok(upsert(
        &mut st.tags,
        fqn,
        name,
        body,
        Some(class),
        plain_json,
    ))
}

fn put_pipeline(sh: &Shared, body: &Value) -> Result<Reply> {
    let what = "CreateIngestionPipeline";
    let m = v::object(body, what).map_err(bad)?;
    v::known_keys(m, v::PIPELINE_KEYS, what).map_err(bad)?;
    let name = v::required_str(m, "name", what).map_err(bad)?.to_string();
    v::entity_name(&name, what).map_err(bad)?;
    v::required_str(m, "pipelineType", what).map_err(bad)?;
    let (sid, _) = v::reference(
        m.get("service")
            .ok_or_else(|| bad(format!("{what}.service: must not be null")))?,
        "service",
    )
    .map_err(bad)?;
    let mut st = sh.state();
    let svc = st
        .services
        .values()
        .find(|s| s.id == sid)
        .cloned()
        .ok_or_else(|| not_found("storageService", sid))?;
    let fqn = format!("{}.{}", svc.fqn, quote(&name));
    sh.dirty.store(true, Ordering::SeqCst);
    let r = upsert(
        &mut st.pipelines,
        fqn.clone(),
        name,
        body,
        Some(svc.fqn),
        plain_json,
    );
    let e = st.pipelines[&fqn].clone();
    Ok(Reply {
        body: pipeline_json(&st, &e),
        ..r
    })
}

fn put_pipeline_status(sh: &Shared, fqn: &str, body: &Value) -> Result<Reply> {
    let what = "PipelineStatus";
    let m = v::object(body, what).map_err(bad)?;
    v::known_keys(m, v::PIPELINE_STATUS_KEYS, what).map_err(bad)?;
    let run = v::required_str(m, "runId", what).map_err(bad)?.to_string();
    let state = v::required_str(m, "pipelineState", what).map_err(bad)?;
    if !v::PIPELINE_STATES.contains(&state) {
        return Err(bad(format!(
            "{what}.pipelineState: `{state}` is not a PipelineState"
        )));
    }
    for k in ["startDate", "timestamp", "endDate"] {
        v::optional(m, k, what, Value::is_i64, "epoch milliseconds").map_err(bad)?;
    }
    let mut st = sh.state();
    if !st.pipelines.contains_key(fqn) {
        return Err(not_found("ingestionPipeline", fqn));
    }
    let list = st.pipeline_statuses.entry(fqn.to_string()).or_default();
    match list.iter_mut().find(|s| s["runId"] == *run.as_str()) {
        Some(s) => *s = body.clone(),
        None => list.push(body.clone()),
    }
    sh.dirty.store(true, Ordering::SeqCst);
    Ok(reply(200, body.clone()))
}

fn test_connection_definition() -> Value {
    json!({
        "id": "5b7e2c1e-0000-4000-8000-000000000053",
        "name": "S3",
        "fullyQualifiedName": "S3.testConnectionDefinition",
        "displayName": "S3 Test Connection",
        "steps": [
            {"name": "ListBuckets", "description": "List all the buckets available to the user.",
             "errorMessage": "Failed to fetch buckets, please validate the credentials if the user has access to list buckets",
             "mandatory": true, "shortCircuit": true},
            {"name": "GetMetrics", "description": "Check if we can get the S3 metrics from CloudWatch.",
             "errorMessage": "Failed to fetch the metrics, please validate the credentials if the user has access to get CloudWatch metrics",
             "mandatory": false}
        ]
    })
}

fn field_query(sh: &Shared, q: &HashMap<String, String>) -> Reply {
    let st = sh.state();
    let index = q.get("index").map(String::as_str).unwrap_or_default();
    let field = q
        .get("fieldName")
        .map(String::as_str)
        .unwrap_or("fullyQualifiedName");
    let value = q.get("fieldValue").cloned().unwrap_or_default();
    let deleted = q.get("deleted").is_some_and(|d| d == "true");
    let hits: Vec<Value> = if index.starts_with("container") {
        st.containers
            .values()
            .filter(|c| c.deleted == deleted)
            .filter(|c| match field {
                "name" => c.name == value,
                _ => c.fqn == value,
            })
            .map(|c| json!({"_index": "container_search_index", "_id": c.id, "_source": container_json(&st, c)}))
            .collect()
    } else {
        vec![]
    };
    reply(
        200,
        json!({"hits": {"total": {"value": hits.len(), "relation": "eq"}, "hits": hits}}),
    )
}

#!/usr/bin/env bash
# Drop-in compatibility, checked with the reference's own parser (its pydantic models of
# openmetadata-ingestion 2.0.7): the workflow file s3meta documents for sharing with the
# reference (tests/data/shared-workflow.yaml: our options under
# connectionArguments.s3meta, the file sink's `filename`) must be accepted by both tools,
# and the top-level `s3meta:` key must still be refused by the reference (so the README's
# advice to avoid it in shared files stays true). Installs the reference when missing.
# usage: scripts/reference-compat.sh [S3META_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/s3meta}
[ -x "$bin" ] || cargo build --quiet --bin s3meta
VENV=${S3META_REFERENCE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/s3meta-reference/venv}
scripts/reference/setup.sh "$VENV" >/dev/null
shared=tests/data/shared-workflow.yaml

"$bin" validate -c "$shared" >/dev/null
"$VENV/bin/python" - "$shared" <<'PY' 2>/dev/null
import copy, sys, yaml
from metadata.generated.schema.metadataIngestion.workflow import OpenMetadataWorkflowConfig
from metadata.generated.schema.entity.services.connections.storage.s3Connection import S3Connection

shared = yaml.safe_load(open(sys.argv[1]))
OpenMetadataWorkflowConfig.model_validate(shared)
S3Connection.model_validate(shared["source"]["serviceConnection"]["config"])
print("reference accepts", sys.argv[1])

top = copy.deepcopy(shared)
top["s3meta"] = top["source"]["serviceConnection"]["config"].pop("connectionArguments")["s3meta"]
try:
    OpenMetadataWorkflowConfig.model_validate(top)
except Exception:
    print("reference refuses a top-level s3meta: key (as the README says)")
else:
    sys.exit("the reference now accepts a top-level s3meta: key: update the README")
PY
echo "reference-compat: ok"

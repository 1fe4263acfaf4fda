#!/usr/bin/env python3
"""Static checks of the deployment files (run through .ci/deploy-checks.sh, which installs the tools).

What is checked, without a Docker engine or a cluster:
- YAML style (yamllint --strict, .yamllint);
- every kustomization renders (`kubectl kustomize`), and every object it renders is valid for
  Kubernetes 1.33 (kubernetes-validate, strict: unknown fields are errors). The CRD kinds
  SealedSecret, ServiceMonitor and PrometheusRule have no bundled schema and are skipped
  explicitly (listed in the output);
- the invariants of the rendered overlays: single-writer weaver, probes, security contexts,
  resources, rolling updates, disruption budgets, network policies, references between objects
  (Secret entries included: weave-nn-secrets carries metrics-token and api-keys), HPA metrics
  served by the prometheus-adapter rules, no deprecated Kustomize fields;
- the committed API keys files (Compose's example, development's Secret) hold no key or hash;
- docker-compose.yml against the Compose specification's JSON schema (bundled by
  check-jsonschema), and its consistency (profiles, images, ports, volumes, health checks,
  mounted files, Prometheus targets);
- the Dockerfile (pinned bases, multi-stage, non-root USER, EXPOSE 3000, exec-form
  ENTRYPOINT/CMD, the build command, .dockerignore lets the COPY sources through);
- the monitoring files: Compose's alert rules equal the PrometheusRule's, the Grafana dashboard
  and provisioning, Jaeger's pipeline.

What ties the manifests to the binary (flags, ports, probe paths answering, config keys,
environment variable names, metric names) is crates/weaver/tests/process/deploy.rs.

Exit status 1 on any failure; the last line is `deploy-checks: N passed, M failed[, K skipped]`.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import traceback
from typing import Any, Callable, Iterable

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
K8S_VERSION = "1.33.0"

# Kinds from CRDs: kubernetes-validate has no schema for them. Skipped explicitly, never silently.
CRD_KINDS = {
    ("bitnami.com/v1alpha1", "SealedSecret"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}

KUSTOMIZATIONS = [
    "kubernetes/base",
    "kubernetes/services/weaver",
    "kubernetes/services/mcp-server",
    "kubernetes/services/api-gateway",
    "kubernetes/monitoring/prometheus",
    "kubernetes/monitoring/grafana",
    "kubernetes/monitoring/jaeger",
    "kubernetes/overlays/development",
    "kubernetes/overlays/staging",
    "kubernetes/overlays/production",
]
OVERLAYS = ["development", "staging", "production"]
# The Deployments that run the Weaver image, and their ports.
WEAVER_ROLES = {"weaver": 3000, "mcp-server": 3001, "api-gateway": 8080}
STATELESS = ["mcp-server", "api-gateway"]


class Fail(Exception):
    """A check failed; the message says why."""


class Skip(Exception):
    """A check could not run here; the message says why."""


class Runner:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            result = fn(*args)
        except Skip as skip:
            self.skipped += 1
            print(f"skip  {name}: {skip}")
            return None
        except Fail as fail:
            self.failed += 1
            print(f"FAIL  {name}: {fail}")
            return None
        except Exception:  # a bug in a check is a failure too, with its trace
            self.failed += 1
            print(f"FAIL  {name}: unexpected error\n{traceback.format_exc()}")
            return None
        self.passed += 1
        print(f"ok    {name}")
        return result

    def summary(self) -> int:
        line = f"deploy-checks: {self.passed} passed, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        print(line)
        return 1 if self.failed else 0


def ensure(condition: bool, message: str) -> None:
    if not condition:
        raise Fail(message)


def collect(problems: list[str]) -> None:
    if problems:
        raise Fail("\n  - " + "\n  - ".join(problems))


def load_yaml(rel: str) -> Any:
    with open(ROOT / rel, encoding="utf-8") as f:
        return yaml.safe_load(f)


# --------------------------------------------------------------------------------------------
# YAML style

def yamllint() -> None:
    targets = ["docker-compose.yml", "deploy", "kubernetes", ".yamllint"]
    proc = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-f", "parsable", "-c", ".yamllint", *targets],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    ensure(proc.returncode == 0, (proc.stdout + proc.stderr).strip())


# --------------------------------------------------------------------------------------------
# Kustomize

def kustomize(rel: str) -> list[dict]:
    if shutil.which("kubectl") is None:
        raise Skip("kubectl is not installed")
    proc = subprocess.run(["kubectl", "kustomize", rel], cwd=ROOT, capture_output=True, text=True, check=False)
    ensure(proc.returncode == 0, proc.stderr.strip()[-2000:])
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    ensure(docs, "rendered nothing")
    return docs


def deprecated_kustomize_fields() -> None:
    deprecated = {"bases", "patchesStrategicMerge", "patchesJson6902", "commonLabels", "vars", "images_"}
    problems = []
    for path in sorted((ROOT / "kubernetes").rglob("kustomization.yaml")) + sorted((ROOT / "deploy").rglob("kustomization.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        used = deprecated & set(data)
        if used:
            problems.append(f"{path.relative_to(ROOT)}: deprecated {sorted(used)}")
        if data.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or data.get("kind") != "Kustomization":
            problems.append(f"{path.relative_to(ROOT)}: expected apiVersion/kind of a Kustomization")
    collect(problems)


def validate_schema(rel: str, docs: list[dict]) -> str:
    import kubernetes_validate  # installed by deploy-checks.sh

    problems = []
    skipped = []
    for doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if key in CRD_KINDS:
            skipped.append(name)
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{name}: no schema for {key} in Kubernetes {K8S_VERSION} (a CRD? add it to CRD_KINDS)")
        except kubernetes_validate.ValidationError as err:
            path = "/".join(str(p) for p in err.path)
            problems.append(f"{name}: {err.message} at {path or '(root)'}")
    collect(problems)
    if skipped:
        print(f"      {rel}: CRD kinds not schema-checked: {', '.join(skipped)}")
    return ""


# --------------------------------------------------------------------------------------------
# Overlay invariants

def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def selects(selector: dict, labels: dict) -> bool:
    match = selector.get("matchLabels", selector) if "matchLabels" in selector or "matchExpressions" in selector else selector
    if not isinstance(match, dict):
        return False
    return all(labels.get(k) == v for k, v in match.items())


def strip_hash(name: str, names: Iterable[str]) -> bool:
    return name in set(names)


def overlay_invariants(overlay: str, docs: list[dict]) -> None:
    problems: list[str] = []
    deployments = by_kind(docs, "Deployment")
    services = by_kind(docs, "Service")
    configmaps = by_kind(docs, "ConfigMap")
    secrets = by_kind(docs, "Secret")
    sealed = by_kind(docs, "SealedSecret")
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    policies = by_kind(docs, "NetworkPolicy")
    ingresses = by_kind(docs, "Ingress")
    secret_names = set(secrets) | {s["spec"].get("template", {}).get("metadata", {}).get("name", n) for n, s in sealed.items()}

    for role in WEAVER_ROLES:
        if role not in deployments:
            problems.append(f"Deployment {role} missing")

    # Every object: namespace and the shared labels.
    for doc in docs:
        meta = doc["metadata"]
        name = f"{doc['kind']}/{meta['name']}"
        labels = meta.get("labels", {})
        for label in ("app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"):
            if label not in labels:
                problems.append(f"{name}: label {label} missing")
        if doc["kind"] != "Namespace" and meta.get("namespace") not in ("weave-nn", "monitoring"):
            problems.append(f"{name}: namespace {meta.get('namespace')!r}")

    # Single writer.
    weaver = deployments.get("weaver")
    if weaver:
        spec = weaver["spec"]
        if spec.get("replicas") != 1:
            problems.append(f"weaver: replicas must be 1 (single writer), got {spec.get('replicas')}")
        if spec.get("strategy", {}).get("type") != "Recreate":
            problems.append("weaver: strategy must be Recreate (single writer)")
        for claim in ("weaver-vault", "weaver-data"):
            if claim not in pvcs:
                problems.append(f"PersistentVolumeClaim {claim} missing")
            elif overlay != "development" and pvcs[claim]["spec"]["accessModes"] != ["ReadWriteOncePod"]:
                problems.append(f"{claim}: {overlay} must use ReadWriteOncePod")
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("name") == "weaver":
            problems.append(f"HorizontalPodAutoscaler/{name} scales weaver, a single writer")
        if target.get("name") not in deployments:
            problems.append(f"HorizontalPodAutoscaler/{name}: no Deployment {target.get('name')}")
    if overlay != "development":
        for role in STATELESS:
            if not any(h["spec"]["scaleTargetRef"]["name"] == role for h in hpas.values()):
                problems.append(f"{role}: no HorizontalPodAutoscaler in {overlay}")

    for name, dep in deployments.items():
        spec = dep["spec"]
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"].get("labels", {})
        if not selects(spec["selector"], pod_labels):
            problems.append(f"{name}: selector does not match its pod labels")
        if name in STATELESS:
            rolling = spec.get("strategy", {}).get("rollingUpdate", {})
            if spec.get("strategy", {}).get("type") != "RollingUpdate" or rolling.get("maxUnavailable") != 0:
                problems.append(f"{name}: rolling update with maxUnavailable: 0 expected")
            if overlay != "development" and "replicas" in spec:
                problems.append(f"{name}: `replicas` set although an HPA owns it")
        if name in WEAVER_ROLES and not any(selects(p["spec"]["selector"], pod_labels) for p in pdbs.values()):
            problems.append(f"{name}: no PodDisruptionBudget")
        if not any(selects(p["spec"]["podSelector"], pod_labels) and p["spec"].get("ingress") for p in policies.values()):
            problems.append(f"{name}: no NetworkPolicy allowing its ingress")
        psc = pod.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod securityContext.runAsNonRoot must be true")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: pod seccompProfile must be RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken must be false")
        for c in pod["containers"]:
            cname = f"{name}/{c['name']}"
            image = c.get("image", "")
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            if not tag or tag == "latest":
                problems.append(f"{cname}: image {image!r} must carry a pinned tag")
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cname}: allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cname}: readOnlyRootFilesystem must be true")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{cname}: capabilities must drop ALL")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(kind, {}):
                        problems.append(f"{cname}: resources.{kind}.{r} missing")
            if name in WEAVER_ROLES:
                port_names = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
                if port_names.get("http") != WEAVER_ROLES[name]:
                    problems.append(f"{cname}: port `http` must be {WEAVER_ROLES[name]}, got {port_names.get('http')}")
                for probe, path in (("startupProbe", "/livez"), ("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
                    got = c.get(probe, {}).get("httpGet", {})
                    if got.get("path") != path or got.get("port") != "http":
                        problems.append(f"{cname}: {probe} must GET {path} on port http, got {got}")
                pre = c.get("lifecycle", {}).get("preStop", {})
                if "sleep" not in pre:
                    problems.append(f"{cname}: preStop sleep missing")
            # References.
            for src in c.get("envFrom", []):
                if "configMapRef" in src and src["configMapRef"]["name"] not in configmaps:
                    problems.append(f"{cname}: envFrom ConfigMap {src['configMapRef']['name']} not rendered")
                if "secretRef" in src and src["secretRef"]["name"] not in secret_names:
                    problems.append(f"{cname}: envFrom Secret {src['secretRef']['name']} not rendered")
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            volumes = {v["name"] for v in pod.get("volumes", [])}
            for missing in sorted(mounts - volumes):
                problems.append(f"{cname}: volumeMount {missing} has no volume")
            if c.get("securityContext", {}).get("readOnlyRootFilesystem") and "/tmp" not in {m["mountPath"] for m in c.get("volumeMounts", [])}:
                problems.append(f"{cname}: read-only root without a /tmp volume")
        for v in pod.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                problems.append(f"{name}: volume {v['name']}: ConfigMap {v['configMap']['name']} not rendered")
            if "secret" in v and v["secret"]["secretName"] not in secret_names:
                problems.append(f"{name}: volume {v['name']}: Secret {v['secret']['secretName']} not rendered")
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in pvcs:
                problems.append(f"{name}: volume {v['name']}: claim not rendered")

    # Services select a Deployment and name one of its ports.
    for name, svc in services.items():
        matches = [d for d in deployments.values() if selects(svc["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        if len(matches) != 1:
            problems.append(f"Service/{name}: selects {len(matches)} Deployments")
            continue
        ports = {p.get("name") for c in matches[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for p in svc["spec"]["ports"]:
            if isinstance(p["targetPort"], str) and p["targetPort"] not in ports:
                problems.append(f"Service/{name}: targetPort {p['targetPort']} is no container port")

    # Ingress: TLS with cert-manager, /api and /mcp to the gateway.
    ing = ingresses.get("weave-nn")
    if ing is None:
        problems.append("Ingress weave-nn missing")
    else:
        if "cert-manager.io/cluster-issuer" not in ing["metadata"].get("annotations", {}):
            problems.append("Ingress: cert-manager.io/cluster-issuer annotation missing")
        rule = ing["spec"]["rules"][0]
        if not ing["spec"].get("tls") or rule["host"] not in ing["spec"]["tls"][0]["hosts"]:
            problems.append("Ingress: the rule's host must be covered by tls")
        routes = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
        for path in ("/api", "/mcp"):
            backend = routes.get(path)
            if not backend or backend["name"] != "api-gateway":
                problems.append(f"Ingress: {path} must route to api-gateway")
            elif backend["name"] not in services:
                problems.append(f"Ingress: Service {backend['name']} not rendered")

    # NetworkPolicies: weaver and mcp-server are reached only from the gateway (and mcp-server
    # -> weaver, its upstream) plus the monitoring namespace.
    allowed_from = {"weaver": {"api-gateway", "mcp-server"}, "mcp-server": {"api-gateway"}}
    for target, allowed in allowed_from.items():
        for pol in policies.values():
            if pol["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") != target:
                continue
            for rule in pol["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        src = peer["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
                        if src not in allowed:
                            problems.append(f"NetworkPolicy/{pol['metadata']['name']}: {target} reachable from {src}")
                    elif "namespaceSelector" in peer:
                        ns = peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name")
                        if ns != "monitoring":
                            problems.append(f"NetworkPolicy/{pol['metadata']['name']}: {target} reachable from namespace {ns}")
                    else:
                        problems.append(f"NetworkPolicy/{pol['metadata']['name']}: {target} has an unrestricted peer")
    if "default-deny-ingress" not in policies:
        problems.append("NetworkPolicy default-deny-ingress missing")

    # HPA custom metrics are served by the prometheus-adapter rules.
    adapter = load_yaml("kubernetes/monitoring/prometheus/prometheus-adapter-values.yaml")
    served = {r["name"]["as"] for r in adapter["rules"]["custom"]}
    for name, hpa in hpas.items():
        for m in hpa["spec"]["metrics"]:
            if m["type"] == "Pods" and m["pods"]["metric"]["name"] not in served:
                problems.append(f"HorizontalPodAutoscaler/{name}: metric {m['pods']['metric']['name']} not served by prometheus-adapter")
        kinds = {m["type"] if m["type"] != "Resource" else m["resource"]["name"] for m in hpa["spec"]["metrics"]}
        if not {"cpu", "memory", "Pods"} <= kinds:
            problems.append(f"HorizontalPodAutoscaler/{name}: expected cpu, memory and a Pods metric, got {sorted(kinds)}")

    # Every Secret item a pod mounts is an entry of that Secret (or of the SealedSecret making
    # it): weaver's metrics-token and the gateway's api-keys. A plain Secret's api-keys is a
    # keys file without keys.
    entries: dict[str, set[str]] = {n: set(sec.get("data", {})) | set(sec.get("stringData", {})) for n, sec in secrets.items()}
    for n, sec in sealed.items():
        made = sec["spec"].get("template", {}).get("metadata", {}).get("name", n)
        entries.setdefault(made, set()).update(sec["spec"].get("encryptedData", {}))
    for name, dep in deployments.items():
        for v in dep["spec"]["template"]["spec"].get("volumes", []):
            secret = v.get("secret")
            if not secret or secret["secretName"] not in entries:
                continue
            for item in secret.get("items", []):
                if item["key"] not in entries[secret["secretName"]]:
                    problems.append(f"{name}: Secret {secret['secretName']} has no entry {item['key']}")
    for n in entries:
        if n.startswith("weave-nn-secrets") and not {"metrics-token", "api-keys"} <= entries[n]:
            problems.append(f"Secret {n}: metrics-token and api-keys expected, got {sorted(entries[n])}")
    for n, sec in secrets.items():
        if "api-keys" in sec.get("data", {}):
            text = base64.b64decode(sec["data"]["api-keys"]).decode()
            problems.extend(f"Secret {n}: api-keys {p}" for p in key_material("", text))
    collect(problems)


def key_material(where: str, text: str) -> list[str]:
    """Keys or key hashes in a committed keys file (outside comments): there must be none."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        if re.search(r"\bwvr_[A-Za-z0-9_-]{16,}", line):
            problems.append(f"{where}line {number}: an API key")
        elif re.match(r"\s*(hash\s*=|\[\[)", code):
            problems.append(f"{where}line {number}: a key entry ({code.strip()[:40]}); committed keys files stay empty")
    return problems


def committed_keys_files() -> None:
    problems = []
    for rel in ("deploy/gateway-keys.example.toml", "kubernetes/overlays/development/api-keys.toml"):
        text = (ROOT / rel).read_text()
        problems.extend(key_material(f"{rel}: ", text))
        if not re.search(r"^keys = \[\]$", text, re.M):
            problems.append(f"{rel}: expected an explicit `keys = []`")
    collect(problems)


# --------------------------------------------------------------------------------------------
# Docker Compose

COMPOSE_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with the defaults (the environment of CI is not the user's)."""
    return COMPOSE_VAR.sub(lambda m: m.group(2) or "", value)


def compose_schema() -> None:
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    ensure(proc.returncode == 0, (proc.stdout + proc.stderr).strip())


def listen_port(command: list[str]) -> int | None:
    for i, arg in enumerate(command):
        if arg == "--listen" and i + 1 < len(command):
            return int(command[i + 1].rsplit(":", 1)[1])
    return None


def compose_consistency() -> None:
    compose = load_yaml("docker-compose.yml")
    services = compose["services"]
    problems: list[str] = []
    default = sorted(n for n, s in services.items() if not s.get("profiles"))
    if default != ["weaver"]:
        problems.append(f"the default profile must run weaver only, runs {default}")
    full = {n for n, s in services.items() if "full" in s.get("profiles", [])}
    expected_full = {"mcp-server", "api-gateway", "prometheus", "grafana", "jaeger"}
    if full != expected_full:
        problems.append(f"profile `full` must add {sorted(expected_full)}, adds {sorted(full)}")
    weaver_images = set()
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for name, svc in services.items():
        image = interpolate(svc.get("image", ""))
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if not tag or tag == "latest":
            problems.append(f"{name}: image {image!r} must carry a pinned tag")
        if name in WEAVER_ROLES:
            weaver_images.add(svc.get("image"))
            command = svc.get("command", [])
            if not isinstance(command, list):
                problems.append(f"{name}: command must be a list (exec form)")
                continue
            port = listen_port(command)
            if port != WEAVER_ROLES[name]:
                problems.append(f"{name}: --listen port {port}, expected {WEAVER_ROLES[name]}")
            published = [interpolate(p).rsplit(":", 1)[1] for p in svc.get("ports", [])]
            if str(port) not in published:
                problems.append(f"{name}: container port {port} not published ({published})")
            test = " ".join(svc.get("healthcheck", {}).get("test", []))
            if f"/dev/tcp/127.0.0.1/{port} " not in test + " ":
                problems.append(f"{name}: healthcheck does not probe port {port}")
            if not svc.get("read_only"):
                problems.append(f"{name}: read_only root filesystem expected")
            if "/tmp" not in svc.get("tmpfs", []):
                problems.append(f"{name}: tmpfs /tmp expected")
            if "ALL" not in svc.get("cap_drop", []):
                problems.append(f"{name}: cap_drop ALL expected")
            user = interpolate(svc.get("user", "0"))
            if user.split(":")[0] in ("", "0", "root"):
                problems.append(f"{name}: must not run as root")
        for dep, cond in (svc.get("depends_on") or {}).items() if isinstance(svc.get("depends_on"), dict) else ((d, {}) for d in svc.get("depends_on") or []):
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
            elif cond.get("condition") == "service_healthy" and "healthcheck" not in services[dep]:
                problems.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
        for vol in svc.get("volumes", []):
            if isinstance(vol, str):
                problems.append(f"{name}: use the long volume syntax ({vol})")
                continue
            if vol["type"] == "volume" and vol["source"] not in declared_volumes:
                problems.append(f"{name}: volume {vol['source']} not declared")
            if vol["type"] == "bind":
                source = ROOT / interpolate(vol["source"])
                if not source.exists():
                    problems.append(f"{name}: bind source {vol['source']} does not exist")
        for secret in svc.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            if source not in (compose.get("secrets") or {}):
                problems.append(f"{name}: secret {source} not declared")
    for secret, spec in (compose.get("secrets") or {}).items():
        if "file" in spec and not (ROOT / interpolate(spec["file"])).is_file():
            problems.append(f"secret {secret}: file {spec['file']} does not exist")
    if len(weaver_images) != 1:
        problems.append(f"weaver, mcp-server and api-gateway must share one image, got {weaver_images}")
    weaver = services["weaver"]
    targets = {v["target"]: v for v in weaver["volumes"]}
    if "/vault" not in targets or targets["/vault"]["type"] != "bind":
        problems.append("weaver: the vault must be bind-mounted at /vault")
    if "/data" not in targets or targets["/data"]["type"] != "volume":
        problems.append("weaver: /data must be a named volume")
    if weaver.get("environment", {}).get("WEAVER_CONFIG") not in targets:
        problems.append("weaver: WEAVER_CONFIG must name the mounted config file")
    env_files = [e["path"] if isinstance(e, dict) else e for e in weaver.get("env_file", [])]
    for env in env_files:
        if not (ROOT / (env + ".example")).exists():
            problems.append(f"weaver: env file {env} has no {env}.example")
    for example in ("deploy/weaver.env.example", "deploy/compose.env.example"):
        text = (ROOT / example).read_text()
        for var in re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.M):
            if example.endswith("compose.env.example") and "${" + var not in (ROOT / "docker-compose.yml").read_text():
                problems.append(f"{example}: {var} is not used by docker-compose.yml")

    # Prometheus scrapes all three, at their container ports, with the mounted rule file.
    prom = load_yaml("deploy/prometheus/prometheus.yml")
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]}
    for role, port in WEAVER_ROLES.items():
        if jobs.get(role) != [f"{role}:{port}"]:
            problems.append(f"prometheus.yml: job {role} must scrape {role}:{port}, scrapes {jobs.get(role)}")
    prom_mounts = {v["target"] for v in services["prometheus"]["volumes"]}
    for rule_file in prom.get("rule_files", []):
        if rule_file not in prom_mounts:
            problems.append(f"prometheus.yml: rule file {rule_file} is not mounted")
    config_arg = [a for a in services["prometheus"]["command"] if a.startswith("--config.file=")]
    if not config_arg or config_arg[0].split("=", 1)[1] not in prom_mounts:
        problems.append("prometheus: --config.file is not the mounted prometheus.yml")

    # Grafana: provisioning mounted where Grafana reads it, dashboards where the provider looks.
    graf = services["grafana"]
    graf_mounts = {v["target"]: v["source"] for v in graf["volumes"] if v["type"] == "bind"}
    if graf_mounts.get("/etc/grafana/provisioning") != "./deploy/grafana/provisioning":
        problems.append("grafana: provisioning must be mounted at /etc/grafana/provisioning")
    providers = load_yaml("deploy/grafana/provisioning/dashboards/dashboards.yml")["providers"]
    for p in providers:
        if p["options"]["path"] not in graf_mounts:
            problems.append(f"grafana: dashboard path {p['options']['path']} is not mounted")
    home = graf.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "")
    home_dir, _, home_file = home.rpartition("/")
    if home_dir not in graf_mounts or not (ROOT / graf_mounts[home_dir] / home_file).exists():
        problems.append(f"grafana: home dashboard {home} is not a mounted file")
    datasources = load_yaml("deploy/grafana/provisioning/datasources/datasources.yml")["datasources"]
    for ds in datasources:
        host = re.match(r"https?://([^:/]+)", ds["url"]).group(1)
        if host not in services:
            problems.append(f"grafana datasource {ds['name']}: {host} is no Compose service")

    # Jaeger: the mounted config is the one passed to --config; OTLP ports published.
    jaeger = services["jaeger"]
    jaeger_mounts = {v["target"] for v in jaeger["volumes"]}
    command = jaeger.get("command", [])
    if "--config" not in command or command[command.index("--config") + 1] not in jaeger_mounts:
        problems.append("jaeger: --config must name the mounted deploy/jaeger/config.yaml")
    published = " ".join(jaeger.get("ports", []))
    for port in ("4317", "4318", "16686"):
        if f":{port}" not in published:
            problems.append(f"jaeger: port {port} not published")
    collect(problems)


# --------------------------------------------------------------------------------------------
# Dockerfile

def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """Instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    instructions = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def dockerignore_allows(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    allowed = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, pat.replace("**/", "")) for p in prefixes):
            allowed = negate
    return allowed


def dockerfile_lint() -> None:
    text = (ROOT / "Dockerfile").read_text()
    ins = parse_dockerfile(text)
    problems: list[str] = []
    args = {}
    for kw, rest in ins:
        if kw == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            args[k.strip()] = v.strip()
    froms = [rest for kw, rest in ins if kw == "FROM"]
    if len(froms) < 2:
        problems.append("expected a multi-stage build (a build stage and a runtime stage)")
    stages = []
    for rest in froms:
        parts = rest.split()
        image = re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: args.get(m.group(1), m.group(0)), parts[0])
        if "$" in image:
            problems.append(f"FROM {parts[0]}: unresolved build argument")
        name_tag = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in name_tag or name_tag.endswith(":latest")):
            problems.append(f"FROM {image}: pin a tag (not latest) or a digest")
        if len(parts) >= 3 and parts[1].upper() == "AS":
            stages.append(parts[2])
    if not any("cargo build --release --locked -p weaver" in rest for kw, rest in ins if kw == "RUN"):
        problems.append("the build stage must run `cargo build --release --locked -p weaver`")
    if not any(kw == "COPY" and rest.startswith(f"--from={s} ") for kw, rest in ins for s in stages[:-1]):
        problems.append("the runtime stage must COPY --from the build stage")
    final = ins[max(i for i, (kw, _) in enumerate(ins) if kw == "FROM"):]
    users = [rest for kw, rest in final if kw == "USER"]
    if not users:
        problems.append("the runtime stage has no USER")
    elif not re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]):
        problems.append(f"USER {users[-1]}: use a numeric non-root uid (runAsNonRoot can verify it)")
    if not any(kw == "EXPOSE" and "3000" in rest.split() for kw, rest in final):
        problems.append("EXPOSE 3000 missing")
    for keyword in ("ENTRYPOINT", "CMD"):
        values = [rest for kw, rest in final if kw == keyword]
        if not values:
            problems.append(f"{keyword} missing")
            continue
        try:
            parsed = json.loads(values[-1])
            ensure(isinstance(parsed, list) and all(isinstance(x, str) for x in parsed), "")
        except (json.JSONDecodeError, Fail):
            problems.append(f"{keyword} must use the exec (JSON) form so that weaver is PID 1 and gets SIGTERM")
            continue
        if keyword == "ENTRYPOINT" and parsed != ["weaver"]:
            problems.append(f"ENTRYPOINT {parsed}: expected [\"weaver\"]")
        if keyword == "CMD" and parsed[:1] != ["serve"]:
            problems.append(f"CMD {parsed}: expected the serve role by default")
    for kw, rest in ins:
        if kw == "ADD" and re.search(r"https?://", rest):
            problems.append("ADD from a URL: download in a RUN step with a checksum instead")
        if kw == "RUN" and "apt-get install" in rest:
            if "--no-install-recommends" not in rest:
                problems.append("apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in rest:
                problems.append("apt-get lists not removed in the same layer")
    # .dockerignore lets every COPY source through and keeps build output out.
    ignore = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for kw, rest in ins:
        if kw != "COPY" or rest.startswith("--from="):
            continue
        sources = [s for s in rest.split() if not s.startswith("--")][:-1]
        for src in sources:
            src = src.rstrip("/")
            if not (ROOT / src).exists():
                problems.append(f"COPY {src}: no such file in the repository")
            elif not dockerignore_allows(ignore, src):
                problems.append(f"COPY {src}: excluded by .dockerignore")
    for path in ("target", "crates/weaver/target", ".git", "demo-vault/.weaver"):
        if dockerignore_allows(ignore, path):
            problems.append(f".dockerignore lets {path} into the build context")
    collect(problems)


# --------------------------------------------------------------------------------------------
# Monitoring files

def rules_in_sync() -> None:
    compose_rules = load_yaml("deploy/prometheus/alerts.yml")["groups"]
    operator_rules = load_yaml("kubernetes/monitoring/prometheus/prometheusrule.yaml")["spec"]["groups"]
    ensure(compose_rules == operator_rules,
           "deploy/prometheus/alerts.yml and kubernetes/monitoring/prometheus/prometheusrule.yaml differ")
    problems = []
    alerts = {r["alert"] for g in compose_rules for r in g["rules"] if "alert" in r}
    for needed in ("WeaveNNHighErrorRate", "WeaveNNHighLatencyP99", "WeaverIndexLagging", "WeaveNNRestarting"):
        if needed not in alerts:
            problems.append(f"alert {needed} missing")
    for g in compose_rules:
        for r in g["rules"]:
            if "alert" in r and not {"summary", "description"} <= set(r.get("annotations", {})):
                problems.append(f"alert {r['alert']}: summary and description annotations expected")
    runbook = (ROOT / "kubernetes/README.md").read_text()
    for alert in alerts:
        if alert not in runbook:
            problems.append(f"alert {alert} has no entry in kubernetes/README.md")
    collect(problems)


def dashboard() -> None:
    dash = json.loads((ROOT / "deploy/grafana/dashboards/weaver.json").read_text())
    problems = []
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    variables = {v["name"] for v in dash["templating"]["list"]}
    if "datasource" not in variables:
        problems.append("no `datasource` variable: the dashboard would be tied to one data source uid")
    exprs = []
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {p['title']}: datasource must be ${{datasource}}")
        if not p.get("targets"):
            problems.append(f"panel {p['title']}: no query")
        for t in p.get("targets", []):
            exprs.append(t["expr"])
            for var in re.findall(r"\$(\w+)", t["expr"]):
                if var not in variables and not var.startswith("__"):
                    problems.append(f"panel {p['title']}: unknown variable ${var}")
    text = " ".join(exprs)
    for topic, metric in (("request rate", "http_requests_total"), ("latency", "http_request_duration_seconds_bucket"),
                          ("errors", 'status=~"5.."'), ("notes", "weaver_notes"),
                          ("index lag", "weaver_index_lag_seconds"), ("memory", "memory")):
        if metric not in text:
            problems.append(f"no panel for {topic} ({metric})")
    collect(problems)


def jaeger_config() -> None:
    cfg = load_yaml("deploy/jaeger/config.yaml")
    problems = []
    service = cfg["service"]
    for ext in service["extensions"]:
        if ext not in cfg.get("extensions", {}):
            problems.append(f"extension {ext} used but not configured")
    for name, pipeline in service["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            for comp in pipeline.get(section, []):
                if comp not in (cfg.get(section) or {}):
                    problems.append(f"pipeline {name}: {section[:-1]} {comp} not configured")
    protocols = cfg["receivers"]["otlp"]["protocols"]
    for proto, port in (("grpc", "4317"), ("http", "4318")):
        if not protocols.get(proto, {}).get("endpoint", "").endswith(f":{port}"):
            problems.append(f"OTLP {proto} must listen on {port}")
    storage = cfg["extensions"]["jaeger_storage"]["backends"]
    if cfg["extensions"]["jaeger_query"]["storage"]["traces"] not in storage:
        problems.append("jaeger_query reads a storage that jaeger_storage does not define")
    if cfg["exporters"]["jaeger_storage_exporter"]["trace_storage"] not in storage:
        problems.append("the exporter writes to a storage that jaeger_storage does not define")
    collect(problems)


# --------------------------------------------------------------------------------------------

def main() -> int:
    r = Runner()
    r.run("yamllint --strict (.yamllint)", yamllint)
    r.run("kustomizations use current fields (resources, patches; no bases)", deprecated_kustomize_fields)
    rendered: dict[str, list[dict]] = {}
    for rel in KUSTOMIZATIONS:
        docs = r.run(f"kubectl kustomize {rel}", kustomize, rel)
        if docs is not None:
            rendered[rel] = docs
    for rel, docs in rendered.items():
        r.run(f"Kubernetes {K8S_VERSION} schemas (strict): {rel}", validate_schema, rel, docs)
    for overlay in OVERLAYS:
        rel = f"kubernetes/overlays/{overlay}"
        if rel in rendered:
            r.run(f"invariants: overlays/{overlay}", overlay_invariants, overlay, rendered[rel])
        else:
            r.run(f"invariants: overlays/{overlay}", lambda: (_ for _ in ()).throw(Skip("not rendered")))
    r.run("docker-compose.yml against the Compose specification schema", compose_schema)
    r.run("docker-compose.yml consistency (profiles, ports, volumes, health checks, mounts)", compose_consistency)
    r.run("Dockerfile and .dockerignore", dockerfile_lint)
    r.run("committed API keys files hold no key", committed_keys_files)
    r.run("alert rules: Compose and PrometheusRule in sync, runbook entries", rules_in_sync)
    r.run("Grafana dashboard", dashboard)
    r.run("Jaeger configuration", jaeger_config)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())

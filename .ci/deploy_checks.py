#!/usr/bin/env python3
"""Static checks of the deployment files (run through .ci/deploy-checks.sh, which installs the tools).

What is checked, without a Docker engine or a cluster:
- YAML style (yamllint --strict, .yamllint);
- every kustomization renders (`kubectl kustomize`), and every object it renders is valid for
  Kubernetes 1.33 (kubernetes-validate, strict: unknown fields are errors). The CRD kinds
  SealedSecret, ServiceMonitor, PodMonitor, PrometheusRule and CloudNativePG's Cluster have no
  bundled schema and are skipped explicitly (listed in the output; the Cluster's fields that
  matter are checked below);
- the invariants of the rendered overlays, by weaver's mode (the rendered weaver.toml says which:
  `[cluster]` and no `[vaults]`, or the reverse; development is local, staging and production
  are cluster mode):
  - a single writer per vault folder (1 replica, Recreate, no HPA, the vault claim, RWOP outside
    development): the local mode's weaver, or cluster mode's bridge;
  - cluster mode: weaver with >= 3 replicas, RollingUpdate maxSurge 1 / maxUnavailable 0, an HPA
    (CPU and request rate, never memory or lag), a PDB minAvailable 2, spread over nodes, an
    emptyDir (with sizeLimit) at `[cluster] data_dir`, no claim mounted, the database URL from
    CloudNativePG's `<cluster>-app` Secret; the CNPG Cluster (>= 3 instances, synchronous
    replication in the current syntax, resources, storage, a PodMonitor); NetworkPolicies that
    let the replicas, the bridge, the standbys, the operator and Prometheus reach the database
    and the bridge reach nothing else; ResourceQuota and LimitRange, the quota covering what the
    rendered workloads may use at once;
  - for every overlay: probes, security contexts, resources, rolling updates, disruption
    budgets, network policies, references between objects (Secret entries included:
    weave-nn-secrets carries metrics-token and api-keys), HPA metrics served by the
    prometheus-adapter rules, no deprecated Kustomize fields;
- the committed API keys files (Compose's example, development's Secret) hold no key or hash;
- docker-compose.yml against the Compose specification's JSON schema (bundled by
  check-jsonschema), and its consistency (profiles, images, ports, volumes, health checks,
  mounted files, Prometheus targets, hardening; the local-mode weaver and the bridge are the
  only services on the vault folder, the replicas run deploy/weaver-cluster.toml behind the
  gateway's list of upstreams, PostgreSQL's password only from `.env`);
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

try:
    import tomllib
except ImportError:  # Python < 3.11: the same parser, installed by deploy-checks.sh
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
K8S_VERSION = "1.33.0"

# Kinds from CRDs: kubernetes-validate has no schema for them. Skipped explicitly, never silently.
CRD_KINDS = {
    ("bitnami.com/v1alpha1", "SealedSecret"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("postgresql.cnpg.io/v1", "Cluster"),
}

KUSTOMIZATIONS = [
    "kubernetes/base",
    "kubernetes/services/weaver",
    "kubernetes/services/weaver-bridge",
    "kubernetes/services/postgres",
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
# weaver's mode in each overlay: the local mode's single writer, or cluster mode on PostgreSQL.
MODES = {"development": "local", "staging": "cluster", "production": "cluster"}
# The Deployments that run the Weaver image in every overlay, and their ports.
WEAVER_ROLES = {"weaver": 3000, "mcp-server": 3001, "api-gateway": 8080}
STATELESS = ["mcp-server", "api-gateway"]
# Cluster mode's single writer of the vault folder, and its port.
BRIDGE = "weaver-bridge"
BRIDGE_PORT = 3002
VAULT_CLAIM = "weaver-vault"
POSTGRES_URL_ENV = "WEAVER__CLUSTER__POSTGRES_URL"


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
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("kubernetes", "components"):
            # Components (applied by overlays through `components:`) have their own kind.
            if data.get("apiVersion") != "kustomize.config.k8s.io/v1alpha1" or data.get("kind") != "Component":
                problems.append(f"{rel}: expected apiVersion/kind of a Kustomize Component")
        elif data.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or data.get("kind") != "Kustomization":
            problems.append(f"{rel}: expected apiVersion/kind of a Kustomization")
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
    # CloudNativePG makes `<cluster>-app` (the application user's credentials, key `uri`) and
    # `<cluster>-ca` (the CA of the server certificates, key `ca.crt`).
    operator_secrets = {f"{n}-{kind}" for n in cnpg_clusters(docs) for kind in ("app", "ca")}

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

    # weaver's mode (local single writer, or cluster mode with the bridge and PostgreSQL), with
    # the rules of each (weaver_mode_invariants).
    problems.extend(weaver_mode_invariants(overlay, docs))
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
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
        if (name in WEAVER_ROLES or name == BRIDGE) and not any(selects(p["spec"]["selector"], pod_labels) for p in pdbs.values()):
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
        for c in pod.get("initContainers", []) + pod["containers"]:
            init = c in pod.get("initContainers", [])
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
            ports = {**WEAVER_ROLES, BRIDGE: BRIDGE_PORT}
            if name in ports and not init:
                port_names = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
                if port_names.get("http") != ports[name]:
                    problems.append(f"{cname}: port `http` must be {ports[name]}, got {port_names.get('http')}")
                # Readiness is /readyz: for a cluster replica "connected and caught up", for the
                # bridge "holds the vault's lock and in sync".
                for probe, path in (("startupProbe", "/livez"), ("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
                    got = c.get(probe, {}).get("httpGet", {})
                    if got.get("path") != path or got.get("port") != "http":
                        problems.append(f"{cname}: {probe} must GET {path} on port http, got {got}")
            if name in WEAVER_ROLES and not init:
                pre = c.get("lifecycle", {}).get("preStop", {})
                if "sleep" not in pre:
                    problems.append(f"{cname}: preStop sleep missing")
            # References.
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secret_names | operator_secrets:
                    problems.append(f"{cname}: env {var['name']}: Secret {ref['name']} is neither rendered nor made by a rendered operator")
            for src in c.get("envFrom", []):
                if "configMapRef" in src and src["configMapRef"]["name"] not in configmaps:
                    problems.append(f"{cname}: envFrom ConfigMap {src['configMapRef']['name']} not rendered")
                if "secretRef" in src and src["secretRef"]["name"] not in secret_names:
                    problems.append(f"{cname}: envFrom Secret {src['secretRef']['name']} not rendered")
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            volumes = {v["name"] for v in pod.get("volumes", [])}
            for missing in sorted(mounts - volumes):
                problems.append(f"{cname}: volumeMount {missing} has no volume")
            if not init and c.get("securityContext", {}).get("readOnlyRootFilesystem") and "/tmp" not in {m["mountPath"] for m in c.get("volumeMounts", [])}:
                problems.append(f"{cname}: read-only root without a /tmp volume")
        for v in pod.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                problems.append(f"{name}: volume {v['name']}: ConfigMap {v['configMap']['name']} not rendered")
            if "secret" in v and v["secret"]["secretName"] not in secret_names | operator_secrets:
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
    allowed_from = {"weaver": {"api-gateway", "mcp-server"}, "mcp-server": {"api-gateway"}, BRIDGE: set()}
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
        if hpa["spec"]["scaleTargetRef"]["name"] == "weaver":
            # Every replica holds the whole vault: memory does not fall with more replicas.
            if kinds != {"cpu", "Pods"}:
                problems.append(f"HorizontalPodAutoscaler/{name}: weaver scales on cpu and a Pods metric (request rate) only, got {sorted(kinds)}")
        elif not {"cpu", "memory", "Pods"} <= kinds:
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


def cnpg_clusters(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if (d.get("apiVersion"), d.get("kind")) == ("postgresql.cnpg.io/v1", "Cluster")}


def gateway_retries_writes(docs: list[dict]) -> bool:
    """The gateway's effective `upstreams.retry_writes`: its gateway.toml, unless the
    environment (WEAVER_GATEWAY__UPSTREAMS__RETRY_WRITES) overrides it."""
    dep = by_kind(docs, "Deployment")["api-gateway"]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    for var in container.get("env", []):
        if var["name"] == "WEAVER_GATEWAY__UPSTREAMS__RETRY_WRITES":
            return str(var.get("value")).lower() == "true"
    return bool(mounted_toml(docs, "api-gateway", container["name"]).get("upstreams", {}).get("retry_writes", False))


def weaver_toml(docs: list[dict]) -> dict:
    """The weaver.toml that weaver's Deployment mounts at its --config (parsed)."""
    return mounted_toml(docs, "weaver", "weaver")


def mounted_toml(docs: list[dict], deployment: str, container_name: str) -> dict:
    """The TOML file a Deployment's container names with --config, from the ConfigMap mounted there."""
    dep = by_kind(docs, "Deployment")[deployment]
    container = next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == container_name)
    args = container.get("args", [])
    config = pathlib.PurePosixPath(args[args.index("--config") + 1])
    mount = max((m for m in container.get("volumeMounts", []) if config.is_relative_to(m["mountPath"])),
                key=lambda m: len(m["mountPath"]))
    volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    cm = by_kind(docs, "ConfigMap")[volume["configMap"]["name"]]
    return tomllib.loads(cm["data"][config.name])


def mount_of(dep: dict, container: dict, path: str) -> tuple[dict, dict] | tuple[None, None]:
    """The volume mount of `container` that holds `path`, and the pod volume behind it."""
    mounts = [m for m in container.get("volumeMounts", [])
              if pathlib.PurePosixPath(path).is_relative_to(m["mountPath"])]
    if not mounts:
        return None, None
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    volume = next((v for v in dep["spec"]["template"]["spec"].get("volumes", []) if v["name"] == mount["name"]), None)
    return mount, volume


def claims_of(dep: dict) -> set[str]:
    return {v["persistentVolumeClaim"]["claimName"] for v in dep["spec"]["template"]["spec"].get("volumes", [])
            if "persistentVolumeClaim" in v}


def env_secret(container: dict, name: str) -> dict | None:
    for var in container.get("env", []):
        if var["name"] == name:
            return var.get("valueFrom", {}).get("secretKeyRef") or {"literal": var.get("value")}
    return None


def single_writer(overlay: str, name: str, dep: dict | None, hpas: dict, pvcs: dict) -> list[str]:
    """The rules of a single writer of the vault folder: the local mode's weaver, or the bridge."""
    if dep is None:
        return [f"Deployment {name} missing (the single writer of the vault folder)"]
    problems = []
    spec = dep["spec"]
    if spec.get("replicas") != 1:
        problems.append(f"{name}: replicas must be 1 (single writer), got {spec.get('replicas')}")
    if spec.get("strategy", {}).get("type") != "Recreate" or "rollingUpdate" in spec.get("strategy", {}):
        problems.append(f"{name}: strategy must be Recreate (single writer)")
    for hpa_name, hpa in hpas.items():
        if hpa["spec"]["scaleTargetRef"].get("name") == name:
            problems.append(f"HorizontalPodAutoscaler/{hpa_name} scales {name}, a single writer")
    if VAULT_CLAIM not in claims_of(dep):
        problems.append(f"{name}: does not mount the vault claim {VAULT_CLAIM}")
    for claim in claims_of(dep):
        if claim not in pvcs:
            continue
        modes = pvcs[claim]["spec"]["accessModes"]
        if overlay != "development" and modes != ["ReadWriteOncePod"]:
            problems.append(f"{claim}: {overlay} must use ReadWriteOncePod, got {modes}")
        elif modes not in (["ReadWriteOnce"], ["ReadWriteOncePod"]):
            problems.append(f"{claim}: a single writer's volume is ReadWriteOnce(Pod), got {modes}")
    return problems


def weaver_mode_invariants(overlay: str, docs: list[dict]) -> list[str]:
    problems: list[str] = []
    deployments = by_kind(docs, "Deployment")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    clusters = cnpg_clusters(docs)
    weaver = deployments.get("weaver")
    if weaver is None:
        return problems
    try:
        config = weaver_toml(docs)
    except (KeyError, ValueError, StopIteration, tomllib.TOMLDecodeError) as err:
        return [f"weaver: cannot read the weaver.toml its --config names: {err!r}"]
    mode = "cluster" if "cluster" in config else "local"
    if mode != MODES[overlay]:
        problems.append(f"overlays/{overlay} must run weaver in {MODES[overlay]} mode, renders {mode} mode")
    if mode == "local":
        # The files on the vault claim are the truth; one pod owns them.
        if config.get("cluster") is not None or not config.get("vaults"):
            problems.append("local mode: weaver.toml needs [vaults.NAME] sections and no [cluster]")
        problems.extend(single_writer(overlay, "weaver", weaver, hpas, pvcs))
        if "weaver-data" not in claims_of(weaver):
            problems.append("local mode: weaver keeps its cache and index on the claim weaver-data")
        if BRIDGE in deployments or clusters:
            problems.append("local mode: no bridge and no database (a bridge would be a second writer of the folder)")
        if "api-gateway" in deployments and gateway_retries_writes(docs):
            problems.append("local mode: the gateway must not retry writes (weaver does not remember request ids there)")
        return problems

    # Cluster mode.
    if "api-gateway" in deployments and not gateway_retries_writes(docs):
        problems.append("cluster mode: the gateway retries writes after a broken connection (upstreams.retry_writes), as replicas dedupe request ids")
    if config.get("vaults"):
        problems.append("cluster mode: weaver.toml must have no [vaults.*] (weaver refuses them with [cluster])")
    if "postgres_url" in config["cluster"] or "postgres_url_file" in config["cluster"]:
        problems.append("cluster mode: the database URL comes from the Secret (WEAVER__CLUSTER__POSTGRES_URL), not weaver.toml")
    spec = weaver["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    container = next(c for c in pod["containers"] if c["name"] == "weaver")
    if (spec.get("replicas") or 0) < 3:
        problems.append(f"cluster mode: weaver needs replicas >= 3, got {spec.get('replicas')}")
    strategy = spec.get("strategy", {})
    rolling = strategy.get("rollingUpdate", {})
    if strategy.get("type") != "RollingUpdate" or rolling.get("maxSurge") != 1 or rolling.get("maxUnavailable") != 0:
        problems.append(f"cluster mode: weaver rolls with maxSurge 1 and maxUnavailable 0, got {strategy}")
    weaver_hpas = [h for h in hpas.values() if h["spec"]["scaleTargetRef"]["name"] == "weaver"]
    if len(weaver_hpas) != 1:
        problems.append(f"cluster mode: weaver needs one HorizontalPodAutoscaler, has {len(weaver_hpas)}")
    for hpa in weaver_hpas:
        if hpa["spec"].get("minReplicas", 1) < 3 or hpa["spec"]["maxReplicas"] < hpa["spec"].get("minReplicas", 1):
            problems.append(f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: minReplicas >= 3 <= maxReplicas expected")
        for m in hpa["spec"]["metrics"]:
            metric = m.get("pods", {}).get("metric", {}).get("name", "") + m.get("external", {}).get("metric", {}).get("name", "")
            if re.search(r"lag|stale|cluster", metric):
                problems.append(f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: scales on {metric}; replication lag is an alert, not a scaling signal")
    budgets = [p for p in pdbs.values() if selects(p["spec"]["selector"], labels)]
    if len(budgets) != 1 or budgets[0]["spec"].get("minAvailable") != 2 or "maxUnavailable" in budgets[0]["spec"]:
        problems.append(f"cluster mode: weaver needs one PodDisruptionBudget with minAvailable 2, got {[b['spec'] for b in budgets]}")
    spread = [s for s in pod.get("topologySpreadConstraints", [])
              if s.get("topologyKey") == "kubernetes.io/hostname" and selects(s.get("labelSelector", {}), labels)]
    if not spread or spread[0].get("whenUnsatisfiable") not in ("DoNotSchedule", "ScheduleAnyway") or spread[0].get("maxSkew") != 1:
        problems.append("cluster mode: weaver needs a topologySpreadConstraint over kubernetes.io/hostname (maxSkew 1) selecting its pods")
    elif spread[0]["whenUnsatisfiable"] == "DoNotSchedule" and spread[0].get("nodeTaintsPolicy") != "Honor":
        problems.append("cluster mode: a DoNotSchedule spread needs nodeTaintsPolicy Honor (a cordoned node must not hold pods Pending)")
    data_dir = str(config["cluster"].get("data_dir", "weaver-data"))
    if not data_dir.startswith("/"):
        problems.append(f"cluster mode: data_dir {data_dir!r} must be an absolute path on a volume")
    else:
        mount, volume = mount_of(weaver, container, data_dir)
        if volume is None or "emptyDir" not in volume:
            problems.append(f"cluster mode: data_dir {data_dir} must be on an emptyDir, got {volume}")
        elif not volume["emptyDir"].get("sizeLimit") or volume["emptyDir"].get("medium") == "Memory":
            problems.append(f"cluster mode: the emptyDir at {data_dir} needs a sizeLimit, on disk")
        elif mount.get("readOnly"):
            problems.append(f"cluster mode: data_dir {data_dir} is mounted read-only")
    if claims_of(weaver):
        problems.append(f"cluster mode: weaver pods mount no claim (the vault is the bridge's), mount {sorted(claims_of(weaver))}")
    if len(clusters) != 1:
        problems.append(f"cluster mode: one CloudNativePG Cluster expected, got {sorted(clusters)}")
        return problems
    (db_name, db), = clusters.items()
    # Every process that talks to the database reads the application user's URL from the
    # operator's Secret, key `uri` (it points at the -rw Service, the current primary), and
    # verifies the server's certificate against the operator's CA: the URL is
    # `$(VAR)?sslmode=verify-full&sslrootcert=FILE`, VAR from that Secret, FILE on a mount of
    # the Secret `<cluster>-ca`.
    app_ref = {"name": f"{db_name}-app", "key": "uri"}
    for dep_name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        ca_volumes = {v["name"] for v in pod.get("volumes", []) if v.get("secret", {}).get("secretName") == f"{db_name}-ca"}
        for c in pod.get("initContainers", []) + pod["containers"]:
            where = f"{dep_name}/{c['name']}"
            ref = env_secret(c, POSTGRES_URL_ENV)
            needed = dep_name in ("weaver", BRIDGE) and c in pod["containers"]
            if ref is None:
                if needed:
                    problems.append(f"{where}: {POSTGRES_URL_ENV} missing")
                continue
            literal = ref.get("literal") or ""
            m = re.fullmatch(r"\$\((\w+)\)\?(.*)", literal)
            if m is None or env_secret(c, m.group(1)) != app_ref:
                problems.append(f"{where}: {POSTGRES_URL_ENV} must be $(VAR)?... with VAR from Secret {db_name}-app, key uri; got {ref}")
                continue
            params = dict(p.split("=", 1) for p in m.group(2).split("&") if "=" in p)
            if params.get("sslmode") != "verify-full":
                problems.append(f"{where}: the database URL must say sslmode=verify-full, got {params.get('sslmode')}")
            root = params.get("sslrootcert", "")
            ca_mounts = [mt["mountPath"] for mt in c.get("volumeMounts", []) if mt["name"] in ca_volumes]
            if not any(root.startswith(mp.rstrip("/") + "/") for mp in ca_mounts):
                problems.append(f"{where}: sslrootcert {root!r} is not on a mount of Secret {db_name}-ca (mounts {ca_mounts})")
    # The bridge: the single writer of the vault folder.
    bridge = deployments.get(BRIDGE)
    problems.extend(single_writer(overlay, BRIDGE, bridge, hpas, pvcs))
    if bridge:
        bc = bridge["spec"]["template"]["spec"]["containers"][0]
        args = bc.get("args", [])
        if args[:1] != ["bridge"] or len(args) < 2:
            problems.append(f"{BRIDGE}: runs `weaver bridge DIR ...`, got {args}")
        else:
            mount, volume = mount_of(bridge, bc, args[1])
            if not volume or volume.get("persistentVolumeClaim", {}).get("claimName") != VAULT_CLAIM or (mount or {}).get("readOnly"):
                problems.append(f"{BRIDGE}: DIR {args[1]} must be the writable vault claim {VAULT_CLAIM}")
            if "--name" not in args:
                problems.append(f"{BRIDGE}: --name (the vault's name in the database) missing")
            listen = args[args.index("--listen") + 1] if "--listen" in args else ""
            if listen != f"0.0.0.0:{BRIDGE_PORT}":
                problems.append(f"{BRIDGE}: --listen must be 0.0.0.0:{BRIDGE_PORT}, got {listen!r}")
        # The replicas wait for exactly the vaults the bridges import.
        names = {a[i + 1] for a in [args] for i, x in enumerate(a) if x == "--name" and i + 1 < len(a)}
        for init in pod.get("initContainers", []):
            expected = next((v.get("value", "") for v in init.get("env", []) if v["name"] == "EXPECTED_VAULTS"), None)
            if expected is not None and set(expected.split()) != names:
                problems.append(f"weaver/{init['name']}: EXPECTED_VAULTS {expected!r} must be the bridges' --name {sorted(names)}")
    # The database.
    dbspec = db["spec"]
    if dbspec.get("instances", 1) < 3:
        problems.append(f"Cluster/{db_name}: instances >= 3 expected, got {dbspec.get('instances')}")
    sync = dbspec.get("postgresql", {}).get("synchronous", {})
    if sync.get("method") not in ("any", "first") or sync.get("number", 0) < 1:
        problems.append(f"Cluster/{db_name}: synchronous replication (postgresql.synchronous method any|first, number >= 1) expected, got {sync}")
    if sync.get("number", 0) >= dbspec.get("instances", 1):
        problems.append(f"Cluster/{db_name}: synchronous.number must be below instances")
    if sync.get("dataDurability", "required") != "required":
        problems.append(f"Cluster/{db_name}: dataDurability `required`: a failover must not lose an acknowledged write")
    for old in ("minSyncReplicas", "maxSyncReplicas"):
        if old in dbspec:
            problems.append(f"Cluster/{db_name}: {old} is deprecated; use postgresql.synchronous")
    if not dbspec.get("storage", {}).get("size"):
        problems.append(f"Cluster/{db_name}: storage.size missing")
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in dbspec.get("resources", {}).get(kind, {}):
                problems.append(f"Cluster/{db_name}: resources.{kind}.{r} missing")
    if ":" not in dbspec.get("imageName", "") or dbspec["imageName"].endswith(":latest"):
        problems.append(f"Cluster/{db_name}: imageName must carry a pinned tag")
    if "enablePodMonitor" in dbspec.get("monitoring", {}):
        problems.append(f"Cluster/{db_name}: monitoring.enablePodMonitor is deprecated; ship a PodMonitor")
    monitors = [m for m in docs if m.get("kind") == "PodMonitor"
                and selects(m["spec"]["selector"], {"cnpg.io/cluster": db_name, "cnpg.io/podRole": "instance"})]
    if not monitors:
        problems.append(f"Cluster/{db_name}: no PodMonitor scrapes its instances")
    problems.extend(database_policies(docs, db_name))
    problems.extend(quota_invariants(overlay, docs))
    return problems


def policy_peers(rule: dict) -> list[tuple[str | None, dict]]:
    """(namespace name or None for this namespace, pod labels) of each peer of a rule."""
    peers = []
    for peer in rule.get("from", rule.get("to", [])):
        ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") if "namespaceSelector" in peer else None
        peers.append((ns, peer.get("podSelector", {}).get("matchLabels", {})))
    return peers


def rule_ports(rule: dict) -> set:
    return {p.get("port") for p in rule.get("ports", [])} or {"any"}


def database_policies(docs: list[dict], db_name: str) -> list[str]:
    """The namespace denies ingress by default: the database must admit its clients, its own
    instances, the operator and Prometheus, and the bridge must reach only the database."""
    problems = []
    policies = by_kind(docs, "NetworkPolicy")
    db_labels = {"cnpg.io/cluster": db_name}
    db_rules = [r for p in policies.values() if selects(p["spec"]["podSelector"], db_labels) and p["spec"]["podSelector"]
                for r in p["spec"].get("ingress", [])]

    def admitted(ns: str | None, labels: dict, port) -> bool:
        for rule in db_rules:
            for peer_ns, peer_labels in policy_peers(rule):
                if peer_ns == ns and all(labels.get(k) == v for k, v in peer_labels.items()) \
                        and (port in rule_ports(rule) or "any" in rule_ports(rule)):
                    return True
        return False

    for client in ("weaver", BRIDGE):
        if not admitted(None, {"app.kubernetes.io/name": client, "app.kubernetes.io/instance": "weave-nn"}, 5432):
            problems.append(f"NetworkPolicy: {db_name} does not admit {client} on 5432")
    if not admitted(None, db_labels, 5432):
        problems.append(f"NetworkPolicy: {db_name}'s instances cannot reach each other (replication)")
    if not admitted("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}, 8000):
        problems.append(f"NetworkPolicy: {db_name} does not admit the operator (namespace cnpg-system) on 8000")
    if not admitted("monitoring", {}, 9187):
        problems.append(f"NetworkPolicy: {db_name} does not admit Prometheus on 9187")
    for rule in db_rules:
        for ns, labels in policy_peers(rule):
            if ns is None and not labels:
                problems.append(f"NetworkPolicy: {db_name} admits every pod of the namespace")
    # The bridge: egress to the database on 5432 and to DNS, nothing else.
    bridge_policies = [p for p in policies.values()
                       if selects(p["spec"]["podSelector"], {"app.kubernetes.io/name": BRIDGE, "app.kubernetes.io/instance": "weave-nn"})
                       and p["spec"]["podSelector"]]
    if not any("Egress" in p["spec"].get("policyTypes", []) for p in bridge_policies):
        problems.append(f"NetworkPolicy: {BRIDGE}'s egress is not restricted")
    for p in bridge_policies:
        for rule in p["spec"].get("egress", []):
            ports = rule_ports(rule)
            peers = policy_peers(rule)
            to_db = ports == {5432} and peers and all(ns is None and labels == db_labels for ns, labels in peers)
            to_dns = ports == {53} and peers and all(ns == "kube-system" for ns, _ in peers)
            if not (to_db or to_dns):
                problems.append(f"NetworkPolicy/{p['metadata']['name']}: {BRIDGE} may reach more than the database and DNS: {rule}")
    return problems


QUANTITY = re.compile(r"^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
FACTORS = {None: 1, "m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
           "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity(value: Any) -> float:
    match = QUANTITY.match(str(value))
    if not match:
        raise Fail(f"cannot read the quantity {value!r}")
    return float(match.group(1)) * FACTORS[match.group(2)]


def pod_resources(pod: dict) -> dict[str, float]:
    """What a pod counts against a quota: per resource, the larger of its containers' sum and
    its largest init container."""
    out = {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            total = sum(quantity(c.get("resources", {}).get(kind, {}).get(r, 0)) for c in pod["containers"])
            init = max((quantity(c.get("resources", {}).get(kind, {}).get(r, 0)) for c in pod.get("initContainers", [])), default=0)
            out[f"{kind}.{r}"] = max(total, init)
    return out


def quota_invariants(overlay: str, docs: list[dict]) -> list[str]:
    """A ResourceQuota and a LimitRange, the quota covering what the rendered workloads may run at
    once: each Deployment at its HPA's maximum (else its replicas) plus its rolling update's
    surge, each CloudNativePG Cluster's instances plus one job pod."""
    problems = []
    quotas = by_kind(docs, "ResourceQuota")
    ranges = by_kind(docs, "LimitRange")
    if len(quotas) != 1 or len(ranges) != 1:
        return [f"overlays/{overlay}: one ResourceQuota and one LimitRange expected, got {sorted(quotas)} / {sorted(ranges)}"]
    (quota,) = quotas.values()
    (limit_range,) = ranges.values()
    hard = quota["spec"]["hard"]
    for key in ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"):
        if key not in hard:
            problems.append(f"ResourceQuota/{quota['metadata']['name']}: {key} missing")
    container_limits = [item for item in limit_range["spec"]["limits"] if item["type"] == "Container"]
    if not container_limits or not {"default", "defaultRequest"} <= set(container_limits[0]):
        problems.append(f"LimitRange/{limit_range['metadata']['name']}: Container default and defaultRequest expected")
    if problems:
        return problems
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(docs, "HorizontalPodAutoscaler").values()}
    need = {"pods": 0.0, "requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0}
    for name, dep in by_kind(docs, "Deployment").items():
        spec = dep["spec"]
        count = hpas[name]["spec"]["maxReplicas"] if name in hpas else spec.get("replicas", 1)
        if spec.get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate":
            surge = spec.get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
            count += int(surge) if not str(surge).endswith("%") else -(-count * int(str(surge)[:-1]) // 100)
        need["pods"] += count
        for key, value in pod_resources(spec["template"]["spec"]).items():
            need[key] += count * value
    for db in cnpg_clusters(docs).values():
        count = db["spec"]["instances"] + 1
        need["pods"] += count
        res = db["spec"]["resources"]
        for key in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory"):
            kind, r = key.split(".")
            need[key] += count * quantity(res[kind][r])
    def shown(key: str, value: float) -> str:
        if key.endswith(".memory"):
            return f"{value / 2**20:.0f}Mi"
        return f"{value * 1000:.0f}m" if key.endswith(".cpu") else f"{value:.0f}"

    for key, value in need.items():
        if quantity(hard[key]) < value:
            problems.append(f"ResourceQuota/{quota['metadata']['name']}: {key} {hard[key]} is below what the workloads may use at once ({shown(key, value)})")
    # The LimitRange's ceiling admits every container the overlay renders.
    ceiling = container_limits[0].get("max", {})
    for name, dep in by_kind(docs, "Deployment").items():
        for c in dep["spec"]["template"]["spec"]["containers"]:
            for r, top in ceiling.items():
                if quantity(c["resources"]["limits"].get(r, 0)) > quantity(top):
                    problems.append(f"LimitRange: {name}/{c['name']} limits.{r} above the ceiling {top}")
    return problems




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
    # The cluster-mode replicas of `full`: weaver-1, weaver-2, ...
    replicas = sorted(n for n in full if re.fullmatch(r"weaver-[0-9]+", n))
    if len(replicas) < 2:
        problems.append(f"profile `full` must run at least two cluster-mode replicas weaver-N, runs {replicas}")
    expected_full = {"mcp-server", "api-gateway", "prometheus", "grafana", "jaeger", "postgres", BRIDGE, *replicas}
    if full != expected_full:
        problems.append(f"profile `full` must add {sorted(expected_full)}, adds {sorted(full)}")
    # Services running the Weaver image, with their container port; only the local weaver, the
    # MCP service and the gateway are published (the replicas are reached through the gateway).
    roles = {**WEAVER_ROLES, BRIDGE: BRIDGE_PORT, **{r: WEAVER_ROLES["weaver"] for r in replicas}}
    published_roles = set(WEAVER_ROLES)
    weaver_images = set()
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for name, svc in services.items():
        image = interpolate(svc.get("image", ""))
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if not tag or tag == "latest":
            problems.append(f"{name}: image {image!r} must carry a pinned tag")
        if name in roles:
            weaver_images.add(svc.get("image"))
            command = svc.get("command", [])
            if not isinstance(command, list):
                problems.append(f"{name}: command must be a list (exec form)")
                continue
            port = listen_port(command)
            if port != roles[name]:
                problems.append(f"{name}: --listen port {port}, expected {roles[name]}")
            published = [interpolate(p).rsplit(":", 1)[1] for p in svc.get("ports", [])]
            if name in published_roles and str(port) not in published:
                problems.append(f"{name}: container port {port} not published ({published})")
            if name not in published_roles and published:
                problems.append(f"{name}: not published (reach it through the gateway), publishes {published}")
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
        problems.append(f"every Weaver role must run one image, got {weaver_images}")
    problems.extend(compose_cluster_mode(compose, replicas))
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

    # Prometheus scrapes every Weaver role at its container port (the job named like the
    # Kubernetes Service: weaver holds the local weaver and the replicas), with the rule file.
    prom = load_yaml("deploy/prometheus/prometheus.yml")
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]}
    expected_jobs = {role: [f"{role}:{port}"] for role, port in WEAVER_ROLES.items()}
    expected_jobs["weaver"] += [f"{r}:{roles[r]}" for r in replicas]
    expected_jobs[BRIDGE] = [f"{BRIDGE}:{BRIDGE_PORT}"]
    for job, targets in expected_jobs.items():
        if sorted(jobs.get(job) or []) != sorted(targets):
            problems.append(f"prometheus.yml: job {job} must scrape {targets}, scrapes {jobs.get(job)}")
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



def compose_cluster_mode(compose: dict, replicas: list[str]) -> list[str]:
    """Compose's cluster mode (profile `full`): one writer per vault folder at a time in each
    shape, the replicas on their own data and on deploy/weaver-cluster.toml, the database's
    password only from `.env`, the gateway in front of every replica."""
    services = compose["services"]
    problems: list[str] = []
    vault_source = "${WEAVER_VAULT_DIR:-./demo-vault}"

    def mounts(name: str) -> dict[str, dict]:
        return {v["target"]: v for v in services.get(name, {}).get("volumes", []) if isinstance(v, dict)}

    # The vault folder: the local-mode weaver's (default shape) and the bridge's (`full`), nobody
    # else's. The replicas keep their own copies.
    on_folder = sorted(n for n in services if any(v.get("source") == vault_source for v in mounts(n).values()))
    if on_folder != sorted(["weaver", BRIDGE]):
        problems.append(f"only weaver (local mode) and {BRIDGE} may mount the vault folder, mounted by {on_folder}")
    bridge = services.get(BRIDGE, {})
    command = bridge.get("command", [])
    if command[:1] != ["bridge"] or len(command) < 2 or mounts(BRIDGE).get(command[1], {}).get("source") != vault_source:
        problems.append(f"{BRIDGE}: runs `weaver bridge DIR` with DIR the bind-mounted vault folder, got {command}")
    elif mounts(BRIDGE)[command[1]].get("read_only"):
        problems.append(f"{BRIDGE}: the vault folder must be writable")
    bridge_names = {command[i + 1] for i, x in enumerate(command) if x == "--name" and i + 1 < len(command)}
    if not bridge_names:
        problems.append(f"{BRIDGE}: --name (the vault's name in the database) missing")
    if (bridge.get("deploy") or {}).get("replicas", 1) != 1 or bridge.get("scale", 1) != 1:
        problems.append(f"{BRIDGE}: exactly one bridge per vault")

    # The configurations: local mode for weaver, cluster mode for the replicas.
    local_cfg = tomllib.loads((ROOT / "deploy/weaver.toml").read_text())
    if "cluster" in local_cfg or not local_cfg.get("vaults"):
        problems.append("deploy/weaver.toml (local mode): [vaults.NAME] and no [cluster] expected")
    data_volumes = set()
    for name in replicas:
        svc = services[name]
        config_path = (svc.get("environment") or {}).get("WEAVER_CONFIG")
        config_mount = mounts(name).get(config_path or "", {})
        if config_mount.get("source") != "./deploy/weaver-cluster.toml":
            problems.append(f"{name}: WEAVER_CONFIG must be deploy/weaver-cluster.toml, mounted; got {config_path} <- {config_mount.get('source')}")
            continue
        cfg = tomllib.loads((ROOT / "deploy/weaver-cluster.toml").read_text())
        if "cluster" not in cfg or cfg.get("vaults"):
            problems.append("deploy/weaver-cluster.toml: [cluster] and no [vaults.*] expected")
            continue
        data = mounts(name).get(str(cfg["cluster"].get("data_dir")), {})
        if data.get("type") != "volume":
            problems.append(f"{name}: [cluster] data_dir must be a named volume of its own, got {data}")
        elif data["source"] in data_volumes:
            problems.append(f"{name}: shares its data volume {data['source']} with another replica")
        else:
            data_volumes.add(data["source"])
        if any(v.get("source") == vault_source for v in mounts(name).values()):
            problems.append(f"{name}: a replica never mounts the vault folder")
        if (svc.get("depends_on") or {}).get(BRIDGE, {}).get("condition") != "service_healthy":
            problems.append(f"{name}: must wait for {BRIDGE} to be healthy (the vault imported) before it lists the vaults")
    # The database URL: the postgres service, the password from .env only.
    url_pattern = re.compile(r"^postgresql://weaver:\$\{POSTGRES_PASSWORD(:?-)?\}@postgres:5432/weaver$")
    for name in [*replicas, BRIDGE]:
        url = str((services.get(name, {}).get("environment") or {}).get(POSTGRES_URL_ENV, ""))
        if not url_pattern.match(url):
            problems.append(f"{name}: {POSTGRES_URL_ENV} must be postgresql://weaver:${{POSTGRES_PASSWORD}}@postgres:5432/weaver, got {url!r}")
    pg = services.get("postgres", {})
    if not re.fullmatch(r"postgres:15(\.[0-9]+)?", str(pg.get("image", ""))):
        problems.append(f"postgres: the official image of PostgreSQL 15 expected, got {pg.get('image')}")
    if not re.fullmatch(r"\$\{POSTGRES_PASSWORD(:?-)?\}", str((pg.get("environment") or {}).get("POSTGRES_PASSWORD", ""))):
        problems.append("postgres: POSTGRES_PASSWORD must come from .env (${POSTGRES_PASSWORD}), never a literal")
    if "pg_isready" not in " ".join(pg.get("healthcheck", {}).get("test", [])):
        problems.append("postgres: healthcheck must run pg_isready")
    if mounts("postgres").get("/var/lib/postgresql/data", {}).get("type") != "volume":
        problems.append("postgres: its data must be a named volume at /var/lib/postgresql/data")
    if (bridge.get("depends_on") or {}).get("postgres", {}).get("condition") != "service_healthy":
        problems.append(f"{BRIDGE}: must wait for postgres to be healthy")
    user = interpolate(str(pg.get("user", "0"))).split(":")[0]
    if user in ("", "0", "root") or not pg.get("read_only") or "ALL" not in pg.get("cap_drop", []):
        problems.append("postgres: non-root user, read_only and cap_drop ALL expected")
    example = (ROOT / "deploy/compose.env.example").read_text()
    if not re.search(r"^POSTGRES_PASSWORD=$", example, re.M):
        problems.append("deploy/compose.env.example: POSTGRES_PASSWORD= must be empty (no real secret committed)")

    # The gateway sends /api to every replica (a list: round robin, retried on connection
    # errors); mcp-server's upstream is a name every replica answers to.
    gateway = tomllib.loads((ROOT / "deploy/gateway.toml").read_text())
    api = gateway["upstreams"]["api"]
    want = [f"http://{r}:{WEAVER_ROLES['weaver']}" for r in replicas]
    if not isinstance(api, list) or sorted(api) != sorted(want):
        problems.append(f"deploy/gateway.toml: upstreams.api must list the replicas {want}, got {api}")
    if gateway["upstreams"].get("retry_writes") is not True:
        problems.append("deploy/gateway.toml: retry_writes = true in front of the cluster-mode replicas")
    if gateway["upstreams"].get("default_vault") not in bridge_names:
        problems.append(f"deploy/gateway.toml: default_vault must be a vault the bridge imports ({sorted(bridge_names)})")
    mcp_command = services.get("mcp-server", {}).get("command", [])
    upstream = mcp_command[mcp_command.index("--upstream") + 1] if "--upstream" in mcp_command else ""
    host = re.sub(r"^http://([^:/]+).*$", r"\1", upstream)
    for name in replicas:
        aliases = ((services[name].get("networks") or {}).get("default") or {}).get("aliases", [])
        if host != name and host not in aliases:
            problems.append(f"mcp-server: --upstream {upstream} does not reach {name} (no such alias)")
    for name in ("mcp-server", "api-gateway"):
        deps = services.get(name, {}).get("depends_on") or {}
        for r in replicas:
            if deps.get(r, {}).get("condition") != "service_healthy":
                problems.append(f"{name}: must wait for {r} to be healthy")
    return problems


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

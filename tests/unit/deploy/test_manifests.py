"""The deployment files (deploy/Dockerfile, compose.yaml, k8s/) say what the services need, and agree.

Parsed with PyYAML; `kubectl kustomize` and `docker compose config` run only where they work here.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; tests only

from gateway.config.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|REDIS_URL")
CONFIG_PATH = "/etc/batchgate/batchgate.toml"


def load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    [document] = load_yaml_documents(DEPLOY / "compose.yaml")
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


@pytest.fixture(scope="module")
def k8s_objects() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        objects += load_yaml_documents(K8S / resource)
    return objects


def k8s_object(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def require_path(path: Path) -> None:
    """Other people's files (deploy/prometheus, deploy/grafana) may not exist yet: skip, saying so."""
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} does not exist yet (owned by the observability work)")


# --- Dockerfile --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def instructions(dockerfile: str, name: str) -> list[str]:
    joined = dockerfile.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.upper().startswith(name + " ")]


def test_dockerfile_is_multi_stage_on_python_311_slim(dockerfile: str) -> None:
    stages = instructions(dockerfile, "FROM")
    assert [stage.split()[-1] for stage in stages] == ["builder", "runtime"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert any(copy.startswith("--from=builder /opt/batchgate") for copy in instructions(dockerfile, "COPY"))


def test_dockerfile_runs_as_a_numeric_non_root_user(dockerfile: str) -> None:
    [user] = instructions(dockerfile, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_dockerfile_entrypoint_command_healthcheck(dockerfile: str) -> None:
    assert instructions(dockerfile, "ENTRYPOINT") == ['["batchgate"]']
    [cmd] = instructions(dockerfile, "CMD")
    assert json.loads(cmd) == ["serve", "--host", "0.0.0.0", "--config", CONFIG_PATH]
    [healthcheck] = instructions(dockerfile, "HEALTHCHECK")
    assert "urllib.request" in healthcheck
    assert "127.0.0.1:8000/healthz" in healthcheck
    assert instructions(dockerfile, "EXPOSE") == ["8000"]


def test_dockerfile_copies_only_what_exists_and_is_not_ignored(dockerfile: str) -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"}
    sources = [
        part
        for copy in instructions(dockerfile, "COPY")
        if not copy.startswith("--from")
        for part in copy.split()[:-1]
        if not part.startswith("--")
    ]
    assert "gateway" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source not in ignored, f"{source} is copied but excluded by .dockerignore"
    assert {".git", ".venv", ".env"} <= ignored


# --- configs -----------------------------------------------------------------------------------------


# Every key-like string the repository's docs and deploy files print (a documented key is a known key).
_KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_-]{6,}")


def _documented_keys() -> set[str]:
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *DEPLOY.rglob("*.md"), *DEPLOY.rglob("*.toml")]
    texts += DEPLOY.rglob("*.y*ml")
    texts.append(DEPLOY / "Dockerfile")
    keys = {key for path in texts for key in _KEY_LIKE.findall(path.read_text(encoding="utf-8"))}
    assert "sk-research-change-me" in keys, "the docs' example key is no longer read"
    return keys


@pytest.mark.parametrize("path", [DEPLOY / "batchgate.toml", K8S / "batchgate.toml"], ids=["image", "k8s"])
def test_shipped_configs_hold_no_known_key(path: Path) -> None:
    settings = load_settings(path, environ={})
    documented = {hashlib.sha256(key.encode()).hexdigest() for key in _documented_keys()}
    documented.add(hashlib.sha256(b"").hexdigest())
    for tenant in settings.tenants:
        assert not tenant.api_keys, f"{tenant.name}: a literal key in a shipped config is a known key"
        assert documented.isdisjoint(tenant.api_key_sha256), f"{tenant.name}: the hash of a documented key"
        assert tenant.api_key_file is None or not Path(tenant.api_key_file).exists()


def test_the_image_config_takes_its_key_from_the_volume_compose_generates(services: dict[str, Any]) -> None:
    [admin] = load_settings(DEPLOY / "batchgate.toml", environ={}).tenants
    assert admin.api_key_file is not None
    key_dir = str(Path(admin.api_key_file).parent)
    keygen = services["keygen"]
    assert f"batchgate-keys:{key_dir}" in keygen["volumes"]
    assert admin.api_key_file in keygen["entrypoint"][-1]
    assert "secrets.token_urlsafe" in keygen["entrypoint"][-1]
    for role in ("gateway", "worker"):
        assert f"batchgate-keys:{key_dir}:ro" in services[role]["volumes"]


@pytest.mark.parametrize("path", [DEPLOY / "batchgate.toml", K8S / "batchgate.toml"], ids=["compose", "k8s"])
def test_example_configs_load_with_tenants_and_s3(path: Path) -> None:
    settings = load_settings(path, environ={})
    assert settings.tenants, "serve refuses a non-loopback address without tenants"
    assert all(not tenant.api_keys for tenant in settings.tenants), "tenant keys go in as SHA-256, never literal"
    assert settings.storage.url.startswith("s3://")
    assert settings.redis.url == "", "Redis comes from REDIS_URL"
    assert {route.provider for route in settings.models} <= set(settings.providers)


# --- compose -----------------------------------------------------------------------------------------


def test_compose_has_every_service(services: dict[str, Any]) -> None:
    assert {"gateway", "worker", "redis", "minio", "minio-init", "prometheus", "grafana"} <= set(services)


def test_compose_roles(services: dict[str, Any]) -> None:
    assert services["gateway"]["command"][:2] == ["serve", "--no-worker"]
    assert services["worker"]["command"][0] == "worker"
    for role in ("gateway", "worker"):
        service = services[role]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert CONFIG_PATH in service["command"]
        assert f"./batchgate.toml:{CONFIG_PATH}:ro" in service["volumes"]


def test_compose_environment_comes_from_the_host(services: dict[str, Any]) -> None:
    for role in ("gateway", "worker"):
        env = services[role]["environment"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DEEPSEEK_API_KEY", "DEEPINFRA_API_KEY"):
            assert env[name].startswith("${" + name), f"{role}: {name} must come from the host environment"


def test_compose_dependencies_wait_for_health(services: dict[str, Any]) -> None:
    for role in ("gateway", "worker"):
        assert services[role]["depends_on"] == {
            "redis": {"condition": "service_healthy"},
            "minio-init": {"condition": "service_completed_successfully"},
            "keygen": {"condition": "service_completed_successfully"},
        }
    assert services["minio-init"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            target = services[dependency]
            if rule["condition"] == "service_healthy":
                assert "test" in target["healthcheck"], f"{name} waits on {dependency}, which has no healthcheck"


def test_compose_healthchecks(services: dict[str, Any]) -> None:
    assert any("/readyz" in part for part in services["gateway"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"] == {"disable": True}  # no HTTP to check


def test_compose_redis_is_durable(services: dict[str, Any], compose: dict[str, Any]) -> None:
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command  # an evicting Redis silently loses batches
    volume = services["redis"]["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_compose_bucket_is_the_configured_one(services: dict[str, Any]) -> None:
    bucket = load_settings(DEPLOY / "batchgate.toml", environ={}).storage.url.removeprefix("s3://").split("/")[0]
    assert services["minio-init"]["entrypoint"][-1] == f"local/{bucket}"


def test_compose_images_are_tagged_and_ports_are_loopback(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert ":" in service["image"], f"{name} has an untagged image"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_compose_mounts_prometheus_config(services: dict[str, Any]) -> None:
    require_path(DEPLOY / "prometheus" / "prometheus.yml")
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = [target for job in config["scrape_configs"] for c in job["static_configs"] for target in c["targets"]]
    assert targets
    for target in targets:
        assert target.split(":")[0] in services, f"prometheus scrapes {target}, which is no compose service"


def test_compose_mounts_grafana_provisioning_and_dashboards(services: dict[str, Any]) -> None:
    provisioning, dashboards = DEPLOY / "grafana" / "provisioning", DEPLOY / "grafana" / "dashboards"
    require_path(provisioning)
    require_path(dashboards)
    mounts = dict(volume.split(":")[:2] for volume in services["grafana"]["volumes"] if volume.startswith("./"))
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = [
        provider
        for path in (provisioning / "dashboards").glob("*.y*ml")
        for provider in yaml.safe_load(path.read_text(encoding="utf-8"))["providers"]
    ]
    assert providers, "no dashboard provider in deploy/grafana/provisioning/dashboards"
    assert mounts["./grafana/dashboards"] in {provider["options"]["path"] for provider in providers}


def _compose_command() -> list[str] | None:
    """`docker compose` (the v2 plugin) where installed, else Debian's `docker-compose` (v1, which
    scripts/bootstrap.sh installs as root); `config` reads the file only, no Docker engine needed."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed (make bootstrap as root)")
    compose_file = DEPLOY / "compose.yaml"
    if Path(command[0]).name == "docker-compose":
        # v1 predates the top-level `name` (the project's name); everything else it checks as v2 does.
        text = compose_file.read_text(encoding="utf-8")
        compose_file = tmp_path / "compose.yaml"
        compose_file.write_text(re.sub(r"(?m)^name: .*\n", "", text), encoding="utf-8")
    result = subprocess.run(
        [*command, "--project-directory", str(DEPLOY), "-f", str(compose_file), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- Kubernetes --------------------------------------------------------------------------------------


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return found


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    [generator] = kustomization["configMapGenerator"]
    assert generator["files"] == ["batchgate.toml"]


def test_k8s_has_every_kind(k8s_objects: list[dict[str, Any]]) -> None:
    kinds = {(obj["kind"], obj["metadata"]["name"]) for obj in k8s_objects}
    assert {
        ("Deployment", "batchgate-api"),
        ("Deployment", "batchgate-worker"),
        ("Service", "batchgate-api"),
        ("HorizontalPodAutoscaler", "batchgate-api"),
        ("PodDisruptionBudget", "batchgate-api"),
        ("PodDisruptionBudget", "batchgate-worker"),
        ("ServiceAccount", "batchgate"),
    } <= kinds
    assert not [obj for obj in k8s_objects if obj["kind"] == "Secret"], "the base must not carry secrets"


def test_k8s_roles_and_probes(k8s_objects: list[dict[str, Any]]) -> None:
    [api] = containers(k8s_object(k8s_objects, "Deployment", "batchgate-api"))
    assert api["args"][:2] == ["serve", "--no-worker"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # /readyz may spend up to 5 s on the S3 probe; the kubelet must wait longer than that.
    assert api["readinessProbe"]["timeoutSeconds"] > 5
    [worker] = containers(k8s_object(k8s_objects, "Deployment", "batchgate-worker"))
    assert worker["args"][0] == "worker"
    assert not {"livenessProbe", "readinessProbe"} & set(worker), "the metrics thread says nothing of the worker loop"
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9464}]
    assert "--metrics-host" in worker["args"]


@pytest.mark.parametrize("name", ["batchgate-api", "batchgate-worker"])
def test_k8s_pods_are_locked_down(k8s_objects: list[dict[str, Any]], name: str) -> None:
    deployment = k8s_object(k8s_objects, "Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        assert container["image"] == "batchgate"  # the kustomization's `images` entry names the real one
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"/etc/batchgate", "/var/lib/batchgate", "/tmp"} <= mounts  # noqa: S108 - a path in a pod, not here


@pytest.mark.parametrize("name", ["batchgate-api", "batchgate-worker"])
def test_k8s_secrets_are_references(k8s_objects: list[dict[str, Any]], name: str) -> None:
    for container in containers(k8s_object(k8s_objects, "Deployment", name)):
        env = {item["name"]: item for item in container["env"]}
        assert {"REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DEEPSEEK_API_KEY"} <= set(env)
        for variable, item in env.items():
            if SECRET_NAME.search(variable):
                assert "value" not in item, f"{variable} is a literal"
                assert "secretKeyRef" in item["valueFrom"], f"{variable} is not read from a Secret"


def test_k8s_selectors_match(k8s_objects: list[dict[str, Any]]) -> None:
    api = k8s_object(k8s_objects, "Deployment", "batchgate-api")
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    service = k8s_object(k8s_objects, "Service", "batchgate-api")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in containers(api)[0]["ports"]}
    for name in ("batchgate-api", "batchgate-worker"):
        deployment = k8s_object(k8s_objects, "Deployment", name)
        budget = k8s_object(k8s_objects, "PodDisruptionBudget", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = k8s_object(k8s_objects, "HorizontalPodAutoscaler", "batchgate-api")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "batchgate-api")
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(containers(api)[0]["ports"][0]["containerPort"])


def test_kubectl_kustomize_builds_the_base() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    [config_map] = [obj for obj in built if obj["kind"] == "ConfigMap"]
    assert config_map["metadata"]["name"].startswith("batchgate-config-")  # content-hashed
    for deployment in (obj for obj in built if obj["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        [volume] = [v for v in pod["volumes"] if "configMap" in v]
        assert volume["configMap"]["name"] == config_map["metadata"]["name"]
        assert pod["containers"][0]["image"].endswith("/batchgate:0.1.0")
        assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "batchgate"

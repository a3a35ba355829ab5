"""A Docker engine for the tests, on a machine that reaches no image registry.

The suite builds and runs generated images for real. The engine is Debian's `docker.io`,
installed and started here when it is missing (host networking only: `dockerd --bridge=none`).
No registry answers, so the base images a generated Dockerfile names are replaced by stand-ins
made on this machine and tagged with those exact names; the Dockerfile builds unchanged:

- `python:3.11<...>`: Debian bookworm's Python 3.11, made with debootstrap, carrying this
  machine's CA bundle, so that package downloads inside a build go through its TLS set-up;
- `ghcr.io/astral-sh/uv:<version>`: the `uv` binary of PyPI's uv package of that version,
  alone at /uv, as in the real image.

A stand-in is labelled with a digest of what it is made from, and is remade only when that
changes: the first run pays for debootstrap (a minute on a quiet machine), later runs nothing.
An image of the same name that is not a stand-in (pulled on a machine that reaches a registry)
is used as it is.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Protocol

import uv

# The client of docker.io: its BuildKit is built in. A newer client found first on the PATH
# may want the buildx plugin for `docker build`, which is not installed.
DOCKER = os.environ.get("NEODYME_TEST_DOCKER", "/usr/bin/docker")
DOCKER_PACKAGES = {DOCKER: "docker.io", "dockerd": "docker.io"}
ENGINE_LOG = Path(tempfile.gettempdir()) / "neodyme-test-dockerd.log"
ENGINE_START_SECONDS = 60
BUILD_SECONDS = 900
STAND_IN_LABEL = "org.neodyme.test.stand-in"
# Bump when a recipe below changes in a way its inputs do not show: stand-ins are remade.
RECIPE_VERSION = "1"

DEBIAN_SUITE = "bookworm"
DEBIAN_PYTHON = "3.11"  # bookworm's python3
DEBIAN_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
# What slim images leave out as well: package archives and lists, documentation, translations.
ROOTFS_LEFT_OUT = (
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*_*",
    "usr/share/doc/*",
    "usr/share/info/*",
    "usr/share/man/*",
    "usr/share/locale/*",
)
CA_BUNDLE_IN_IMAGE = "/etc/ssl/certs/ca-certificates.crt"
# uv settings that say where packages come from: a build looks where this machine looks.
FORWARDED_UV_SETTINGS = (
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_INSECURE_HOST",
)
# Docker hands these build arguments to every RUN, with no ARG in the Dockerfile.
PROXY_SETTINGS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


class DockerUnavailable(Exception):
    """No engine or no stand-in can be had on this machine; the message says why."""


class StandInError(Exception):
    """A Dockerfile names a base image that no stand-in can honour."""


class DockerFailed(Exception):
    """A docker command failed; the message holds its output."""


def docker(
    *args: str,
    timeout: float = 120,
    check: bool = True,
    stdin: IO[bytes] | None = None,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the docker.io client with BuildKit on; on failure (if CHECK) raise with its output.

    ENVIRONMENT adds to the client's: `--env=NAME` passes a value from there, off the command
    line (where secrets would show in `ps`).
    """
    completed = subprocess.run(
        [DOCKER, *args], stdin=stdin, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(environment or {}), "DOCKER_BUILDKIT": "1"},
    )  # fmt: skip
    if check and completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-6000:]
        raise DockerFailed(f"`docker {' '.join(args)}` exited {completed.returncode}:\n{output}")
    return completed


def ensure_engine() -> None:
    """Make sure a Docker engine answers: install docker.io and start dockerd if need be.

    An engine started here keeps running after the tests, with the stand-ins and the build
    cache, so that the next run starts warm (stop it with `kill $(cat /var/run/docker.pid)`).
    """
    with _machine_lock():
        if _engine_answers():
            return
        _install_missing(DOCKER_PACKAGES)
        if not shutil.which(DOCKER):
            raise DockerUnavailable(f"no Docker client at {DOCKER} (NEODYME_TEST_DOCKER)")
        _start_engine()


def ensure_stand_ins(dockerfile: Path) -> list[str]:
    """Give every base image DOCKERFILE names an image of that name; return the names."""
    names = base_images(dockerfile.read_text())
    with _machine_lock():
        for name in names:
            _ensure_stand_in(name, stand_in_for(name))
    return names


def build_image(context: Path, tag: str) -> None:
    """`docker build` CONTEXT as a user would, on the host's network and proxies."""
    proxies = [f"--build-arg={name}" for name in PROXY_SETTINGS if name in os.environ]
    docker(
        "build", "--network=host", "--progress=plain", *proxies, f"--tag={tag}", str(context),
        timeout=BUILD_SECONDS,
    )  # fmt: skip


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format={{.Size}}", image).stdout)


def image_paths(image: str) -> set[str]:
    """Every path in IMAGE's file system, relative to its root ("app/src/..."), dirs included."""
    container = docker("create", image).stdout.strip()
    try:
        with subprocess.Popen([DOCKER, "export", container], stdout=subprocess.PIPE) as export:
            assert export.stdout is not None
            with tarfile.open(fileobj=export.stdout, mode="r|") as filesystem:
                paths = {member.name.removeprefix("./").rstrip("/") for member in filesystem}
        assert export.returncode == 0, f"`docker export` of {image} failed"
    finally:
        docker("rm", container, check=False)
    return paths - {"", "."}


def base_images(dockerfile: str) -> list[str]:
    """The images DOCKERFILE builds from (`FROM`, `COPY --from`), its build stages left out."""
    defaults = {name: value or "" for name, value in _ARG.findall(dockerfile)}

    def expand(reference: str) -> str:
        return _VARIABLE.sub(lambda variable: defaults.get(variable[1], ""), reference)

    stages: set[str] = set()
    images: list[str] = []
    for line in dockerfile.splitlines():
        if found := _FROM.match(line):
            reference, stage = expand(found[1]), found[2]
        elif found := _COPY_FROM.search(line):
            reference, stage = expand(found[1]), None
        else:
            continue
        external = reference.lower() not in stages | {"scratch"} and not reference.isdigit()
        if external and reference not in images:
            images.append(reference)
        if stage:
            stages.add(stage.lower())
    return images


_ARG = re.compile(r"^\s*ARG\s+(\w+)(?:=(\S+))?", re.IGNORECASE | re.MULTILINE)
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_COPY_FROM = re.compile(r"^\s*COPY\s+.*--from=(\S+)", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


class StandIn(Protocol):
    def key(self) -> str:
        """A digest of everything the stand-in is made from."""

    def make(self, name: str, label: str) -> None:
        """Import the stand-in as image NAME, carrying LABEL."""


def stand_in_for(image: str) -> StandIn:
    """How to make a stand-in for IMAGE, if one can honour what its name promises."""
    repository, _, tag = image.rpartition(":")
    if "@" in image:
        raise StandInError(f"{image}: a stand-in cannot match a digest; pin a tag in the test")
    if repository in {"python", "library/python", "docker.io/library/python"}:
        if not re.fullmatch(rf"{re.escape(DEBIAN_PYTHON)}(\.\d+)?(-.+)?", tag):
            raise StandInError(
                f"{image}: the only Python stand-in is Debian {DEBIAN_SUITE}'s Python "
                f"{DEBIAN_PYTHON}; a Dockerfile on another Python needs another stand-in"
            )
        return DebianPython()
    if repository == "ghcr.io/astral-sh/uv" and re.fullmatch(r"\d+\.\d+\.\d+", tag):
        return UvBinary(tag)
    raise StandInError(f"no stand-in is known for the base image {image}")


@dataclass(frozen=True)
class DebianPython:
    """python:3.11...: Debian's Python from debootstrap, trusting what this machine trusts."""

    def key(self) -> str:
        recipe = {
            "version": RECIPE_VERSION,
            "suite": DEBIAN_SUITE,
            "packages": DEBIAN_PACKAGES,
            "left_out": ROOTFS_LEFT_OUT,
            "environment": self.environment(),
            "ca_bundle": _digest(_machine_ca_bundle().read_bytes()),
        }
        return _digest(json.dumps(recipe, sort_keys=True).encode())

    @staticmethod
    def environment() -> dict[str, str]:
        """The image's settings: a base like python's, and this machine's way to PyPI."""
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            # The bundle is this machine's: Python, OpenSSL and every uv read it from here,
            # and uv also trusts the system's store (UV_NATIVE_TLS, by its current name).
            "SSL_CERT_FILE": CA_BUNDLE_IN_IMAGE,
            "UV_SYSTEM_CERTS": "1",
            **{name: os.environ[name] for name in FORWARDED_UV_SETTINGS if name in os.environ},
        }

    def make(self, name: str, label: str) -> None:
        _install_missing({"debootstrap": "debootstrap"})
        with tempfile.TemporaryDirectory(prefix="neodyme-stand-in-") as scratch:
            rootfs = Path(scratch) / "rootfs"
            try:
                _run(
                    "debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}",
                    DEBIAN_SUITE, str(rootfs), timeout=1200, what="debootstrap of the stand-in",
                )  # fmt: skip
            finally:
                _unmount_below(rootfs)  # what a failed debootstrap leaves mounted (proc, sys)
            for pattern in ROOTFS_LEFT_OUT:
                for path in rootfs.glob(pattern):
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
            shutil.copyfile(_machine_ca_bundle(), rootfs / CA_BUNDLE_IN_IMAGE.lstrip("/"))
            settings = [
                f"ENV {key}={json.dumps(value)}" for key, value in self.environment().items()
            ]
            _import(rootfs, name, [*settings, f"LABEL {label}", 'CMD ["python3"]'])


@dataclass(frozen=True)
class UvBinary:
    """ghcr.io/astral-sh/uv:VERSION: that version's binary, alone at /uv."""

    version: str

    def key(self) -> str:
        return _digest(f"{RECIPE_VERSION} {self.version}".encode() + self.binary().read_bytes())

    def binary(self) -> Path:
        """The uv binary of PyPI's uv package of this version: the installed one, or a download."""
        if metadata.version("uv") == self.version:
            return Path(uv.find_uv_bin())
        binary = Path(tempfile.gettempdir()) / "neodyme-test-uv" / self.version / "uv"
        if not binary.exists():
            with tempfile.TemporaryDirectory() as scratch:
                _run(
                    sys.executable, "-m", "pip", "download", f"uv=={self.version}", "--no-deps",
                    "--only-binary=:all:", f"--dest={scratch}", timeout=300,
                    what=f"the download of uv {self.version}",
                )  # fmt: skip
                (wheel,) = Path(scratch).glob("*.whl")
                with zipfile.ZipFile(wheel) as archive:
                    member = f"uv-{self.version}.data/scripts/uv"
                    binary.parent.mkdir(parents=True, exist_ok=True)
                    binary.write_bytes(archive.read(member))
            binary.chmod(0o755)
        return binary

    def make(self, name: str, label: str) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            shutil.copy2(self.binary(), root / "uv")
            _import(root, name, [f"LABEL {label}", 'ENTRYPOINT ["/uv"]'])


def _ensure_stand_in(name: str, stand_in: StandIn) -> None:
    key = stand_in.key()
    found = docker("image", "inspect", "--format={{json .Config.Labels}}", name, check=False)
    if found.returncode == 0:
        labels = json.loads(found.stdout) or {}
        if STAND_IN_LABEL not in labels or labels[STAND_IN_LABEL] == key:
            return  # the real image, or a stand-in made from what we have now
    twins = docker("images", "--quiet", f"--filter=label={STAND_IN_LABEL}={key}").stdout.split()
    if twins:  # the same stand-in under another name: the Dockerfile moved to another patch tag
        docker("tag", twins[0], name)
    else:
        stand_in.make(name, f"{STAND_IN_LABEL}={key}")


def _import(root: Path, name: str, changes: list[str]) -> None:
    """`docker import` the tree under ROOT as image NAME, with Dockerfile CHANGES."""
    with subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
    ) as tar:
        options = [f"--change={change}" for change in changes]
        docker("import", *options, "-", name, stdin=tar.stdout, timeout=600)
    assert tar.returncode == 0, f"tar of {root} failed"


def _machine_ca_bundle() -> Path:
    """The CA bundle this machine's TLS clients use (it may hold a proxy's CA)."""
    bundle = os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().openssl_cafile
    if not Path(bundle).is_file():
        raise DockerUnavailable(f"no CA bundle at {bundle} (set SSL_CERT_FILE to one)")
    return Path(bundle)


def _install_missing(commands: Mapping[str, str]) -> None:
    """apt-get install the packages of COMMANDS (command -> package) that are missing."""
    missing = sorted(
        {package for command, package in commands.items() if not shutil.which(command)}
    )
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise DockerUnavailable(f"{', '.join(missing)} missing; installing needs root and apt-get")
    install = ("apt-get", "install", "--yes", "--no-install-recommends", *missing)
    try:
        _run(*install, timeout=900, what=f"apt-get install {' '.join(missing)}")
    except DockerUnavailable:  # a fresh machine may have no package lists yet
        _run("apt-get", "update", timeout=600, what="apt-get update")
        _run(*install, timeout=900, what=f"apt-get install {' '.join(missing)}")


def _engine_answers() -> bool:
    return bool(shutil.which(DOCKER)) and docker("info", check=False, timeout=30).returncode == 0


# Held so that Python does not warn about a child it forgot while the engine still runs.
_STARTED_ENGINES: list[subprocess.Popen[bytes]] = []


def _start_engine() -> None:
    if os.geteuid() != 0:
        raise DockerUnavailable("no Docker engine answers, and starting dockerd needs root")
    # Host networking only: no bridge, no iptables rules on a machine that has neither.
    command = ["dockerd", "--bridge=none", "--iptables=false"]
    # The daemon outlives the tests: it gets none of their settings (HOME, caches...).
    environment = {
        name: os.environ[name] for name in ("PATH", *PROXY_SETTINGS) if name in os.environ
    }
    with ENGINE_LOG.open("ab") as log:
        engine = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=environment, start_new_session=True,
        )  # fmt: skip
    _STARTED_ENGINES.append(engine)
    deadline = time.monotonic() + ENGINE_START_SECONDS
    while not _engine_answers():
        if engine.poll() is not None or time.monotonic() > deadline:
            engine.kill()
            log_tail = ENGINE_LOG.read_text(errors="replace")[-2000:]
            raise DockerUnavailable(f"`{' '.join(command)}` did not start:\n{log_tail}")
        time.sleep(0.5)


def _unmount_below(directory: Path) -> None:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    inside = [line.split()[1] for line in mounts if line.split()[1].startswith(f"{directory}/")]
    for mount_point in sorted(inside, reverse=True):
        subprocess.run(["umount", "--lazy", mount_point], check=False)


def _run(*command: str, timeout: float, what: str) -> None:
    """Run a set-up command; if it fails, the machine cannot give what the tests need."""
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )  # fmt: skip
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-3000:]
        raise DockerUnavailable(f"{what} failed (exit {completed.returncode}):\n{output}")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """One process at a time starts the engine or makes stand-ins (xdist workers are many)."""
    with (Path(tempfile.gettempdir()) / "neodyme-test-docker.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

"""Content-addressed code: each zip stored once by its sha256, unpacked once into a
read-only directory that every environment of every function with that code shares.

Layout under the store's root:
    zips/<hex digest>.zip     the package as uploaded (function code or a layer)
    tasks/<hex digest>/       its contents, read-only (the function's /var/task)
    opt/<hex of the stack>/   a function's layers extracted in order, later ones over
                              earlier ones, read-only (the function's /opt)
"""

import base64
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ember.errors import InvalidParameter

# Lambda's quotas for .zip packages.
MAX_UNZIPPED_BYTES = 262_144_000

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass(frozen=True)
class CodePackage:
    digest: str   # hex, the store's key
    sha256: str   # base64, as Lambda reports CodeSha256
    size: int


def describe(zip_bytes: bytes) -> CodePackage:
    digest = hashlib.sha256(zip_bytes)
    return CodePackage(digest.hexdigest(), base64.b64encode(digest.digest()).decode(), len(zip_bytes))


class CodeStore:
    def __init__(self, root: Path):
        self.zips = root / "zips"
        self.tasks = root / "tasks"
        self.opt = root / "opt"
        for directory in (self.zips, self.tasks, self.opt):
            directory.mkdir(parents=True, exist_ok=True)

    def add(self, zip_bytes: bytes) -> CodePackage:
        """Validates, stores and unpacks a package. Blocking: call it from a worker thread."""
        package = describe(zip_bytes)
        if not self.task_root_path(package.digest).is_dir():
            members = validated_members(zip_bytes)
            zip_path = self.zip_path(package.digest)
            if not zip_path.exists():
                _write_atomically(zip_path, zip_bytes)
            self._unpack(zip_bytes, members, package.digest)
        return package

    def zip_path(self, digest: str) -> Path:
        return self.zips / f"{digest}.zip"

    def task_root_path(self, digest: str) -> Path:
        return self.tasks / digest

    def task_root(self, digest: str) -> Path:
        """The unpacked code, unpacking the stored zip again if the directory went missing."""
        path = self.task_root_path(digest)
        if not path.is_dir():
            zip_bytes = self.zip_path(digest).read_bytes()
            self._unpack(zip_bytes, validated_members(zip_bytes), digest)
        return path

    def layers_root(self, digests: tuple[str, ...]) -> Path:
        """A function's /opt: its layers extracted in order into one read-only directory,
        built once per distinct stack. Blocking the first time: call it from a worker thread."""
        path = self.opt / _stack_key(digests)
        if not path.is_dir():
            archives = [(self.zip_path(d).read_bytes()) for d in digests]
            self._build(path, [(zip_bytes, validated_members(zip_bytes)) for zip_bytes in archives])
        return path

    def remove_unused(self, digests_in_use: set[str], stacks_in_use: set[tuple[str, ...]] = frozenset()) -> None:
        for path in self.zips.glob("*.zip"):
            if path.stem not in digests_in_use:
                path.unlink(missing_ok=True)
        for path in self.tasks.iterdir():
            if path.name not in digests_in_use and not path.name.startswith("."):
                _remove_tree(path)
        keys = {_stack_key(stack) for stack in stacks_in_use}
        for path in self.opt.iterdir():
            if path.name not in keys and not path.name.startswith("."):
                _remove_tree(path)

    def _unpack(self, zip_bytes: bytes, members: list[zipfile.ZipInfo], digest: str) -> None:
        self._build(self.task_root_path(digest), [(zip_bytes, members)])

    def _build(self, target: Path, archives: list[tuple[bytes, list[zipfile.ZipInfo]]]) -> None:
        """Extracts archives in order into a staging directory, then moves it to target."""
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
        try:
            for zip_bytes, members in archives:
                with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                    for info in members:
                        _extract(archive, info, staging)
            _make_read_only(staging)
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
                _remove_tree(staging)  # another request built the same directory first
        except BaseException:
            _remove_tree(staging)
            raise


def _stack_key(digests: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def validated_members(zip_bytes: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            members = archive.infolist()
            if archive.testzip() is not None:
                raise InvalidParameter(UNZIP_FAILED)
    # zlib.error: corrupt deflate data; RuntimeError: an encrypted member. Both were 500s.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError,
            zlib.error, RuntimeError):
        raise InvalidParameter(UNZIP_FAILED)
    total = 0
    for info in members:
        name = info.filename
        parts = Path(name).parts
        if name.startswith("/") or ".." in parts or "\x00" in name:
            raise InvalidParameter(f"{UNZIP_FAILED} Entry {name!r} points outside the package.")
        total += info.file_size
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameter(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    return members


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path) -> None:
    target = root / info.filename
    mode = info.external_attr >> 16
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()  # a later layer replaces an earlier one's file
    if stat.S_ISLNK(mode):
        link = archive.read(info).decode()
        resolved = (target.parent / link).resolve()
        if os.path.isabs(link) or not resolved.is_relative_to(root.resolve()):
            raise InvalidParameter(f"{UNZIP_FAILED} Link {info.filename!r} points outside the package.")
        target.symlink_to(link)
        return
    with archive.open(info) as source, open(target, "wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    if mode & 0o111:
        target.chmod(0o755)


def _make_read_only(root: Path) -> None:
    for directory, subdirectories, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & 0o111
                os.chmod(path, 0o555 if executable else 0o444)
        os.chmod(directory, 0o555)


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for directory, _, _ in os.walk(path):
        os.chmod(directory, 0o755)
    shutil.rmtree(path, ignore_errors=True)


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=".partial-", dir=path.parent)
    with os.fdopen(descriptor, "wb") as sink:
        sink.write(data)
    os.replace(temporary, path)

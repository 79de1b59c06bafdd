"""The content-addressed code store: zips kept once by digest, unpacked once into
read-only directories, packages that reach outside themselves refused."""

import base64
import hashlib
import io
import os
import shutil
import stat
import zipfile

import pytest

from ember.control.code_store import UNZIP_FAILED, CodeStore, describe
from ember.errors import InvalidParameter

SOURCE = "def handler(event, context):\n    return 1\n"


def build_zip(entries: list[tuple[zipfile.ZipInfo | str, bytes | str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in entries:
            archive.writestr(info, content)
    return buffer.getvalue()


def entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3  # Unix, so the mode bits mean what they say
    return info


def symlink(name: str) -> zipfile.ZipInfo:
    return entry(name, stat.S_IFLNK | 0o777)


@pytest.fixture
def store(tmp_path):
    yield CodeStore(tmp_path / "code")
    # Unpacked trees are read-only; let pytest's tmp_path cleanup remove them.
    for directory, _, _ in os.walk(tmp_path):
        os.chmod(directory, 0o755)


def test_describe():
    data = build_zip([("lambda_function.py", SOURCE)])
    package = describe(data)
    assert package.digest == hashlib.sha256(data).hexdigest()
    assert package.sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert package.size == len(data)


def test_add_stores_the_zip_and_unpacks_it(store):
    data = build_zip([("lambda_function.py", SOURCE), ("pkg/__init__.py", ""), ("pkg/data.json", '{"a": 1}')])
    package = store.add(data)
    assert store.zip_path(package.digest).read_bytes() == data
    root = store.task_root(package.digest)
    assert root == store.task_root_path(package.digest)
    assert (root / "lambda_function.py").read_text() == SOURCE
    assert (root / "pkg" / "data.json").read_text() == '{"a": 1}'
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "lambda_function.py", "pkg", "pkg/__init__.py", "pkg/data.json",
    ]
    # No staging directories or partial files are left behind.
    assert [p.name for p in store.tasks.iterdir()] == [package.digest]
    assert [p.name for p in store.zips.iterdir()] == [f"{package.digest}.zip"]


def test_unpacked_code_is_read_only(store):
    package = store.add(build_zip([("lambda_function.py", SOURCE), ("lib/helper.py", "X = 1")]))
    root = store.task_root(package.digest)
    for path in [root, root / "lib"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o555
    for path in [root / "lambda_function.py", root / "lib" / "helper.py"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    if os.geteuid() != 0:  # root ignores permission bits
        with pytest.raises(PermissionError):
            (root / "lambda_function.py").write_text("changed")
        with pytest.raises(PermissionError):
            (root / "new.py").write_text("new")


def test_executable_bit_is_kept(store):
    data = build_zip([(entry("bin/tool", stat.S_IFREG | 0o755), "#!/bin/sh\necho hi\n"),
                      (entry("plain.txt", stat.S_IFREG | 0o644), "text")])
    root = store.task_root(store.add(data).digest)
    assert stat.S_IMODE((root / "bin" / "tool").stat().st_mode) == 0o555
    assert stat.S_IMODE((root / "plain.txt").stat().st_mode) == 0o444


def test_the_same_zip_twice_is_stored_once(store):
    data = build_zip([("lambda_function.py", SOURCE)])
    first = store.add(data)
    root = store.task_root(first.digest)
    inode = root.stat().st_ino
    second = store.add(data)
    assert second == first
    assert store.task_root(second.digest).stat().st_ino == inode  # not unpacked again
    assert len(list(store.zips.glob("*.zip"))) == 1
    assert len(list(store.tasks.iterdir())) == 1


def test_different_zips_are_stored_apart(store):
    one = store.add(build_zip([("lambda_function.py", SOURCE)]))
    two = store.add(build_zip([("lambda_function.py", SOURCE + "# two\n")]))
    assert one.digest != two.digest
    assert (store.task_root(two.digest) / "lambda_function.py").read_text().endswith("# two\n")
    assert not (store.task_root(one.digest) / "lambda_function.py").read_text().endswith("# two\n")


def test_task_root_unpacks_again_after_the_directory_is_deleted(store):
    data = build_zip([("lambda_function.py", SOURCE), ("sub/file.txt", "x")])
    package = store.add(data)
    root = store.task_root_path(package.digest)
    for directory, _, _ in os.walk(root):
        os.chmod(directory, 0o755)
    shutil.rmtree(root)
    assert not root.exists()
    assert store.task_root(package.digest) == root
    assert (root / "lambda_function.py").read_text() == SOURCE
    assert (root / "sub" / "file.txt").read_text() == "x"
    assert stat.S_IMODE(root.stat().st_mode) == 0o555


def test_add_unpacks_again_when_only_the_zip_survived(store):
    data = build_zip([("lambda_function.py", SOURCE)])
    package = store.add(data)
    root = store.task_root_path(package.digest)
    os.chmod(root, 0o755)
    (root / "lambda_function.py").unlink()
    root.rmdir()
    assert store.add(data) == package
    assert (root / "lambda_function.py").read_text() == SOURCE


def test_remove_unused(store):
    keep = store.add(build_zip([("lambda_function.py", SOURCE)]))
    drop = store.add(build_zip([("lambda_function.py", SOURCE + "# drop\n")]))
    store.remove_unused({keep.digest})
    assert store.zip_path(keep.digest).exists()
    assert store.task_root_path(keep.digest).is_dir()
    assert not store.zip_path(drop.digest).exists()
    assert not store.task_root_path(drop.digest).exists()
    store.remove_unused(set())
    assert list(store.zips.iterdir()) == []
    assert list(store.tasks.iterdir()) == []


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40])
def test_not_a_zip_is_refused(store, data):
    with pytest.raises(InvalidParameter) as excinfo:
        store.add(data)
    assert excinfo.value.message.startswith(UNZIP_FAILED)
    assert list(store.zips.iterdir()) == []
    assert list(store.tasks.iterdir()) == []


def corrupted(kind: str) -> bytes:
    """A zip whose one member is broken in a given way; the archive itself reads fine."""
    compression = zipfile.ZIP_STORED if kind == "crc" else zipfile.ZIP_DEFLATED
    info = zipfile.ZipInfo("lambda_function.py")
    info.compress_type = compression
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, SOURCE * 20)
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        written = archive.infolist()[0]
    start = written.header_offset + 30 + len(written.filename) + len(written.extra)
    if kind == "crc":
        data[start] ^= 0xFF
    elif kind == "deflate":
        data[start:start + written.compress_size] = b"\xff" * written.compress_size  # invalid block type
    elif kind == "encrypted":
        # Bit 0 of the general purpose flags, in the local header and the central directory.
        data[written.header_offset + 6] |= 0x1
        data[data.index(b"PK\x01\x02") + 8] |= 0x1
    return bytes(data)


@pytest.mark.parametrize("kind", ["crc", "deflate", "encrypted"])
def test_corrupt_or_encrypted_member_is_refused(store, kind):
    with pytest.raises(InvalidParameter) as excinfo:
        store.add(corrupted(kind))
    assert excinfo.value.message.startswith(UNZIP_FAILED)
    assert list(store.zips.iterdir()) == []


@pytest.mark.parametrize("name", ["../evil.py", "pkg/../../evil.py", "/etc/evil.py", "a/../../../tmp/evil.py"])
def test_zip_slip_is_refused(store, tmp_path, name):
    data = build_zip([("lambda_function.py", SOURCE), (zipfile.ZipInfo(name), "print('escaped')")])
    with pytest.raises(InvalidParameter) as excinfo:
        store.add(data)
    assert "outside the package" in excinfo.value.message
    assert not list(tmp_path.rglob("evil.py"))
    assert list(store.zips.iterdir()) == []
    assert [p for p in store.tasks.iterdir()] == []


@pytest.mark.parametrize("target", ["../../../../etc/passwd", "/etc/passwd", "../outside.txt", "sub/../../x"])
def test_symlink_escaping_the_package_is_refused(store, target):
    data = build_zip([("lambda_function.py", SOURCE), (symlink("link"), target)])
    with pytest.raises(InvalidParameter) as excinfo:
        store.add(data)
    assert "outside the package" in excinfo.value.message
    # Neither a half-unpacked tree nor its staging directory stays.
    assert [p for p in store.tasks.iterdir()] == []


def test_symlink_inside_the_package_is_kept(store):
    data = build_zip(
        [("lib/real.py", "X = 1"), (symlink("alias.py"), "lib/real.py"), (symlink("lib/self.py"), "real.py")]
    )
    root = store.task_root(store.add(data).digest)
    assert (root / "alias.py").is_symlink()
    assert os.readlink(root / "alias.py") == "lib/real.py"
    assert (root / "alias.py").read_text() == "X = 1"
    assert (root / "lib" / "self.py").read_text() == "X = 1"


def test_directory_entries(store):
    data = build_zip([(zipfile.ZipInfo("empty/"), b""), ("full/file.txt", "x")])
    root = store.task_root(store.add(data).digest)
    assert (root / "empty").is_dir()
    assert (root / "full" / "file.txt").read_text() == "x"

"""The bubblewrap sandbox keeps functions apart from each other and from the host.

Each test asks a function to look for something it must not reach (another
function's code or /tmp, host processes, host files) or to do something it must not
be allowed to do (write its code, ptrace, mount, unshare, keyctl), and fails if the
function succeeds. Under the plain `process` driver every one of them fails.
"""

import json
import os
import threading
import uuid

from conftest import in_flight, invoke_json, make_zip, wait_until

# Walks the filesystem the function sees, skipping the pseudo filesystems and the
# big read-only system trees (/usr and the interpreter's installation), and
# reports every path whose name contains the needle, or whose content does.
SEARCHER = r"""
import os, sys

SKIP = {"/proc", "/sys", "/dev", "/usr", os.path.realpath(sys.base_prefix)}
LIMIT = 200_000          # entries: a sandbox shows a few hundred
READ_LIMIT = 50_000_000  # bytes of file content searched at most

def handler(event, context):
    needle = event["needle"]
    by_name, by_content, seen, read, truncated = [], [], 0, 0, False
    for top, dirs, files in os.walk("/", onerror=lambda e: None):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in SKIP]
        for entry in dirs + files:
            seen += 1
            path = os.path.join(top, entry)
            if needle in entry:
                by_name.append(path)
        for entry in files:
            path = os.path.join(top, entry)
            try:
                if os.path.getsize(path) < 1_000_000 and read < READ_LIMIT:
                    with open(path, "rb") as f:
                        content = f.read()
                    read += len(content)
                    if needle.encode() in content:
                        by_content.append(path)
            except OSError:
                pass
        if seen > LIMIT or read >= READ_LIMIT:
            truncated = True
            break
    return {
        "by_name": by_name,
        "by_content": by_content,
        "seen": seen,
        "truncated": truncated,
        "exists": {p: os.path.exists(p) for p in event.get("paths", [])},
        "task": sorted(os.listdir(os.environ["LAMBDA_TASK_ROOT"])),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "tmp": sorted(os.listdir("/tmp")),
    }
"""


def test_a_function_cannot_read_another_functions_code(server, lambda_client, create_function):
    secret = f"code-secret-{uuid.uuid4().hex}"
    marker_file = f"marker_{uuid.uuid4().hex}.txt"
    b = create_function(
        zip_bytes=make_zip(
            {
                "lambda_function.py": "def handler(event, context):\n    return 'b'\n",
                marker_file: secret,
            }
        )
    )
    invoke_json(lambda_client, b)  # B has a live environment with its code mounted
    # Where B's code lives on the host: A must not reach it by its host path either.
    host_copies = [str(p) for p in server.data_dir.rglob(marker_file)]
    assert host_copies, "the test could not find B's code on the host"

    a = create_function(SEARCHER, Timeout=60)
    needle = secret.split("-")[-1]
    response, result = invoke_json(
        lambda_client, a, {"needle": needle, "paths": [*host_copies, str(server.data_dir)]}
    )
    assert "FunctionError" not in response, result
    assert result["exists"] == {p: False for p in [*host_copies, str(server.data_dir)]}
    assert result["by_name"] == [] and result["by_content"] == [], result
    assert not result["truncated"], "the function sees far more of the filesystem than a sandbox should"
    marker_hits = invoke_json(lambda_client, a, {"needle": marker_file.split(".")[0]})[1]
    assert marker_hits["by_name"] == [] and marker_hits["by_content"] == [], marker_hits
    assert result["task"] == ["lambda_function.py"]  # A's own code only
    assert result["task_root"] == "/var/task"


TMP_WRITER = """
import os, tempfile

def handler(event, context):
    tmp = tempfile.gettempdir()  # /tmp in a sandbox
    with open(os.path.join(tmp, event["file"]), "w") as f:
        f.write(event["secret"])
    return sorted(os.listdir(tmp))
"""


def test_a_function_cannot_read_another_functions_tmp(server, lambda_client, create_function):
    file_name = f"secret_{uuid.uuid4().hex}"
    secret = uuid.uuid4().hex
    b = create_function(TMP_WRITER)
    response, listing = invoke_json(lambda_client, b, {"file": file_name, "secret": secret})
    assert "FunctionError" not in response and file_name in listing  # B's environment keeps it

    a = create_function(SEARCHER, Timeout=60)
    response, result = invoke_json(
        lambda_client, a, {"needle": secret, "paths": [str(server.data_dir / "environments")]}
    )
    assert "FunctionError" not in response, result
    assert file_name not in result["tmp"]
    assert result["by_content"] == [] and result["by_name"] == []
    assert result["exists"] == {str(server.data_dir / "environments"): False}
    by_name = invoke_json(lambda_client, a, {"needle": file_name})[1]
    assert by_name["by_name"] == [] and by_name["by_content"] == []

    # B itself still has the file: it was there to be found.
    again = invoke_json(lambda_client, b, {"file": "other", "secret": "x"})[1]
    assert file_name in again


PROCESSES = r"""
import os, time, uuid

ENVIRONMENT = uuid.uuid4().hex

def processes():
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found[entry] = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                found[entry] = None
    return found

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"environment": ENVIRONMENT, "processes": processes()}
"""


def require_bubblewrap(server) -> bool:
    return server.health()["sandbox"]["driver"] == "bubblewrap"


def runtime_processes(processes: dict) -> list[str]:
    return [pid for pid, cmd in processes.items() if cmd and "bootstrap.py" in cmd and "bwrap" not in cmd]


def test_a_function_cannot_see_host_processes(server, lambda_client, create_function):
    name = create_function(PROCESSES)
    response, result = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, result
    processes = result["processes"]
    # bubblewrap's init and the runtime, nothing else.
    assert len(processes) <= 3, processes
    assert str(os.getpid()) not in processes or "pytest" not in (processes[str(os.getpid())] or "")
    assert str(server.process.pid) not in processes or "ember" not in (processes[str(server.process.pid)] or "")
    # Each is bubblewrap (the namespace's init) or the runtime: no pytest, no
    # `ember serve`, no slirp4netns, nothing else of the host's.
    for pid, command in processes.items():
        program = (command or "").split(" ")[0]
        assert os.path.basename(program) == "bwrap" or "bootstrap.py" in (command or ""), (pid, command)
    assert len(runtime_processes(processes)) == 1


def test_concurrent_environments_cannot_see_each_others_processes(server, create_function):
    name = create_function(PROCESSES, Timeout=30)
    results = []

    def call():
        # Each thread has its own client: boto3 clients are not shared across threads here.
        results.append(invoke_json(server.client(), name, {"sleep": 3}))

    threads = [threading.Thread(target=call) for _ in range(2)]
    threads[0].start()
    # The second starts once the first is in flight, so it needs an environment of its own.
    assert wait_until(lambda: in_flight(server, name) == 1), "the first invocation never started"
    threads[1].start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2
    environments = {payload["environment"] for _, payload in results}
    # Two environments ran at once (the second exists because the first was busy,
    # and the first stays alive, frozen, afterwards): in a shared pid namespace
    # each would have seen the other's runtime.
    assert len(environments) == 2, results
    for response, payload in results:
        assert "FunctionError" not in response, payload
        assert len(runtime_processes(payload["processes"])) == 1, payload["processes"]
        assert len(payload["processes"]) <= 3, payload["processes"]


# Every risky call is made so that it would do no harm even where it succeeded (a
# broken sandbox, or the plain process driver running as root): in a child process,
# against the function's own child or a directory of its own, undone at once.
PRIVILEGES = r"""
import ctypes, errno, os, subprocess, tempfile

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
CLONE_NEWUSER = 0x10000000
MNT_DETACH = 2
KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_SESSION_KEYRING = -3
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}[os.uname().machine]

def outcome(result):
    return [result, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()) if result == -1 else None]

def in_child(attempt):
    # Runs attempt() in a forked child (whatever it changes dies with it); returns its outcome.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ctypes.set_errno(0)
            os.write(write_end, repr(outcome(attempt())).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    data = os.read(read_end, 200)
    os.close(read_end)
    os.waitpid(pid, 0)
    return eval(data)

def ptrace_attach(pid):
    result = libc.ptrace(PTRACE_ATTACH, pid, 0, 0)
    if result == 0:
        libc.ptrace(PTRACE_DETACH, pid, 0, 0)
    return result

def mount_tmpfs():
    target = tempfile.mkdtemp()
    result = libc.mount(b"none", target.encode(), b"tmpfs", 0, None)
    if result == 0:
        libc.umount2(target.encode(), MNT_DETACH)
    return result

def write(path):
    try:
        with open(path, "x") as f:
            f.write("x")
        os.unlink(path)
        return "written"
    except OSError as error:
        return errno.errorcode.get(error.errno, error.errno)

def handler(event, context):
    status = dict(
        line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line
    )
    child = subprocess.Popen(["sleep", "30"])
    try:
        ptrace_child = in_child(lambda: ptrace_attach(child.pid))
    finally:
        child.kill()
        child.wait()
    result = {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
        "cap_eff": status["CapEff"].strip(), "cap_prm": status["CapPrm"].strip(),
        "cap_bnd": status["CapBnd"].strip(), "seccomp": status["Seccomp"].strip(),
        "ptrace_child": ptrace_child,
        "mount": in_child(mount_tmpfs),
        "unshare_user": in_child(lambda: libc.unshare(CLONE_NEWUSER)),
        "keyctl": in_child(lambda: libc.syscall(
            SYS_KEYCTL, KEYCTL_GET_KEYRING_ID, ctypes.c_long(KEY_SPEC_SESSION_KEYRING), 1)),
        "write_task": write("/var/task/new_file"),
        "write_runtime": write("/var/runtime/new_file"),
        "write_tmp": write(os.path.join(tempfile.gettempdir(), "ember-isolation-probe")),
    }
    if event.get("sandboxed"):  # pid 1 is bubblewrap only inside a sandbox
        result["ptrace_init"] = in_child(lambda: ptrace_attach(1))
    return result
"""


def run_privileges(server, lambda_client, create_function) -> dict:
    sandboxed = require_bubblewrap(server)
    name = create_function(PRIVILEGES, Timeout=30)
    response, result = invoke_json(lambda_client, name, {"sandboxed": sandboxed})
    assert "FunctionError" not in response, result
    return result


def test_code_is_read_only_and_tmp_is_writable(server, lambda_client, create_function):
    result = run_privileges(server, lambda_client, create_function)
    assert result["write_task"] == "EROFS"
    assert result["write_runtime"] == "EROFS"
    assert result["write_tmp"] == "written"


def test_runs_as_sandbox_user_without_capabilities(server, lambda_client, create_function):
    result = run_privileges(server, lambda_client, create_function)
    assert (result["uid"], result["euid"], result["gid"]) == (993, 993, 990)
    assert int(result["cap_eff"], 16) == 0
    assert int(result["cap_prm"], 16) == 0
    assert int(result["cap_bnd"], 16) == 0
    assert result["seccomp"] == "2"  # a seccomp filter is installed


def test_dangerous_system_calls_are_refused(server, lambda_client, create_function):
    result = run_privileges(server, lambda_client, create_function)
    # Without the seccomp filter, attaching to one's own child, a new user namespace
    # and reading the session keyring all succeed for an unprivileged process.
    assert result["ptrace_child"] == [-1, "EPERM"]
    assert result["ptrace_init"] == [-1, "EPERM"]
    assert result["mount"] == [-1, "EPERM"]
    assert result["unshare_user"] == [-1, "EPERM"]
    assert result["keyctl"] == [-1, "EPERM"]


TMP_SIZE = """
import os

def handler(event, context):
    stat = os.statvfs("/tmp")
    mounts = [line for line in open("/proc/self/mounts") if line.split()[1] == "/tmp"]
    return {"total_mb": stat.f_blocks * stat.f_frsize / 1024 / 1024, "mounts": mounts}
"""


def test_tmp_is_a_tmpfs_sized_by_ephemeral_storage(lambda_client, create_function):
    name = create_function(TMP_SIZE, EphemeralStorage={"Size": 600})
    response, result = invoke_json(lambda_client, name)
    assert "FunctionError" not in response, result
    assert 590 <= result["total_mb"] <= 610, result
    assert len(result["mounts"]) == 1 and result["mounts"][0].split()[2] == "tmpfs", result["mounts"]

    lambda_client.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": 1024})
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)
    response, result = invoke_json(lambda_client, name)
    assert 1014 <= result["total_mb"] <= 1034, result


HOST_FILES = r"""
import os, sys

def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as error:
        return error.__class__.__name__

def handler(event, context):
    return {
        "root": listing("/"),
        "home": listing("/home"),
        "work": listing("/work"),
        "root_home": listing("/root"),
        "etc": listing("/etc"),
        "var": listing("/var"),
        "prefix": os.path.realpath(sys.base_prefix),
        "exists": {p: os.path.exists(p) for p in event["paths"]},
        "shadow": os.path.exists("/etc/shadow"),
        "ssh": os.path.exists("/etc/ssh"),
    }
"""


def test_the_host_filesystem_is_not_visible(server, lambda_client, create_function):
    name = create_function(HOST_FILES)
    paths = [str(server.data_dir), str(server.log_path), os.path.dirname(os.path.abspath(__file__))]
    response, result = invoke_json(lambda_client, name, {"paths": paths})
    assert "FunctionError" not in response, result
    assert result["home"] == "FileNotFoundError"
    assert result["work"] == "FileNotFoundError"
    # /root holds nothing but the way to the interpreter, where it lives under /root (pyenv).
    prefix_parts = result["prefix"].strip("/").split("/")
    if result["root_home"] != "FileNotFoundError":
        assert prefix_parts[0] == "root" and result["root_home"] == [prefix_parts[1]], result
    assert set(result["root"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "var",
                                   "tmp", "proc", "dev", "opt", "root"}, result["root"]
    assert result["var"] == ["runtime", "task"]
    assert len(result["etc"]) <= 25, result["etc"]
    assert not result["shadow"] and not result["ssh"]
    assert result["exists"] == {p: False for p in paths}, json.dumps(result)

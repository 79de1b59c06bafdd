"""Server settings: command-line flags first, then EMBER_* environment variables, then defaults."""

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9000
    data_dir: Path = Path(".ember")
    region: str = "us-east-1"
    account_id: str = "000000000000"
    # Seconds an idle environment stays warm before it is stopped.
    keep_alive: float = 300.0
    log_level: str = "info"
    # Isolation driver: "auto" (bubblewrap where it works, else process), "bubblewrap", "process".
    sandbox: str = "auto"
    # Let environments reach the host's loopback (at 10.0.2.2), e.g. to call Ember itself.
    allow_host_loopback: bool = False
    # Lambda's account concurrency limit.
    concurrency_limit: int = 1000
    # Memory (MB) that environments may take in all; 0 means 80% of the host's memory.
    memory_mb: int = 0
    # Seconds an invocation waits for memory to free up before it is throttled.
    admission_wait: float = 2.0

    @property
    def base_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}"


# flag/field name -> (environment variable, type)
_ENVIRONMENT = {
    "host": ("EMBER_HOST", str),
    "port": ("EMBER_PORT", int),
    "data_dir": ("EMBER_DATA_DIR", Path),
    "region": ("EMBER_REGION", str),
    "account_id": ("EMBER_ACCOUNT_ID", str),
    "keep_alive": ("EMBER_KEEP_ALIVE", float),
    "log_level": ("EMBER_LOG_LEVEL", str),
    "sandbox": ("EMBER_SANDBOX", str),
    "allow_host_loopback": ("EMBER_ALLOW_HOST_LOOPBACK", lambda v: str(v).lower() in ("1", "true", "yes", "on")),
    "concurrency_limit": ("EMBER_CONCURRENCY_LIMIT", int),
    "memory_mb": ("EMBER_MEMORY_MB", int),
    "admission_wait": ("EMBER_ADMISSION_WAIT", float),
}


def load_settings(**flags) -> Settings:
    """Flags that are None fall back to the environment, then to the defaults."""
    values = {}
    for field, (variable, kind) in _ENVIRONMENT.items():
        if flags.get(field) is not None:
            values[field] = kind(flags[field])
        elif os.environ.get(variable):
            values[field] = kind(os.environ[variable])
    settings = Settings(**values)
    if not (len(settings.account_id) == 12 and settings.account_id.isdigit()):
        raise ValueError(f"account id must be 12 digits, got {settings.account_id!r}")
    if settings.sandbox not in ("auto", "bubblewrap", "process"):
        raise ValueError(f"sandbox must be auto, bubblewrap or process, got {settings.sandbox!r}")
    if settings.concurrency_limit < 1:
        raise ValueError("concurrency limit must be at least 1")
    return settings

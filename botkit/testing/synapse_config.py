"""The configuration files of a test homeserver: homeserver.yaml, its log config, TLS.

Everything here is a pure function of its arguments except the certificate,
which is made by the Synapse venv's own ``cryptography`` (a dependency of
Synapse), so that botkit needs neither that package nor the ``openssl`` tool.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "INSTANCE_KEY",
    "FederationTLS",
    "homeserver_config",
    "log_config",
    "relaxed_ratelimits",
    "write_self_signed_certificate",
]

# Far beyond anything a test does, so that only tests that ask for limits meet them.
_UNLIMITED = {"per_second": 100_000, "burst_count": 1_000_000}

# Rate limiters as named in Synapse's config (synapse/config/ratelimiting.py).
_RATELIMITERS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_room_creation",
    "rc_admin_redaction",
    "rc_3pid_validation",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_reports",
    "rc_media_create",
    "rc_user_directory",
    "rc_profile",
    "rc_key_requests",
)


#: Key of ``/.well-known/matrix/client`` whose value identifies one server instance.
INSTANCE_KEY = "org.botkit.test_instance"


@dataclass(frozen=True)
class FederationTLS:
    """A TLS federation listener: its port (on the server's host) and certificate files."""

    port: int
    certificate: Path
    private_key: Path


def relaxed_ratelimits() -> dict[str, Any]:
    """Config keys that lift every rate limit, so that fast tests are never throttled."""
    config: dict[str, Any] = {}
    for name in _RATELIMITERS:
        section = config
        *parents, leaf = name.split(".")
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = dict(_UNLIMITED)
    config["rc_federation"] = {
        "window_size": 1000,
        "sleep_limit": 100_000,
        "sleep_delay": 0,
        "reject_limit": 100_000,
        "concurrent": 1000,
    }
    config["federation_rr_transactions_per_room_per_second"] = 100_000
    return config


def log_config(log_file: Path, level: str) -> dict[str, Any]:
    """A Python logging config that writes Synapse's log at ``level`` to ``log_file``."""
    return {
        "version": 1,
        "formatters": {
            "precise": {"format": "%(asctime)s %(levelname)s %(name)s %(request)s: %(message)s"}
        },
        "filters": {
            "context": {"()": "synapse.logging.context.LoggingContextFilter", "request": ""}
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": str(log_file),
                "filters": ["context"],
                "encoding": "utf8",
            }
        },
        # Synapse logs every SQL statement at DEBUG; that drowns a DEBUG log.
        "loggers": {"synapse.storage.SQL": {"level": "INFO"}},
        "root": {"level": level, "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def homeserver_config(
    *,
    server_name: str,
    host: str,
    client_port: int,
    data_dir: Path,
    log_config_file: Path,
    secrets: dict[str, str],
    instance: str,
    federation: FederationTLS | None,
    appservices: Sequence[Path] = (),
) -> dict[str, Any]:
    """homeserver.yaml for a throwaway, loopback-only homeserver on SQLite.

    Without ``federation`` the server talks to no other server; with it, it
    federates over TLS on ``host:federation.port``, loopback addresses included.
    ``instance`` is served in ``/.well-known/matrix/client`` under :data:`INSTANCE_KEY`.
    ``appservices`` are registration files (``botkit appservice-registration`` writes one).
    """
    client_listener = {
        "port": client_port,
        "bind_addresses": [host],
        "type": "http",
        "tls": False,
        "x_forwarded": False,
        "resources": [{"names": ["client"], "compress": False}],
    }
    config: dict[str, Any] = {
        "server_name": server_name,
        "public_baseurl": f"http://{host}:{client_port}/",
        "pid_file": str(data_dir / "homeserver.pid"),
        "report_stats": False,
        "listeners": [client_listener],
        "database": {"name": "sqlite3", "args": {"database": str(data_dir / "homeserver.db")}},
        "log_config": str(log_config_file),
        "media_store_path": str(data_dir / "media_store"),
        "signing_key_path": str(data_dir / "signing.key"),
        **secrets,
        "enable_registration": False,
        "allow_guest_access": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "enable_metrics": False,
        "url_preview_enabled": False,
        # Password hashing is the slowest part of registering and logging in.
        "bcrypt_rounds": 4,
        "extra_well_known_client_content": {INSTANCE_KEY: instance},
    }
    if appservices:
        config["app_service_config_files"] = [str(path) for path in appservices]
    if federation is None:
        config["federation_domain_whitelist"] = []
        return config
    config["listeners"].append(
        {
            "port": federation.port,
            "bind_addresses": [host],
            "type": "http",
            "tls": True,
            "x_forwarded": False,
            "resources": [{"names": ["federation"], "compress": False}],
        }
    )
    config.update(
        {
            "tls_certificate_path": str(federation.certificate),
            "tls_private_key_path": str(federation.private_key),
            # The certificates are self-signed; nothing here leaves the machine.
            "federation_verify_certificates": False,
            # Loopback is blocked by default, and for a server named by an IP
            # literal only the blocklist counts (1.163 still reads the old key
            # name). The servers a test server may talk to are fenced in by
            # federation_domain_whitelist instead (see botkit.testing.federation).
            "ip_range_blacklist": [],
        }
    )
    return config


_CERTIFICATE_SCRIPT = """
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ip, cert_path, key_path = sys.argv[1:]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=365))
    .add_extension(
        x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
    )
    .sign(key, hashes.SHA256())
)
with open(key_path, "wb") as f:
    f.write(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ))
with open(cert_path, "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
"""


def write_self_signed_certificate(python: Path, ip: str, certificate: Path, key: Path) -> None:
    """Write a self-signed certificate for ``ip`` and its key, using Synapse's ``python``."""
    subprocess.run(
        [str(python), "-c", _CERTIFICATE_SCRIPT, ip, str(certificate), str(key)],
        check=True,
        capture_output=True,
    )

"""nginx in front of a running Launchboard, with the configuration docker-compose.yml ships
(launchboard/deploy/launchboard.conf.template), for tests and for bench/page_bench.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tests.support.production import stop
from tests.support.server import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "launchboard" / "deploy" / "launchboard.conf.template"


def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is missing: apt-get install -y nginx (make test installs it)")
    return binary


def render(upstream: str, listen: str, cache_dir: str, template: Path = TEMPLATE) -> str:
    """The template as nginx's Docker image renders it: envsubst of these three variables only
    (nginx's own ``$host`` and the like stay as they are)."""
    values = {
        "LAUNCHBOARD_UPSTREAM": upstream,
        "LAUNCHBOARD_LISTEN": listen,
        "LAUNCHBOARD_CACHE_DIR": cache_dir,
    }
    pattern = re.compile(r"\$(?:\{(%s)\}|(%s)\b)" % (("|".join(values),) * 2))
    return pattern.sub(lambda m: values[m.group(1) or m.group(2)], template.read_text())


def main_conf(root: Path, site: str, workers: int = 2) -> str:
    """A whole nginx.conf around the site file, everything kept in ``root``."""
    return f"""worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  include {site};
}}
"""


@contextmanager
def nginx_in_front(upstream_port: int, workers: int = 2, template: Path = TEMPLATE):
    """Yield the URL of nginx proxying (and micro-caching) 127.0.0.1:``upstream_port``."""
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="lb-proxy-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's workers run as another user when started by root
        port = free_port()
        cache = root / "cache"
        cache.mkdir(mode=0o777)
        cache.chmod(0o777)
        site = root / "launchboard.conf"
        upstream, listen = f"127.0.0.1:{upstream_port}", f"127.0.0.1:{port}"
        site.write_text(render(upstream, listen, str(cache), template))
        conf = root / "nginx.conf"
        conf.write_text(main_conf(root, str(site), workers))
        check = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        log = root / "nginx.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [binary, "-c", str(conf), "-g", "daemon off;"], stdout=out, stderr=out
            )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", 15, proc, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)

"""Sample gunicorn settings: ``gunicorn -c deploy/gunicorn.conf.py app:app``.

Every host runs the same file; the proxy (deploy/nginx.conf) spreads requests over
hosts. Command-line flags override these (the benchmark passes ``-w 2 -b ...``).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: nginx buffers slow clients, so a worker is busy only while it computes.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
# Recycle workers now and then, so no slow leak can grow without bound.
max_requests = 20000
max_requests_jitter = 2000
# No preload: each worker opens its own database pool and Redis connections after the fork.
preload_app = False
# nginx on the same host sets X-Forwarded-*; the app trusts TRUSTED_PROXIES hops of them.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # nginx keeps the access log
errorlog = "-"

"""gunicorn configuration: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""

import multiprocessing
import os
import tempfile

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Threads (gthread) keep connections alive and overlap one request's database waits with
# another's work: on 2 cores, 2 processes of 4 threads post events ~50% faster than 5 sync workers
# (bench/events_http.py).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 30
# No keep-alive: a gthread worker keeps every connection it accepts, so with keep-alive one
# process could end up serving all of a client's (or a proxy's) connections while the other
# idles; measured with wrk at 8 connections on a contractor's page: 22 pages/s with one worker
# doing all the work, 44/s with none (bench/portal.py). A connection a request costs nothing on
# a local network, and a proxy in front (TLS) keeps its own with the browsers.
keepalive = 0
# Above the app's own limits (MAX_REQUEST_TARGET, MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS in
# reputation/config.py), so that the app refuses an over-long request with problem+json; gunicorn
# answers, in text/html, only beyond these. 8190 is the most gunicorn allows for the request line
# (0 would mean no limit at all); the header limits bound what one request head may hold in memory
# (200 fields of 16 KiB).
limit_request_line = 8190
limit_request_field_size = 16 * 1024
limit_request_fields = 200
accesslog = "-"
errorlog = "-"
# Create the app in each worker, not the master: no database connection crosses a fork.
preload_app = False

# Each worker writes its metrics to files here; /metrics adds them up.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="reputation-metrics-"))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

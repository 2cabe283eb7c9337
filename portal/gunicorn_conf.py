"""gunicorn settings shared by `make run`, the Docker image and `make bench`.

    gunicorn portal.wsgi --config python:portal.gunicorn_conf

The application is loaded once in the master and the workers are forked from it, so that they
share its memory. The objects that live as long as the process (modules, URL patterns, compiled
templates, translations) are moved out of the garbage collector's sight before the fork
(gc.freeze): collections then look only at what a request made, and the shared pages stay
shared (docs/operations.md, "Speed").
"""

import gc

preload_app = True


def when_ready(server):
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    # A request makes tens of thousands of short-lived objects; collect young objects less often.
    gc.set_threshold(10_000, 10, 10)

# 地域力創造ポータル: production image. Multi-stage, non-root, static files collected at build.
# syntax=docker/dockerfile:1

FROM python:3.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
WORKDIR /app
COPY . /app
# collectstatic needs settings but no database and no real secret; this key exists only in this
# build step and is not in the final image's environment.
RUN DEBUG=0 PORTAL_ENV_FILE= SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --no-input --verbosity 0

FROM python:3.13-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORTAL_ENV_FILE= \
    MEDIA_ROOT=/data/media
RUN groupadd --system portal && useradd --system --gid portal --home /app --shell /usr/sbin/nologin portal \
    && mkdir -p /data/media && chown -R portal:portal /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=portal:portal /app /app
WORKDIR /app
USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
# portal.gunicorn_conf: preloaded app, the portal's own access log (one JSON line per request with its
# request id; gunicorn's is off) and gunicorn's messages as JSON. gunicorn believes X-Forwarded-Proto
# only from FORWARDED_ALLOW_IPS (default 127.0.0.1): set it to the proxy's address as the container
# sees it (docs/operations.md, "Beyond one machine").
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--no-control-socket", \
     "--config", "python:portal.gunicorn_conf"]

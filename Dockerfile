# foldwise model server: `foldwise serve` with a model bundle, a health check and a log volume.
#
#   docker build -t foldwise-serve .                    # bakes models/model (run `dvc repro`
#                                                       # or `dvc pull` first)
#   docker build --build-arg BUNDLE=models/other -t foldwise-serve .   # another bundle (it
#                                                       # must be un-ignored in .dockerignore)
#   docker build --target runtime -t foldwise-serve:mount .   # no bundle: mount one at run time
#
# Building needs only the Python package index (pip); see docs/serving.md, "In a container".
FROM python:3.11-slim AS runtime

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN useradd --create-home --uid 10001 foldwise \
    && mkdir -p /srv/model /srv/logs \
    && chown foldwise /srv/logs

WORKDIR /opt/foldwise
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /root/.cache

USER foldwise
VOLUME ["/srv/logs"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
# Inside the container the server must listen on all interfaces to be reachable through the
# published port; publish it on the host's loopback (-p 127.0.0.1:8000:8000) or set a token.
# Extra arguments (--shadow, --token-file, --max-rows, ...) are appended to these.
ENTRYPOINT ["foldwise", "serve", "--host", "0.0.0.0", "--port", "8000", \
            "--model", "/srv/model", "--log-dir", "/srv/logs"]

FROM runtime AS baked
ARG BUNDLE=models/model
COPY --chown=foldwise ${BUNDLE} /srv/model

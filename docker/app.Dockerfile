# The app image: crm_bridge (api) and the action server (actions) run from it with different commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app
# torch is the CPU build; the lock pins torch==2.13.0+cpu, which lives on PyTorch's CPU index.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements/app.lock requirements/app.lock
RUN pip install --no-cache-dir "torch==2.13.0" --index-url "$TORCH_INDEX_URL" \
 && pip install --no-cache-dir --no-deps --extra-index-url "$TORCH_INDEX_URL" -r requirements/app.lock
COPY pyproject.toml README.md ./
COPY kefu kefu
COPY crm_bridge crm_bridge
COPY knowledge_base knowledge_base
COPY sentiment sentiment
COPY actions actions
COPY docker/api.sh docker/api.sh
RUN pip install --no-cache-dir --no-deps -e . && useradd --create-home kefu && mkdir -p /app/var && chown kefu /app/var
USER kefu
ENV KEFU_VAR_DIR=/app/var
EXPOSE 8000 5055
# The api; migrations run once before it (`kefu seed`: the compose `migrate` service, the Kubernetes Job).
CMD ["/app/docker/api.sh"]
